// Package delete implements `kgate delete`.
package delete

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kgate/kgate/internal/change"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Deleter is what delete needs of the cluster: read an object (does it
// exist, is it gone yet) and delete it. *kube.Client is one; tests fake it.
type Deleter interface {
	Get(ctx context.Context, r kube.Resource, ns, name string) (*unstructured.Unstructured, error)
	Delete(ctx context.Context, r kube.Resource, ns, name string, opts metav1.DeleteOptions) error
}

// Options are what `kgate delete` needs.
type Options struct {
	IO *iostreams.IOStreams
	// KubeClient lists the objects of a selector.
	KubeClient func() (*kube.Client, error)
	// Deleter reads and deletes the objects.
	Deleter func() (Deleter, error)
	// Kinds resolves TYPE; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Namespace func() (string, bool, error)
	Output    func() (string, error)
	Access    *enforce.Access

	Args           []string
	Selector       string
	All            bool
	Yes            bool
	DryRun         string
	GracePeriod    int
	Now            bool
	Wait           bool
	Timeout        time.Duration
	Cascade        string
	IgnoreNotFound bool
}

// NewCmdDelete returns `kgate delete`; runF replaces the run step in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Kinds: f.Kinds, Namespace: f.Namespace, Access: f.Access()}
	opts.Output = f.OutputFormat()
	opts.Deleter = func() (Deleter, error) {
		c, err := f.KubeClient()
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	cmd := &cobra.Command{
		Use:   "delete (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR) [flags]",
		Short: "Delete objects, after showing what will go (admins only)",
		Long: `Delete objects of any namespaced kind the cluster serves and deletes
(pods, deployments, services, configmaps, secrets, ingresses, custom
resources, ...), in a namespace where you are an admin.

On a terminal kgate lists what will go and asks before deleting; when stdin
is not a terminal it refuses unless --yes is given. --dry-run=server lets the
API server check the deletion without making it. kgate never deletes
namespaces, nodes or other cluster-wide objects, whatever your role, and
refuses --all without a selector.`,
		Example: `  # delete a pod (asks first on a terminal)
  kgate delete pod web-7d4b9c-abcde

  # what would go, checked by the API server, nothing deleted
  kgate delete deploy -l app=old --dry-run=server

  # in a script, and wait until the objects are gone
  kgate delete cm/settings svc/old --yes --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.WithHint(errs.UsageErrorf("you must specify the type of resource to delete"),
					"kgate supports: "+kube.SupportedList())
			}
			opts.Args = args
			switch opts.DryRun {
			case "none", "":
				opts.DryRun = ""
			case "client", "server":
			default:
				return errs.UsageErrorf("--dry-run must be none, client or server, not %q", opts.DryRun)
			}
			switch opts.Cascade {
			case "background", "foreground", "orphan":
			default:
				return errs.UsageErrorf("--cascade must be background, foreground or orphan, not %q", opts.Cascade)
			}
			if opts.All && opts.Selector == "" {
				return errs.UsageErrorf("refusing --all without a selector: name the objects, or select them with -l")
			}
			if opts.Now {
				if cmd.Flags().Changed("grace-period") && opts.GracePeriod != 1 {
					return errs.UsageErrorf("--now and --grace-period cannot both be given")
				}
				opts.GracePeriod = 1
			}
			if runF != nil {
				return runF(opts)
			}
			return deleteRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Delete every object of TYPE matching this label selector")
	fl.BoolVar(&opts.All, "all", false, "With -l, every matching object (refused without a selector)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "Do not ask for confirmation (required when stdin is not a terminal)")
	fl.StringVar(&opts.DryRun, "dry-run", "none", "none, client (print only) or server (the API server checks, nothing is deleted)")
	fl.IntVar(&opts.GracePeriod, "grace-period", -1, "Seconds the objects get to stop; -1 uses each object's own default")
	fl.BoolVar(&opts.Now, "now", false, "Stop at once (--grace-period=1)")
	fl.BoolVar(&opts.Wait, "wait", false, "Wait until the objects are gone")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "How long --wait waits")
	fl.StringVar(&opts.Cascade, "cascade", "background", "What happens to dependents: background, foreground or orphan")
	fl.BoolVar(&opts.IgnoreNotFound, "ignore-not-found", false, "Treat objects that are already gone as deleted")
	completion.Objects(cmd, f, policy.VerbDelete, completion.Deletable)
	_ = cmd.RegisterFlagCompletionFunc("dry-run", completion.Fixed("none", "client", "server"))
	_ = cmd.RegisterFlagCompletionFunc("cascade", completion.Fixed("background", "foreground", "orphan"))
	completion.NoFiles(cmd, "selector")
	return cmd
}

func deleteRun(ctx context.Context, o *Options) error {
	output, err := o.Output()
	if err != nil {
		return err
	}
	if output != "" && output != "name" {
		return errs.UsageErrorf("delete prints -o name or nothing, not %q", output)
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	ctx, targets, err := o.Access.ChangeTargets(ctx, o.Kinds, "delete", o.Args, o.Selector, ns, o.KubeClient, func(r kube.Resource) error {
		if !r.Namespaced {
			return errs.ForbiddenErrorf("kgate never deletes %s: cluster-wide objects are out of its reach, whatever your role", r.GVR.Resource)
		}
		if !r.Deletable {
			return errs.UsageErrorf("the server does not delete %s", r.GVR.Resource)
		}
		return nil
	})
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{}
	if o.GracePeriod >= 0 {
		g := int64(o.GracePeriod)
		opts.GracePeriodSeconds = &g
	}
	pp := metav1.DeletionPropagation(strings.ToUpper(o.Cascade[:1]) + o.Cascade[1:])
	opts.PropagationPolicy = &pp
	if o.DryRun == "server" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var client Deleter
	if len(targets) > 0 {
		if client, err = o.Deleter(); err != nil {
			return err
		}
	}
	// A missing object is the command's failure unless --ignore-not-found.
	notFound := func(err error) (own, report bool) {
		if apierrors.IsNotFound(err) {
			return true, !o.IgnoreNotFound
		}
		return false, false
	}
	asking := o.DryRun == "" && !o.Yes
	steps := change.Steps{
		IO: o.IO, Namespace: ns, Done: "deleted",
		Question: func(objs []enforce.Object) (string, string) {
			if !asking {
				return "", ""
			}
			preface := fmt.Sprintf("These objects in namespace %s will be deleted:\n", ns)
			for _, t := range objs {
				preface += fmt.Sprintf("  %s/%s\n", t.Resource.Qualified(), t.Name)
			}
			return preface, fmt.Sprintf("Delete %d object(s)?", len(objs))
		},
		Apply: func(ctx context.Context, t enforce.Object) error {
			if o.DryRun == "client" {
				return nil
			}
			return client.Delete(ctx, t.Resource, ns, t.Name, opts)
		},
		Own: notFound,
		Report: func(t enforce.Object) {
			kind := t.Resource.Qualified()
			if output == "name" {
				fmt.Fprintf(o.IO.Out, "%s/%s\n", kind, t.Name)
				return
			}
			op := "deleted"
			if o.GracePeriod == 0 {
				op = "force deleted"
			}
			op += " from " + ns + " namespace"
			switch o.DryRun {
			case "client":
				op += " (dry run)"
			case "server":
				op += " (server dry run)"
			}
			fmt.Fprintf(o.IO.Out, "%s %q %s\n", kind, t.Name, op)
		},
	}
	// Named objects must exist: say so before asking about the rest, and
	// before a client-side dry run reports them deleted. Otherwise the DELETE
	// itself answers NotFound, and no extra request is made.
	if o.Selector == "" && (asking || o.DryRun == "client") {
		steps.Check = func(ctx context.Context, t enforce.Object) (bool, error, error) {
			_, err := client.Get(ctx, t.Resource, ns, t.Name)
			if err == nil {
				return true, nil, nil
			}
			if own, report := notFound(err); own {
				if report {
					return false, err, nil
				}
				return false, nil, nil
			}
			return false, nil, err
		}
	}
	if o.Wait && o.DryRun == "" {
		steps.Wait = func(ctx context.Context, deleted []enforce.Object) error {
			return waitDeleted(ctx, o, client, ns, deleted)
		}
	}
	return change.Run(ctx, steps, targets)
}

// waitDeleted waits, within --timeout, until every object is gone.
func waitDeleted(ctx context.Context, o *Options, client Deleter, ns string, deleted []enforce.Object) error {
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	for _, t := range deleted {
		for {
			_, err := client.Get(wctx, t.Resource, ns, t.Name)
			if apierrors.IsNotFound(err) {
				break
			}
			if wctx.Err() != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("timed out after %s waiting for %s/%s to be deleted", o.Timeout, t.Resource.Qualified(), t.Name)
			}
			select {
			case <-wctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}
