// Package events implements `kgate events` with kubectl's event printer and
// its ordering.
package events

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	kevents "k8s.io/kubectl/pkg/cmd/events"
	"k8s.io/kubectl/pkg/scheme"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Options are what `kgate events` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds  *kube.Kinds
	Output func() (string, error)
	// Access is the policy check made before any request.
	Access *enforce.Access

	AllNamespaces bool
	Watch         bool
	For           string
	Types         []string
	NoHeaders     bool
	ChunkSize     int64
}

// NewCmdEvents returns `kgate events`; runF replaces the run step in tests.
func NewCmdEvents(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kinds: f.Kinds, KubeClient: f.KubeClient, Namespace: f.Namespace, Output: f.OutputFormat(), Access: f.Access()}
	cmd := &cobra.Command{
		Use:   "events [--for TYPE/NAME] [--types=Warning,Normal] [-w] [-A]",
		Short: "List events, oldest first",
		Long: `List the events of a namespace, oldest first, as kubectl events does: --for
keeps those about one object, --types those of some types, -w follows new ones.
-A lists the events of every namespace you may see.`,
		Example: `  # the events of the current namespace
  kgate events

  # warnings about one deployment, then follow
  kgate events --for deploy/web --types=Warning -w

  # every namespace of your projects
  kgate events -A`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, t := range opts.Types {
				if !strings.EqualFold(t, corev1.EventTypeNormal) && !strings.EqualFold(t, corev1.EventTypeWarning) {
					return errs.UsageErrorf("--types takes Normal and Warning, not %q", t)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return eventsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "Events of every namespace you may see")
	fl.BoolVarP(&opts.Watch, "watch", "w", false, "After listing, follow new events")
	fl.StringVar(&opts.For, "for", "", "Only events about this object (TYPE/NAME)")
	fl.StringSliceVar(&opts.Types, "types", nil, "Only events of these types: Normal, Warning")
	fl.BoolVar(&opts.NoHeaders, "no-headers", false, "Do not print the header line")
	fl.Int64Var(&opts.ChunkSize, "chunk-size", 500, "Fetch large lists in chunks of this size (0 disables chunking)")
	return cmd
}

func eventsRun(ctx context.Context, o *Options) error {
	output, err := o.Output()
	if err != nil {
		return err
	}
	if output != "" && output != "json" && output != "yaml" {
		return errs.UsageErrorf("events prints its table, -o json or -o yaml, not %q", output)
	}
	lo := kube.ListOptions{ChunkSize: o.ChunkSize}
	if o.For != "" {
		if lo.FieldSelector, err = forSelector(o.Kinds, o.For); err != nil {
			return err
		}
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	ctx, scope, err := o.Access.List(ctx, policy.Request{Verb: policy.VerbList, Resource: "events", Namespace: ns}, o.AllNamespaces)
	if o.Watch && err == nil {
		// -w is a watch, asked about as one.
		ctx, scope, err = o.Access.List(ctx, policy.Request{Verb: policy.VerbWatch, Resource: "events", Namespace: ns}, o.AllNamespaces)
	}
	if err != nil {
		return err
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	cs, err := client.Typed()
	if err != nil {
		return err
	}
	var all []corev1.Event
	rv := map[string]string{}
	for _, n := range scope.Namespaces {
		l := &corev1.EventList{}
		opts := metav1.ListOptions{FieldSelector: lo.FieldSelector, Limit: lo.ChunkSize}
		for {
			page, err := cs.CoreV1().Events(n).List(ctx, opts)
			if err != nil {
				return err
			}
			l.Items = append(l.Items, page.Items...)
			if page.Continue == "" {
				rv[n] = page.ResourceVersion
				break
			}
			opts.Continue = page.Continue
		}
		for _, e := range l.Items {
			if o.keep(e.Type) {
				all = append(all, e)
			}
		}
	}
	sort.Stable(kevents.SortableEvents(all))
	withNS := o.AllNamespaces
	w := printers.GetNewTabWriter(o.IO.Out)
	defer w.Flush()
	var print func(*corev1.Event) error
	if output != "" {
		p, err := (&genericclioptions.JSONYamlPrintFlags{}).ToPrinter(output)
		if err != nil {
			return err
		}
		p = &printers.TypeSetterPrinter{Delegate: p, Typer: scheme.Scheme}
		if !o.Watch {
			el := &corev1.EventList{Items: all}
			return p.PrintObj(el, o.IO.Out)
		}
		print = func(e *corev1.Event) error { return p.PrintObj(e, o.IO.Out) }
	} else {
		ep := kevents.NewEventPrinter(o.NoHeaders, withNS)
		if len(all) > 0 {
			if err := ep.PrintObj(&corev1.EventList{Items: all}, w); err != nil {
				return err
			}
		}
		print = func(e *corev1.Event) error {
			if err := ep.PrintObj(e, w); err != nil {
				return err
			}
			return w.Flush()
		}
	}
	if len(all) == 0 && !o.Watch {
		if o.AllNamespaces {
			fmt.Fprintln(o.IO.ErrOut, "No events found.")
		} else {
			fmt.Fprintf(o.IO.ErrOut, "No events found in %s namespace.\n", ns)
		}
		return nil
	}
	if !o.Watch {
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return o.follow(ctx, cs.CoreV1(), scope.Namespaces, rv, lo.FieldSelector, print)
}

func (o *Options) keep(t string) bool {
	return len(o.Types) == 0 || slices.ContainsFunc(o.Types, func(x string) bool { return strings.EqualFold(x, t) })
}

// follow watches every namespace of the scope from where the list ended and
// prints new events as they come, until ctx ends (Ctrl-C).
func (o *Options) follow(ctx context.Context, core typedcorev1.CoreV1Interface, namespaces []string, rv map[string]string, fieldSelector string, print func(*corev1.Event) error) error {
	var mu sync.Mutex
	errc := make(chan error, len(namespaces))
	for _, n := range namespaces {
		go func(n string) {
			wi, err := core.Events(n).Watch(ctx, metav1.ListOptions{FieldSelector: fieldSelector, ResourceVersion: rv[n]})
			if err != nil {
				errc <- err
				return
			}
			defer wi.Stop()
			for {
				select {
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				case ev, ok := <-wi.ResultChan():
					if !ok {
						errc <- fmt.Errorf("the watch of events in %s ended", n)
						return
					}
					e, isEvent := ev.Object.(*corev1.Event)
					if !isEvent || ev.Type == watch.Deleted || !o.keep(e.Type) {
						continue
					}
					if e.GetObjectKind().GroupVersionKind().Empty() {
						e.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Event"})
					}
					mu.Lock()
					err := print(e)
					mu.Unlock()
					if err != nil {
						errc <- err
						return
					}
				}
			}
		}(n)
	}
	return <-errc
}

// forSelector is the field selector of the events about TYPE/NAME, with TYPE
// resolved by kinds (nil: the built-in kinds): its kind, its group's
// version as discovery prefers it, and its name.
func forSelector(kinds *kube.Kinds, typeName string) (string, error) {
	kind, name, ok := strings.Cut(typeName, "/")
	if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
		return "", errs.UsageErrorf("--for takes TYPE/NAME, not %q", typeName)
	}
	r, err := kinds.Lookup(kind)
	if err != nil {
		return "", err
	}
	return fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.kind", r.Kind),
		fields.OneTermEqualSelector("involvedObject.apiVersion", r.GVR.GroupVersion().String()),
		fields.OneTermEqualSelector("involvedObject.name", name)).String(), nil
}
