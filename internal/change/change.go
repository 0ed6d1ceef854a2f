// Package change runs a command that changes objects (scale, delete) in the
// same steps, so they behave alike: resolve the targets (the policy asked
// about each, enforce.Access.ChangeTargets, before this runs), check them,
// confirm, apply each, report each, then wait. Each step is the command's
// own func; the order, the messages around them and the error handling are
// here.
package change

import (
	"context"
	"fmt"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// Steps are one command's parts of a change.
type Steps struct {
	IO *iostreams.IOStreams
	// Namespace is where the objects are, for messages.
	Namespace string
	// Done is the past participle of the change ("scaled", "deleted"),
	// for "Nothing was scaled."
	Done string
	// Check, when set, looks at each object before the confirmation:
	// false leaves it out, and a non-nil failure is that object's own
	// (reported at the end, the others go on); err ends the command.
	Check func(ctx context.Context, t enforce.Object) (keep bool, failure, err error)
	// Question is what to ask before changing objs, "" for no question.
	// Preface, when set, is printed before it.
	Question func(objs []enforce.Object) (preface, question string)
	// Apply changes one object. A failure that Own reports as the object's
	// own is reported at the end and the others go on (nil: report it, as
	// when Own says so); any other error ends the command.
	Apply func(ctx context.Context, t enforce.Object) error
	Own   func(err error) (own, report bool)
	// Report prints what was done to one object.
	Report func(t enforce.Object)
	// Wait, when set, waits for the changed objects to settle.
	Wait func(ctx context.Context, done []enforce.Object) error
}

// Run takes targets through the steps. No target at all is no error: the
// selector matched nothing ("No resources found in NS namespace.").
func Run(ctx context.Context, s Steps, targets []enforce.Object) error {
	if len(targets) == 0 {
		fmt.Fprintf(s.IO.ErrOut, "No resources found in %s namespace.\n", s.Namespace)
		return nil
	}
	var failures []error
	objs := targets
	if s.Check != nil {
		objs = nil
		for _, t := range targets {
			keep, failure, err := s.Check(ctx, t)
			if err != nil {
				return err
			}
			if failure != nil {
				failures = append(failures, failure)
			}
			if keep {
				objs = append(objs, t)
			}
		}
	}
	if s.Question != nil && len(objs) > 0 {
		if preface, q := s.Question(objs); q != "" {
			if preface != "" {
				fmt.Fprint(s.IO.ErrOut, preface)
			}
			ok, err := cmdutil.Confirm(ctx, s.IO, q, "--yes")
			if err != nil {
				if ctx.Err() != nil {
					fmt.Fprintf(s.IO.ErrOut, "Interrupted; nothing was %s.\n", s.Done)
				}
				return err
			}
			if !ok {
				fmt.Fprintf(s.IO.ErrOut, "Nothing was %s.\n", s.Done)
				return errs.Join(append(failures, &errs.ExitCodeError{Code: 1}))
			}
		}
	}
	var done []enforce.Object
	for _, t := range objs {
		if err := s.Apply(ctx, t); err != nil {
			own, report := s.Own(err)
			if !own {
				return err
			}
			if report {
				failures = append(failures, err)
			}
			continue
		}
		done = append(done, t)
		s.Report(t)
	}
	if s.Wait != nil {
		if err := s.Wait(ctx, done); err != nil {
			return err
		}
	}
	return errs.Join(failures)
}
