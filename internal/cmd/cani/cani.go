// Package cani implements `kgate can-i`.
package cani

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// exitNo is the exit code of a "no": the one of a policy denial (errs.KindForbidden).
const exitNo = 4

// verbs are the verbs can-i answers for: kgate's commands and the API's own.
var verbs = []string{
	policy.VerbGet, policy.VerbList, policy.VerbWatch, policy.VerbDescribe, policy.VerbLogs, policy.VerbExec,
	"attach", "port-forward", "cp", "debug", policy.VerbScale, policy.VerbDelete, "label", "annotate",
	"restart", "undo", "pause", "resume", "create", "update", "patch", "deletecollection",
}

// Options are what `kgate can-i` needs.
type Options struct {
	IO        *iostreams.IOStreams
	Identity  func() (policy.Identity, error)
	Policy    func() (*policy.Policy, error)
	Namespace func() (string, bool, error)
	// Kinds resolves RESOURCE as get does; nil knows the built-in kinds only.
	Kinds *kube.Kinds

	Verb     string
	Resource string
	Name     string
	Why      bool
}

// NewCmdCanI returns `kgate can-i`; runF replaces the run step in tests.
func NewCmdCanI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{
		IO:        f.IOStreams,
		Identity:  func() (policy.Identity, error) { return f.Identity() },
		Policy:    f.PolicyOnly,
		Namespace: f.Namespace,
		Kinds:     f.Kinds,
	}
	cmd := &cobra.Command{
		Use:   "can-i VERB RESOURCE [NAME] [flags]",
		Short: "Check whether you may do something, and why",
		Long: `Ask the policy whether you may do VERB on RESOURCE in a namespace (-n, -p, the
current project, or the kubeconfig's), without doing it. Prints yes or no; exits
0 for yes and 4 for no. --why says which project and role decide it, and for a
no, who the project's admins are.

Verbs: get, list, watch, describe, logs (guest); exec, attach, port-forward,
cp, debug, scale, delete, label, annotate, create, update, patch (admin); get
or describe of secrets and the kinds the policy marks sensitive (admin).
RESOURCE is any kind the cluster serves, named as for get; cluster-scoped
kinds (nodes, ...) are for super admins. An unknown verb or kind is a usage
error (exit 2).`,
		Example: `  kgate can-i exec pods -n payments
  kgate can-i get secrets -p payments --why
  kgate can-i delete deploy/web

  # in a script
  if kgate can-i scale deployments -n payments >/dev/null; then ...; fi`,
		Args: cmdutil.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Verb, opts.Resource = strings.ToLower(args[0]), args[1]
			if kind, name, ok := strings.Cut(opts.Resource, "/"); ok {
				if len(args) == 3 {
					return errs.UsageErrorf("give the name either as RESOURCE/NAME or as NAME, not both")
				}
				opts.Resource, opts.Name = kind, name
			}
			if len(args) == 3 {
				opts.Name = args[2]
			}
			if runF != nil {
				return runF(opts)
			}
			return canIRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Why, "why", false, "Say why: the project, your role, the role needed and whom to ask")
	cmd.ValidArgsFunction = completion.CanI(f)
	return cmd
}

func canIRun(opts *Options) error {
	if !slices.Contains(verbs, opts.Verb) {
		return errs.WithHint(errs.UsageErrorf("unknown verb %q", opts.Verb), "Verbs: "+strings.Join(verbs, ", ")+".")
	}
	// The kind as get resolves it, so that the answer is get's.
	r, err := opts.Kinds.Lookup(opts.Resource)
	if err != nil {
		return err
	}
	req := enforce.RequestFor(opts.Verb, r, "", opts.Name)
	if r.Namespaced {
		ns, _, err := opts.Namespace()
		if err != nil {
			return err
		}
		req.Namespace = ns
	}
	id, err := opts.Identity()
	if err != nil {
		return err
	}
	pol, err := opts.Policy()
	if err != nil {
		return err
	}
	d := pol.Decide(id, req)
	answer := "no"
	if d.Allowed {
		answer = "yes"
	}
	fmt.Fprintln(opts.IO.Out, answer)
	if opts.Why {
		fmt.Fprintln(opts.IO.Out, d.Reason)
	}
	if !d.Allowed {
		// The answer is the message; a script reads the exit code.
		return &errs.ExitCodeError{Code: exitNo}
	}
	return nil
}
