// Package get implements `kgate get`.
package get

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/dynamic"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/printers"
)

// Options are what `kgate get` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	// Kinds resolves TYPE; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Namespace func() (string, bool, error)
	Output    func() (string, error)
	// Access is the policy check made before any request.
	Access *enforce.Access

	Args           []string
	LabelSelector  string
	FieldSelector  string
	AllNamespaces  bool
	Watch          bool
	WatchOnly      bool
	WatchEvents    bool
	NoHeaders      bool
	ShowLabels     bool
	LabelColumns   []string
	SortBy         string
	IgnoreNotFound bool
	ChunkSize      int64
	// ChunkSizeSet is whether --chunk-size was given. Without it, lists whose
	// items carry no whole object (tables without --sort-by on the object,
	// -o name) come in one response: measured on kube-apiserver 1.36, each
	// page costs a round trip of its own, and such items are small.
	ChunkSizeSet bool
}

// NewCmdGet returns `kgate get`; runF replaces the run step in tests.
func NewCmdGet(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Kinds: f.Kinds, Namespace: f.Namespace, Access: f.Access()}
	opts.Output = f.OutputFormat()
	cmd := &cobra.Command{
		Use:   "get (TYPE[,TYPE...] [NAME...] | TYPE/NAME...) [flags]",
		Short: "List objects, as a table or as JSON/YAML",
		Long: `List one or many objects. Tables are rendered by the API server, so the
columns are the ones kubectl shows, custom resources' printer columns included.

TYPE is any kind the cluster serves, as kubectl reads it: plural, singular or
short name (pods, pod, po), KIND.GROUP or KIND.VERSION.GROUP
(certificates.cert-manager.io), or a category ("all": pods, services,
deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs, HPAs and
the custom resources that join it). The built-in kinds are known without
asking the cluster; others come from its discovery, cached on disk for 6
hours and fetched again once when a name is not in it. Common kinds: ` + kube.SupportedList() + `.

Namespaced kinds need a guest role in the project (Secrets and the kinds the
policy marks sensitive: admin); cluster-scoped kinds (nodes, persistentvolumes,
storageclasses, customresourcedefinitions, ...) are for super admins.`,
		Example: `  # pods in the current namespace
  kgate get pods

  # a deployment and a service by name
  kgate get deploy/web svc/web

  # everything labelled app=web in every namespace you may see, with more columns
  kgate get pods -l app=web -A -o wide

  # names only, for a script
  kgate get pods -o name

  # every kind of the usual workloads; a custom resource by its short name
  kgate get all
  kgate get certs

  # sorted, with a label as a column, or the columns you choose
  kgate get pods --sort-by=.metadata.creationTimestamp -L app
  kgate get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName

  # watch pods change
  kgate get pods -w`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			opts.ChunkSizeSet = cmd.Flags().Changed("chunk-size")
			if opts.WatchOnly {
				opts.Watch = true
			}
			if runF != nil {
				return runF(opts)
			}
			return getRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.LabelSelector, "selector", "l", "", "Label selector to filter on (e.g. -l app=web,tier!=db)")
	fl.StringVar(&opts.FieldSelector, "field-selector", "", "Field selector to filter on (e.g. --field-selector status.phase=Running)")
	fl.BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "List across all namespaces")
	fl.BoolVarP(&opts.Watch, "watch", "w", false, "After listing, watch for changes")
	fl.BoolVar(&opts.WatchOnly, "watch-only", false, "Watch for changes without listing first")
	fl.BoolVar(&opts.WatchEvents, "output-watch-events", false, "Show the event type (ADDED, MODIFIED, DELETED) when watching")
	fl.BoolVar(&opts.NoHeaders, "no-headers", false, "Print tables without headers")
	fl.BoolVar(&opts.ShowLabels, "show-labels", false, "Show each object's labels as the last column")
	fl.StringSliceVarP(&opts.LabelColumns, "label-columns", "L", nil, "Show these labels as columns of their own (-L app,tier or -L app -L tier)")
	fl.StringVar(&opts.SortBy, "sort-by", "", "Sort by this JSONPath of the objects (e.g. .metadata.name, {.status.startTime})")
	fl.BoolVar(&opts.IgnoreNotFound, "ignore-not-found", false, "Treat named objects that do not exist as no error")
	fl.Int64Var(&opts.ChunkSize, "chunk-size", 500, "Fetch lists in pages of this size (0: one response). Without it, lists held whole to print (custom columns, --sort-by on the object) come in pages of 500, and tables, -o name and -o json/yaml (printed as they arrive) in one response")
	completion.Objects(cmd, f, policy.VerbList, nil)
	completion.NoFiles(cmd, "selector", "field-selector")
	return cmd
}

