// Package scale implements `kgate scale`.
package scale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kgate/kgate/internal/change"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Scaler is what scale needs of the cluster, as kubectl's scale has one:
// the scale subresource and the readiness of a workload. *kube.Client is
// one; tests fake it.
type Scaler interface {
	GetScale(ctx context.Context, r kube.Resource, ns, name string) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, r kube.Resource, ns string, s *autoscalingv1.Scale, dryRun bool) (*autoscalingv1.Scale, error)
	ReadinessOf(ctx context.Context, r kube.Resource, ns, name string) (kube.Readiness, error)
}

// Options are what `kgate scale` needs.
type Options struct {
	IO *iostreams.IOStreams
	// KubeClient lists the objects of a selector.
	KubeClient func() (*kube.Client, error)
	// Scaler reads and writes the workloads' scale.
	Scaler func() (Scaler, error)
	// Kinds resolves TYPE; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Namespace func() (string, bool, error)
	Output    func() (string, error)
	Access    *enforce.Access

	Args            []string
	Selector        string
	Replicas        int
	CurrentReplicas int
	Wait            bool
	Timeout         time.Duration
	DryRun          string
	Yes             bool
	// Poll is how often --wait looks at the workload.
	Poll time.Duration
}

// NewCmdScale returns `kgate scale`; runF replaces the run step in tests.
func NewCmdScale(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Kinds: f.Kinds, Namespace: f.Namespace, Access: f.Access(), Poll: 500 * time.Millisecond}
	opts.Output = f.OutputFormat()
	opts.Scaler = func() (Scaler, error) {
		c, err := f.KubeClient()
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	cmd := &cobra.Command{
		Use:   "scale (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR) --replicas=N",
		Short: "Set the replicas of deployments, statefulsets or replicasets (admins only)",
		Long: `Set the number of replicas of one or more deployments, statefulsets or
replicasets. --current-replicas makes the change conditional: it is refused
unless the workload has exactly that many replicas at the moment of writing.
--wait (or a --timeout) waits until the ready count matches.

Scaling to zero stops a workload: kgate asks for confirmation on a terminal,
and a script must pass --yes.`,
		Example: `  # five replicas of a deployment
  kgate scale deploy/web --replicas=5

  # only if it has three now, and wait until all five are ready
  kgate scale deploy/web --replicas=5 --current-replicas=3 --wait

  # every statefulset labelled tier=cache
  kgate scale sts -l tier=cache --replicas=2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.WithHint(errs.UsageErrorf("you must specify the type of resource to scale"),
					"kgate supports: "+kube.SupportedList())
			}
			opts.Args = args
			if !cmd.Flags().Changed("replicas") {
				return errs.UsageErrorf("--replicas is required: kgate scale TYPE/NAME --replicas=N")
			}
			if opts.Replicas < 0 {
				return errs.UsageErrorf("--replicas must be zero or more, not %d", opts.Replicas)
			}
			if cmd.Flags().Changed("current-replicas") && opts.CurrentReplicas < 0 {
				return errs.UsageErrorf("--current-replicas must be zero or more, not %d", opts.CurrentReplicas)
			}
			if !cmd.Flags().Changed("current-replicas") {
				opts.CurrentReplicas = -1
			}
			if cmd.Flags().Changed("timeout") {
				opts.Wait = opts.Timeout > 0
			}
			if opts.Timeout <= 0 {
				opts.Timeout = 5 * time.Minute
			}
			switch opts.DryRun {
			case "none", "":
				opts.DryRun = ""
			case "server", "client":
			default:
				return errs.UsageErrorf("--dry-run must be none, client or server, not %q", opts.DryRun)
			}
			if runF != nil {
				return runF(opts)
			}
			return scaleRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.Replicas, "replicas", 0, "The new number of replicas (required)")
	fl.IntVar(&opts.CurrentReplicas, "current-replicas", -1, "Precondition: scale only if the current replicas are exactly this")
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Scale every object of TYPE matching this label selector")
	fl.BoolVar(&opts.Wait, "wait", false, "Wait until the ready replicas match (see --timeout)")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "How long to wait for the ready replicas (implies --wait; default 5m with --wait)")
	fl.StringVar(&opts.DryRun, "dry-run", "none", "none, client (print only) or server (the API server checks, nothing changes)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "Do not ask for confirmation when scaling to zero")
	completion.Objects(cmd, f, policy.VerbScale, completion.Scalable)
	_ = cmd.RegisterFlagCompletionFunc("dry-run", completion.Fixed("none", "client", "server"))
	completion.NoFiles(cmd, "selector")
	return cmd
}

func scaleRun(ctx context.Context, o *Options) error {
	output, err := o.Output()
	if err != nil {
		return err
	}
	if output != "" && output != "name" {
		return errs.UsageErrorf("scale prints -o name or nothing, not %q", output)
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	ctx, targets, err := o.Access.ChangeTargets(ctx, o.Kinds, "scale", o.Args, o.Selector, ns, o.KubeClient, func(r kube.Resource) error {
		if !kube.Scalable(r) {
			return errs.UsageErrorf("kgate scales deployments, statefulsets and replicasets, not %s", r.GVR.Resource)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var client Scaler
	scaler := func() (Scaler, error) {
		if client == nil {
			client, err = o.Scaler()
		}
		return client, err
	}
	steps := change.Steps{
		IO: o.IO, Namespace: ns, Done: "scaled",
		Question: func(objs []enforce.Object) (string, string) {
			if o.Replicas != 0 || o.DryRun != "" || o.Yes {
				return "", ""
			}
			var list []string
			for _, t := range objs {
				list = append(list, t.Resource.Qualified()+"/"+t.Name)
			}
			return "", fmt.Sprintf("Scale %s in namespace %s to zero replicas?", strings.Join(list, ", "), ns)
		},
		Apply: func(ctx context.Context, t enforce.Object) error {
			c, err := scaler()
			if err != nil {
				return err
			}
			return scaleOne(ctx, o, c, ns, t)
		},
		Own: func(err error) (bool, bool) {
			own := apierrors.IsNotFound(err) || isPrecondition(err)
			return own, own
		},
		Report: func(t enforce.Object) {
			suffix := ""
			switch o.DryRun {
			case "client":
				suffix = " (dry run)"
			case "server":
				suffix = " (server dry run)"
			}
			if output == "name" {
				fmt.Fprintf(o.IO.Out, "%s/%s\n", t.Resource.Qualified(), t.Name)
			} else {
				fmt.Fprintf(o.IO.Out, "%s/%s scaled%s\n", t.Resource.Qualified(), t.Name, suffix)
			}
		},
	}
	if o.Wait && o.DryRun == "" {
		steps.Wait = func(ctx context.Context, done []enforce.Object) error {
			for _, t := range done {
				// Something was scaled, so the client is there.
				if err := waitReady(ctx, o, client, ns, t); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return change.Run(ctx, steps, targets)
}

type preconditionError struct{ want, was int }

func (e *preconditionError) Error() string {
	return fmt.Sprintf("expected replicas to be %d, was %d", e.want, e.was)
}

func isPrecondition(err error) bool {
	var p *preconditionError
	return errors.As(err, &p)
}

func scaleOne(ctx context.Context, o *Options, c Scaler, ns string, t enforce.Object) error {
	for attempt := 0; ; attempt++ {
		s, err := c.GetScale(ctx, t.Resource, ns, t.Name)
		if err != nil {
			return err
		}
		if o.CurrentReplicas >= 0 && int(s.Spec.Replicas) != o.CurrentReplicas {
			return errs.WithHint(&errs.Error{Kind: errs.KindGeneric, Err: fmt.Errorf("%s/%s not scaled: %w", t.Resource.Qualified(), t.Name, &preconditionError{o.CurrentReplicas, int(s.Spec.Replicas)})},
				"Someone else may have scaled it; check with `kgate get "+t.Resource.GVR.Resource+" "+t.Name+"` and try again.")
		}
		if o.DryRun == "client" {
			return nil
		}
		s.Spec.Replicas = int32(o.Replicas)
		// The resourceVersion read above makes this write conditional, so a
		// precondition checked here still holds when it lands.
		_, err = c.UpdateScale(ctx, t.Resource, ns, s, o.DryRun == "server")
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		return err
	}
}

func waitReady(ctx context.Context, o *Options, c Scaler, ns string, t enforce.Object) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tty := o.IO.IsStderrTTY()
	name := t.Resource.Qualified() + "/" + t.Name
	last := ""
	for {
		rd, err := c.ReadinessOf(ctx, t.Resource, ns, t.Name)
		if err == nil {
			line := fmt.Sprintf("%s: %d/%d ready", name, rd.Ready, rd.Desired)
			if tty && line != last {
				fmt.Fprintf(o.IO.ErrOut, "\r\x1b[K%s", line)
			}
			last = line
			if rd.Settled {
				if tty {
					fmt.Fprintln(o.IO.ErrOut)
				}
				return nil
			}
		} else if ctx.Err() == nil && !apierrors.IsServerTimeout(err) {
			return err
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(o.IO.ErrOut)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %s waiting for %s (%s)", o.Timeout, name, strings.TrimPrefix(last, name+": "))
			}
			return ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}
