// Package label implements `kgate label` and `kgate annotate`: they differ
// only in which map of the object's metadata they change.
package label

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
)

// Options are what `kgate label` and `kgate annotate` need.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	// Kinds resolves TYPE; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Namespace func() (string, bool, error)
	Output    func() (string, error)
	Access    *enforce.Access

	// Annotate: annotations instead of labels.
	Annotate        bool
	Args            []string
	Set             map[string]string
	Remove          []string
	Selector        string
	Overwrite       bool
	ResourceVersion string
	DryRun          string
	List            bool
}

// NewCmdLabel returns `kgate label`; runF replaces the run step in tests.
func NewCmdLabel(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	return newCmd(f, runF, false)
}

// NewCmdAnnotate returns `kgate annotate`; runF replaces the run step in tests.
func NewCmdAnnotate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	return newCmd(f, runF, true)
}

func newCmd(f *cmdutil.Factory, runF func(*Options) error, annotate bool) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Kinds: f.Kinds, Namespace: f.Namespace, Output: f.OutputFormat(),
		Access: f.Access(), Annotate: annotate}
	w := words(annotate)
	cmd := &cobra.Command{
		Use:   w.verb + " (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR) KEY=VALUE... [KEY-...]",
		Short: "Set or remove the " + w.plural + " of objects (admins only)",
		Long: fmt.Sprintf(`Set or remove %[1]s of one or more objects, as kubectl %[2]s does.
KEY=VALUE sets a %[3]s, KEY- removes one. A %[3]s that already has another value is
changed only with --overwrite. --list prints the %[1]s instead.`, w.plural, w.verb, w.singular),
		Example: fmt.Sprintf(`  # set a %[2]s on a deployment
  kgate %[1]s deploy/web %[3]s

  # change it, and remove another
  kgate %[1]s deploy/web %[4]s --overwrite %[5]s-

  # every pod labelled app=web, checked by the server but not changed
  kgate %[1]s pods -l app=web %[3]s --dry-run=server`, w.verb, w.singular, w.example, w.example2, w.exampleKey),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parse(args); err != nil {
				return err
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
			return labelRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Change every object of TYPE matching this label selector")
	fl.BoolVar(&opts.Overwrite, "overwrite", false, "Replace a "+w.singular+" that already has another value")
	fl.StringVar(&opts.ResourceVersion, "resource-version", "", "Change the object only if it is still at this resource version")
	fl.StringVar(&opts.DryRun, "dry-run", "none", "none, client (print only) or server (the API server checks, nothing changes)")
	fl.BoolVar(&opts.List, "list", false, "Print the "+w.plural+" of the objects")
	completion.Objects(cmd, f, w.verb, nil)
	_ = cmd.RegisterFlagCompletionFunc("dry-run", completion.Fixed("none", "client", "server"))
	completion.NoFiles(cmd, "selector")
	return cmd
}

type wording struct{ verb, singular, plural, done, example, example2, exampleKey string }

func words(annotate bool) wording {
	if annotate {
		return wording{"annotate", "annotation", "annotations", "annotated", "owner=team-payments", "owner=team-search", "description"}
	}
	return wording{"label", "label", "labels", "labeled", "tier=frontend", "tier=backend", "canary"}
}

// parse splits the arguments into objects, KEY=VALUE and KEY-, as kubectl
// does: an argument with "=" or a trailing "-" is a change.
func (o *Options) parse(args []string) error {
	w := words(o.Annotate)
	o.Set = map[string]string{}
	o.Remove = nil
	o.Args = nil
	for _, a := range args {
		switch {
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			if err := o.validKey(k); err != nil {
				return err
			}
			if !o.Annotate {
				if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
					return errs.UsageErrorf("invalid label value %q: %s", v, strings.Join(msgs, "; "))
				}
			}
			o.Set[k] = v
		case strings.HasSuffix(a, "-") && len(o.Args) > 0:
			k := strings.TrimSuffix(a, "-")
			if err := o.validKey(k); err != nil {
				return err
			}
			o.Remove = append(o.Remove, k)
		default:
			if len(o.Set) > 0 || len(o.Remove) > 0 {
				return errs.UsageErrorf("put the objects before the %s changes: kgate %s TYPE/NAME KEY=VALUE", w.singular, w.verb)
			}
			o.Args = append(o.Args, a)
		}
	}
	for _, k := range o.Remove {
		if _, ok := o.Set[k]; ok {
			return errs.UsageErrorf("can not both modify and remove the %s %q in the same command", w.singular, k)
		}
	}
	if len(o.Args) == 0 {
		return errs.UsageErrorf("%s needs objects: kgate %s TYPE/NAME KEY=VALUE", w.verb, w.verb)
	}
	if !o.List && len(o.Set) == 0 && len(o.Remove) == 0 {
		return errs.UsageErrorf("at least one %s update is required: KEY=VALUE or KEY-", w.singular)
	}
	return nil
}

