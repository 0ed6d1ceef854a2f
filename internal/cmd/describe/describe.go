// Package describe implements `kgate describe` with kubectl's own describers.
package describe

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	kdescribe "k8s.io/kubectl/pkg/describe"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Options are what `kgate describe` needs.
type Options struct {
	IO         *iostreams.IOStreams
	RESTConfig func() (*rest.Config, error)
	KubeClient func() (*kube.Client, error)
	// Kinds resolves TYPE; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Namespace func() (string, bool, error)
	// Access is the policy check made before any request.
	Access *enforce.Access

	Args          []string
	LabelSelector string
	AllNamespaces bool
	ShowEvents    bool
	ChunkSize     int64
}

// NewCmdDescribe returns `kgate describe`; runF replaces the run step in tests.
func NewCmdDescribe(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, RESTConfig: f.RESTConfig, KubeClient: f.KubeClient, Kinds: f.Kinds, Namespace: f.Namespace, Access: f.Access()}
	cmd := &cobra.Command{
		Use:   "describe (TYPE [NAME...] | TYPE/NAME...) [flags]",
		Short: "Show the details of objects, with their events",
		Long: `Show a detailed, human-readable description of one or more objects and the
events that concern them, exactly as kubectl describe prints it (kgate uses
kubectl's own describers; custom resources get kubectl's generic describer).
TYPE is any kind the cluster serves, as for get. Name objects, or select them
with -l.`,
		Example: `  # one pod
  kgate describe pod web-7d4b9c-abcde

  # a deployment, TYPE/NAME form
  kgate describe deploy/web -n payments

  # every pod labelled app=web
  kgate describe pods -l app=web`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.WithHint(errs.UsageErrorf("you must specify the type of resource to describe"),
					"kgate supports: "+kube.SupportedList())
			}
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return describeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.LabelSelector, "selector", "l", "", "Label selector to filter on")
	fl.BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "Describe matching objects in all namespaces")
	fl.BoolVar(&opts.ShowEvents, "show-events", true, "Show the events related to each object")
	fl.Int64Var(&opts.ChunkSize, "chunk-size", 500, "Fetch large lists in chunks of this size (0 disables chunking)")
	completion.Objects(cmd, f, policy.VerbDescribe, nil)
	completion.NoFiles(cmd, "selector")
	return cmd
}

type item struct {
	res       kube.Resource
	namespace string
	name      string
}

func describeRun(ctx context.Context, opts *Options) error {
	targets, err := opts.Kinds.ParseArgs(opts.Args)
	if err != nil {
		return err
	}
	ns, _, err := opts.Namespace()
	if err != nil {
		return err
	}
	if opts.AllNamespaces {
		ns = ""
	}
	if opts.LabelSelector != "" && hasNames(targets) {
		return errs.UsageErrorf("name cannot be provided when a selector is specified")
	}
	ctx, scopes, err := opts.Access.Targets(ctx, policy.VerbDescribe, policy.VerbDescribe, targets, ns, opts.AllNamespaces)
	if err != nil {
		return err
	}
	client, err := opts.KubeClient()
	if err != nil {
		return err
	}
	var items []item
	for i, t := range targets {
		if len(t.Names) > 0 {
			for _, n := range t.Names {
				items = append(items, item{t.Resource, ns, n})
			}
			continue
		}
		l, err := scopes[i].List(ctx, client, t.Resource, kube.ListOptions{LabelSelector: opts.LabelSelector, ChunkSize: opts.ChunkSize})
		if err != nil {
			return err
		}
		for _, o := range l {
			items = append(items, item{t.Resource, o.GetNamespace(), o.GetName()})
		}
	}
	if len(items) == 0 {
		if opts.LabelSelector != "" || len(targets) > 0 {
			if ns == "" || !targets[0].Resource.Namespaced {
				fmt.Fprintln(opts.IO.ErrOut, "No resources found")
			} else {
				fmt.Fprintf(opts.IO.ErrOut, "No resources found in %s namespace.\n", ns)
			}
		}
		return nil
	}
	rc, err := opts.RESTConfig()
	if err != nil {
		return err
	}
	// kubectl's describers make their requests without a context; give them
	// the decision's audit id another way.
	rc = kube.WithAuditID(ctx, rc)
	settings := kdescribe.DescriberSettings{ShowEvents: opts.ShowEvents, ChunkSize: opts.ChunkSize}
	describers := map[string]kdescribe.ResourceDescriber{}
	var failures []error
	first := true
	for _, it := range items {
		key := it.res.GVR.String()
		d, ok := describers[key]
		if !ok {
			if d, ok = kdescribe.DescriberFor(it.res.GroupKind(), rc); !ok {
				if d, ok = kdescribe.GenericDescriberFor(it.res.Mapping(), rc); !ok {
					return fmt.Errorf("no describer for %s", it.res.GVR.Resource)
				}
			}
			describers[key] = d
		}
		out, err := d.Describe(it.namespace, it.name, settings)
		if err != nil {
			if apierrors.IsNotFound(err) {
				failures = append(failures, err)
				continue
			}
			return err
		}
		if !first {
			fmt.Fprint(opts.IO.Out, "\n\n")
		}
		first = false
		fmt.Fprint(opts.IO.Out, out)
	}
	return errs.Join(failures)
}