type format int

const (
	formatTable format = iota
	formatWide
	formatObjects
	formatCustom
)

func parseFormat(out string) format {
	switch {
	case out == "":
		return formatTable
	case out == "wide":
		return formatWide
	case strings.HasPrefix(out, "custom-columns=") || strings.HasPrefix(out, "custom-columns-file="):
		return formatCustom
	}
	return formatObjects
}

func getRun(ctx context.Context, opts *Options) error {
	targets, err := opts.Kinds.ParseArgs(opts.Args)
	if err != nil {
		return err
	}
	output, err := opts.Output()
	if err != nil {
		return err
	}
	fmtKind := parseFormat(output)
	var objPrinter cliprinters.ResourcePrinter
	var cols []column
	switch fmtKind {
	case formatObjects:
		if objPrinter, err = objectPrinter(output); err != nil {
			return err
		}
	case formatCustom:
		if cols, _, err = parseCustomColumns(output); err != nil {
			return err
		}
	}
	if opts.SortBy != "" {
		if _, err := parsePath("sort-by", opts.SortBy); err != nil {
			return err
		}
		if opts.Watch {
			return errs.UsageErrorf("--sort-by cannot be combined with --watch")
		}
	}
	if opts.Watch && len(targets) > 1 {
		return errs.UsageErrorf("you may only watch one kind of resource at a time")
	}
	if opts.AllNamespaces && hasNames(targets) {
		return errs.UsageErrorf("a name cannot be combined with --all-namespaces; name the namespace with -n instead")
	}
	ns, _, err := opts.Namespace()
	if err != nil {
		return err
	}
	if opts.AllNamespaces {
		ns = ""
	}
	ctx, scopes, err := authorize(ctx, opts, targets, ns)
	if err != nil {
		return err
	}
	client, err := opts.KubeClient()
	if err != nil {
		return err
	}
	lo := kube.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector, ChunkSize: opts.ChunkSize}

	switch fmtKind {
	case formatObjects:
		return getObjects(ctx, opts, client, targets, scopes, ns, lo, output, objPrinter)
	case formatCustom:
		return getCustom(ctx, opts, client, targets, scopes, ns, lo, cols)
	}
	return getTables(ctx, opts, client, targets, scopes, ns, lo, fmtKind == formatWide)
}

func hasNames(ts []kube.Target) bool {
	for _, t := range ts {
		if len(t.Names) > 0 {
			return true
		}
	}
	return false
}