func (o *Options) validKey(k string) error {
	if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
		return errs.UsageErrorf("invalid %s key %q: %s", words(o.Annotate).singular, k, strings.Join(msgs, "; "))
	}
	return nil
}

func labelRun(ctx context.Context, o *Options) error {
	w := words(o.Annotate)
	output, err := o.Output()
	if err != nil {
		return err
	}
	if output != "" && output != "name" && output != "json" && output != "yaml" {
		return errs.UsageErrorf("%s prints -o name, json or yaml, not %q", w.verb, output)
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	verb := w.verb
	if o.List {
		verb = "get"
	}
	ctx, targets, err := o.Access.ChangeTargets(ctx, o.Kinds, verb, o.Args, o.Selector, ns, o.KubeClient, func(r kube.Resource) error {
		if r.GVR.Resource == "events" {
			return errs.UsageErrorf("kgate does not %s events", w.verb)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		return nil
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	var failures []error
	for _, t := range targets {
		if err := o.one(ctx, client, ns, t, output); err != nil {
			if apierrors.IsNotFound(err) || isRefusal(err) {
				failures = append(failures, err)
				continue
			}
			return err
		}
	}
	return errs.Join(failures)
}

// refusal is a change refused for one object; the others still go ahead.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

func isRefusal(err error) bool {
	_, ok := err.(refusal)
	return ok
}

func (o *Options) one(ctx context.Context, client *kube.Client, ns string, t enforce.Object, output string) error {
	w := words(o.Annotate)
	nsOf := ns
	if !t.Resource.Namespaced {
		nsOf = ""
	}
	ri := client.Dynamic().Resource(t.Resource.GVR).Namespace(nsOf)
	obj, err := ri.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur := obj.GetLabels()
	if o.Annotate {
		cur = obj.GetAnnotations()
	}
	if o.List {
		for k, v := range cur {
			fmt.Fprintf(o.IO.Out, "%s=%s\n", k, v)
		}
		return nil
	}
	changes := map[string]any{}
	for k, v := range o.Set {
		old, ok := cur[k]
		if ok && old == v {
			continue
		}
		if ok && !o.Overwrite {
			return refusal{errs.WithHint(fmt.Errorf("%s/%s: %s %q already has a value (%s), and --overwrite is false",
				t.Resource.Qualified(), t.Name, w.singular, k, old), "Pass --overwrite to replace it.")}
		}
		changes[k] = v
	}
	for _, k := range o.Remove {
		if _, ok := cur[k]; !ok {
			fmt.Fprintf(o.IO.ErrOut, "%s %q not found.\n", w.singular, k)
			continue
		}
		changes[k] = nil
	}
	op := w.done
	if len(changes) == 0 {
		op = "not " + w.done
	} else {
		field := "labels"
		if o.Annotate {
			field = "annotations"
		}
		md := map[string]any{field: changes}
		if o.ResourceVersion != "" {
			md["resourceVersion"] = o.ResourceVersion
		}
		patch, err := json.Marshal(map[string]any{"metadata": md})
		if err != nil {
			return err
		}
		if o.DryRun == "client" {
			applyLocal(obj, o.Annotate, changes)
		} else {
			po := metav1.PatchOptions{}
			if o.DryRun == "server" {
				po.DryRun = []string{metav1.DryRunAll}
			}
			if obj, err = ri.Patch(ctx, t.Name, types.MergePatchType, patch, po); err != nil {
				if apierrors.IsConflict(err) {
					return refusal{fmt.Errorf("%s/%s was changed since resource version %s: %v", t.Resource.Qualified(), t.Name, o.ResourceVersion, err)}
				}
				return err
			}
		}
		switch o.DryRun {
		case "client":
			op += " (dry run)"
		case "server":
			op += " (server dry run)"
		}
	}
	pf := genericclioptions.NewPrintFlags(op)
	if output != "" {
		pf.OutputFormat = &output
	}
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(obj, o.IO.Out)
}

func applyLocal(obj *unstructured.Unstructured, annotate bool, changes map[string]any) {
	m := obj.GetLabels()
	if annotate {
		m = obj.GetAnnotations()
	}
	if m == nil {
		m = map[string]string{}
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v.(string)
		}
	}
	if annotate {
		obj.SetAnnotations(m)
	} else {
		obj.SetLabels(m)
	}
}