func getTables(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, ns string, lo kube.ListOptions, wide bool) error {
	var failures []error
	printed := 0
	var lastRV string
	// A watch prints its list and every event under one header, aligned;
	// the server sends column definitions with the first table only.
	var aligned *printers.Aligned
	if opts.Watch {
		aligned = &printers.Aligned{W: opts.IO.Out}
		if opts.WatchEvents {
			aligned.Reserve(0, len("MODIFIED"))
		}
	}
	var columns []metav1.TableColumnDefinition
	for i, t := range targets {
		var table *metav1.Table
		if opts.WatchOnly {
			break
		}
		if len(t.Names) == 0 {
			tlo := lo
			tlo.Include = tableInclude(opts, t, scopes[i])
			if tlo.Include != kube.IncludeObject {
				tlo.ChunkSize = smallItemsChunk(opts)
			}
			tb, err := listTable(ctx, client, t.Resource, scopes[i], tlo)
			if err != nil {
				return err
			}
			table = tb
			lastRV = tb.ResourceVersion
		} else {
			for _, name := range t.Names {
				tb, err := client.TableOne(ctx, t.Resource, ns, name, tableInclude(opts, t, scopes[i]))
				if err != nil {
					if apierrors.IsNotFound(err) {
						if !opts.IgnoreNotFound {
							failures = append(failures, err)
						}
						continue
					}
					return err
				}
				if table == nil {
					table = tb
				} else {
					table.Rows = append(table.Rows, tb.Rows...)
				}
				if len(tb.Rows) == 1 {
					// A watch of one named object starts after the version shown.
					lastRV = kube.MetaOf(tb.Rows[0]).ResourceVersion
				}
			}
		}
		if table != nil && len(table.ColumnDefinitions) > 0 {
			columns = table.ColumnDefinitions
		}
		if table == nil || len(table.Rows) == 0 {
			continue
		}
		if opts.SortBy != "" {
			if err := sortRows(table.Rows, opts.SortBy); err != nil {
				return err
			}
		}
		topts := tableOptions(opts, t, wide)
		if len(targets) > 1 {
			topts.KindPrefix = t.Resource.Qualified()
		}
		if opts.Watch && opts.WatchEvents {
			topts.EventType = "ADDED"
		}
		if printed > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		if err := printTable(opts.IO.Out, aligned, table, topts); err != nil {
			return err
		}
		printed++
	}
	if printed == 0 && len(failures) == 0 && !opts.Watch && !(opts.IgnoreNotFound && hasNames(targets)) {
		fmt.Fprintln(opts.IO.ErrOut, noResources(targets, ns, opts.AllNamespaces))
	}
	if opts.Watch && len(failures) == 0 {
		t := targets[0]
		name := ""
		if len(t.Names) == 1 {
			name = t.Names[0]
		}
		if opts.WatchOnly {
			// Only what changes from now: a watch without a resource version
			// would start with every existing object.
			sc := ns
			if len(scopes[0].Namespaces) == 1 {
				sc = scopes[0].Namespaces[0]
			}
			rv, err := client.ResourceVersion(ctx, t.Resource, sc, lo)
			if err != nil {
				return err
			}
			lastRV = rv
		}
		headerDone := printed > 0 || opts.NoHeaders
		wlo := lo
		wlo.Include = tableInclude(opts, t, scopes[0])
		err := client.WatchTable(ctx, t.Resource, ns, name, lastRV, wlo, func(ev kube.TableEvent) error {
			if len(ev.Object.ColumnDefinitions) == 0 {
				ev.Object.ColumnDefinitions = columns
			} else {
				columns = ev.Object.ColumnDefinitions
			}
			o := tableOptions(opts, t, wide)
			o.NoHeaders = headerDone
			if opts.WatchEvents {
				o.EventType = ev.Type
			}
			if ev.Object.Rows = keepRows(ev.Object.Rows, scopes[0].Keep); len(ev.Object.Rows) == 0 {
				return nil
			}
			headerDone = true
			return printTable(opts.IO.Out, aligned, &ev.Object, o)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return ctx.Err()
	}
	return errs.Join(failures)
}

// tableInclude is the least of each row's object that a table of t needs
// beside the server's cells: nothing for the plain columns (most of a
// Table response is otherwise per-row metadata the table never shows),
// metadata for the namespace column of -A, labels (--show-labels, -L), the
// policy's filter by name and the resource version a watch of one named
// object starts after, and the whole object for --sort-by on anything but
// metadata.
func tableInclude(opts *Options, t kube.Target, sc enforce.Scope) kube.Include {
	switch {
	case opts.SortBy != "" && !sortsOnMetadata(opts.SortBy):
		return kube.IncludeObject
	case opts.SortBy != "",
		opts.AllNamespaces && t.Resource.Namespaced,
		opts.ShowLabels, len(opts.LabelColumns) > 0,
		sc.Keep != nil,
		opts.Watch && len(t.Names) > 0:
		return kube.IncludeMetadata
	}
	return kube.IncludeNone
}

func tableOptions(opts *Options, t kube.Target, wide bool) printers.TableOptions {
	return printers.TableOptions{
		Wide:          wide,
		NoHeaders:     opts.NoHeaders,
		WithNamespace: opts.AllNamespaces && t.Resource.Namespaced,
		ShowLabels:    opts.ShowLabels,
		LabelColumns:  opts.LabelColumns,
	}
}

func printTable(w io.Writer, aligned *printers.Aligned, t *metav1.Table, o printers.TableOptions) error {
	header, rows := printers.TableRows(t, o,
		func(r metav1.TableRow) string { return kube.MetaOf(r).Namespace },
		kube.LabelsOf)
	if o.NoHeaders {
		header = nil
	}
	if aligned != nil {
		return aligned.Print(header, rows)
	}
	return printers.Print(w, header, rows)
}

func noResources(targets []kube.Target, ns string, all bool) string {
	if all || !targets[0].Resource.Namespaced {
		return "No resources found"
	}
	return fmt.Sprintf("No resources found in %s namespace.", ns)
}

func getObjects(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, ns string, lo kube.ListOptions, output string, p cliprinters.ResourcePrinter) error {
	_, isName := p.(*cliprinters.NamePrinter)
	if isName && !opts.Watch && !opts.WatchOnly && !hasNames(targets) && opts.SortBy == "" {
		lo.ChunkSize = smallItemsChunk(opts)
		return getNames(ctx, opts, client, targets, scopes, lo)
	}
	op, isObjects := printers.NewObjects(opts.IO.Out, output)
	if isObjects {
		op.OmitManagedFields = true
	}
	single := len(targets) == 1 && len(targets[0].Names) == 1
	var failures []error
	switch {
	case opts.WatchOnly:
	case isObjects && opts.SortBy == "":
		// Streamed: one response unless --chunk-size (README "Pages").
		lo.ChunkSize = smallItemsChunk(opts)
		var err error
		if failures, err = streamObjects(ctx, opts, client, targets, scopes, ns, lo, op, single); err != nil {
			return err
		}
	default:
		items, fails, err := fetchObjects(ctx, opts, client, targets, scopes, ns, lo)
		if err != nil {
			return err
		}
		failures = fails
		if err := printObjects(opts, items, failures, single, op, p, isName); err != nil {
			return err
		}
	}
	if opts.Watch && len(failures) == 0 {
		print := func(o *unstructured.Unstructured) error { return p.PrintObj(o, opts.IO.Out) }
		if isObjects {
			print = func(o *unstructured.Unstructured) error {
				raw, err := o.MarshalJSON()
				if err != nil {
					return err
				}
				return op.Object(raw, "", "")
			}
		}
		return watchObjects(ctx, opts, client, targets[0], scopes[0], ns, lo, print)
	}
	return errs.Join(failures)
}

// streamObjects prints -o json/yaml straight from the API server's pages:
// each item goes from the response's bytes to the output, so memory is
// bounded by a page (--chunk-size), not by the list.
func streamObjects(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, ns string, lo kube.ListOptions, p *printers.Objects, single bool) ([]error, error) {
	var failures []error
	get := func(t kube.Target, name string) ([]byte, error) {
		raw, err := client.GetRaw(ctx, t.Resource, ns, name)
		if apierrors.IsNotFound(err) {
			if !opts.IgnoreNotFound {
				failures = append(failures, err)
			}
			return nil, nil
		}
		return raw, err
	}
	if single {
		raw, err := get(targets[0], targets[0].Names[0])
		if err != nil || raw == nil {
			return failures, err
		}
		return failures, p.Object(raw, "", "")
	}
	// The list is written from its first item on; with failures and no
	// item, nothing is printed.
	p.BeginList()
	for i, t := range targets {
		if len(t.Names) == 0 {
			sc := scopes[i]
			for _, sns := range sc.Namespaces {
				apiVersion := t.Resource.GVR.GroupVersion().String()
				err := kube.StreamPages(ctx, client, t.Resource, sns, lo, func(body io.Reader) (string, error) {
					l, err := p.StreamList(body, apiVersion, t.Resource.Kind, sc.Keep)
					if printers.Malformed(err) {
						return "", fmt.Errorf("reading the list of %s: %w", t.Resource.GVR.Resource, err)
					}
					if err != nil {
						return "", err
					}
					return l.Continue, nil
				})
				if err != nil {
					return failures, err
				}
			}
			continue
		}
		for _, name := range t.Names {
			raw, err := get(t, name)
			if err != nil {
				return failures, err
			}
			if raw != nil {
				if err := p.Item(raw, "", ""); err != nil {
					return failures, err
				}
			}
		}
	}
	if p.Listed() > 0 || len(failures) == 0 {
		return failures, p.EndList()
	}
	return failures, nil
}

// fetchObjects gets the targets' objects whole: the lists within each
// scope and the named objects (a missing one is a failure, unless
// --ignore-not-found).
func fetchObjects(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, ns string, lo kube.ListOptions) ([]unstructured.Unstructured, []error, error) {
	var items []unstructured.Unstructured
	var failures []error
	for i, t := range targets {
		if len(t.Names) == 0 {
			l, err := scopes[i].List(ctx, client, t.Resource, lo)
			if err != nil {
				return nil, nil, err
			}
			items = append(items, l...)
			continue
		}
		for _, name := range t.Names {
			o, err := client.Get(ctx, t.Resource, ns, name)
			if err != nil {
				if apierrors.IsNotFound(err) {
					if !opts.IgnoreNotFound {
						failures = append(failures, err)
					}
					continue
				}
				return nil, nil, err
			}
			items = append(items, *o)
		}
	}
	if opts.SortBy != "" {
		if err := sortItems(items, opts.SortBy); err != nil {
			return nil, nil, err
		}
	}
	return items, failures, nil
}

// printObjects prints whole objects: one named object as itself, -o name
// line by line, others as a List.
func printObjects(opts *Options, items []unstructured.Unstructured, failures []error, single bool, op *printers.Objects, p cliprinters.ResourcePrinter, isName bool) error {
	switch {
	case single && len(items) == 1 && op != nil:
		raw, err := items[0].MarshalJSON()
		if err != nil {
			return err
		}
		return op.Object(raw, "", "")
	case single && len(items) == 1:
		return p.PrintObj(&items[0], opts.IO.Out)
	case isName:
		for i := range items {
			if err := p.PrintObj(&items[i], opts.IO.Out); err != nil {
				return err
			}
		}
	case len(items) == 0 && len(failures) > 0:
	case op != nil:
		op.BeginList()
		for i := range items {
			raw, err := items[i].MarshalJSON()
			if err != nil {
				return err
			}
			if err := op.Item(raw, "", ""); err != nil {
				return err
			}
		}
		return op.EndList()
	default:
		list := &unstructured.UnstructuredList{Object: map[string]any{
			"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""},
		}}
		list.Items = items
		if list.Items == nil {
			list.Items = []unstructured.Unstructured{}
		}
		return p.PrintObj(list, opts.IO.Out)
	}
	return nil
}

// watchObjects prints each change of t's objects in the scope, whole.
func watchObjects(ctx context.Context, opts *Options, client *kube.Client, t kube.Target, sc enforce.Scope, ns string, lo kube.ListOptions, print func(*unstructured.Unstructured) error) error {
	lopts := metav1.ListOptions{LabelSelector: lo.LabelSelector, FieldSelector: lo.FieldSelector}
	if len(t.Names) == 1 {
		lopts.FieldSelector = joinSel(lopts.FieldSelector, "metadata.name="+t.Names[0])
	}
	var ri dynamic.ResourceInterface = client.Dynamic().Resource(t.Resource.GVR)
	if t.Resource.Namespaced && ns != "" {
		ri = client.Dynamic().Resource(t.Resource.GVR).Namespace(ns)
	}
	watcher, err := ri.Watch(ctx, lopts)
	if err != nil {
		return err
	}
	defer watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type == watch.Error {
				return apierrors.FromObject(ev.Object)
			}
			if !keepObject(ev.Object, sc.Keep) {
				continue
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			if err := print(u); err != nil {
				return err
			}
		}
	}
}

// smallItemsChunk is the page size of a list whose items are small (table
// rows without their object, metadata for -o name): one response unless
// --chunk-size was given. At 10,000 running pods on kube-apiserver 1.36 a
// table took 183 ms in one response against 1,157 ms in pages of 500
// (make bench -scenarios pages, README "Pages").
func smallItemsChunk(opts *Options) int64 {
	if opts.ChunkSizeSet {
		return opts.ChunkSize
	}
	return 0
}

// getNames prints TYPE/NAME lines from metadata-only lists: -o name for
// scripts, without fetching whole objects.
func getNames(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, lo kube.ListOptions) error {
	w := bufio.NewWriter(opts.IO.Out)
	for i, t := range targets {
		l, err := scopes[i].Names(ctx, client, t.Resource, lo)
		if err != nil {
			return err
		}
		for _, m := range l {
			w.WriteString(t.Resource.Qualified())
			w.WriteByte('/')
			w.WriteString(m.Name)
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

func joinSel(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

func objectPrinter(output string) (cliprinters.ResourcePrinter, error) {
	pf := genericclioptions.NewPrintFlags("")
	pf.OutputFormat = &output
	p, err := pf.ToPrinter()
	if err != nil {
		if genericclioptions.IsNoCompatiblePrinterError(err) {
			return nil, errs.UsageErrorf("unsupported output format %q: use wide, json, yaml, name, jsonpath=TEMPLATE or go-template=TEMPLATE", output)
		}
		return nil, errs.WithKind(errs.KindUsage, err)
	}
	return p, nil
}

// getCustom prints -o custom-columns from whole objects.
func getCustom(ctx context.Context, opts *Options, client *kube.Client, targets []kube.Target, scopes []enforce.Scope, ns string, lo kube.ListOptions, cols []column) error {
	if opts.Watch {
		return errs.UsageErrorf("-o custom-columns cannot be combined with --watch")
	}
	items, failures, err := fetchObjects(ctx, opts, client, targets, scopes, ns, lo)
	if err != nil {
		return err
	}
	if len(items) == 0 && len(failures) == 0 {
		if !(opts.IgnoreNotFound && hasNames(targets)) {
			fmt.Fprintln(opts.IO.ErrOut, noResources(targets, ns, opts.AllNamespaces))
		}
		return nil
	}
	header, rows := customRows(cols, items)
	if opts.NoHeaders {
		header = nil
	}
	if len(rows) > 0 {
		if err := printers.Print(opts.IO.Out, header, rows); err != nil {
			return err
		}
	}
	return errs.Join(failures)
}
