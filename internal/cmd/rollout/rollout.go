// Package rollout implements `kgate rollout`: status, history, restart,
// undo, pause and resume of deployments, statefulsets and daemonsets, with
// kubectl's own status and history viewers, restarter, pauser and rollbacker
// (k8s.io/kubectl/pkg/polymorphichelpers).
package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/kubectl/pkg/scheme"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Verbs the policy is asked about; anything but get needs admin.
const (
	VerbRestart = "restart"
	VerbUndo    = "undo"
	VerbPause   = "pause"
	VerbResume  = "resume"
)

// Options are what every `kgate rollout` subcommand needs.
type Options struct {
	IO         *iostreams.IOStreams
	RESTConfig func() (*rest.Config, error)
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds  *kube.Kinds
	Output func() (string, error)
	Access *enforce.Access

	// Action is the subcommand: status, history, restart, undo, pause, resume.
	Action     string
	Args       []string
	Selector   string
	Watch      bool
	Revision   int64
	ToRevision int64
	Timeout    time.Duration
	DryRun     string
	Yes        bool
}

// NewCmdRollout returns `kgate rollout` with its subcommands; runF replaces
// the run step of each in tests.
func NewCmdRollout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "Manage the rollout of deployments, statefulsets and daemonsets",
		Long: `Manage the rollout of deployments, statefulsets and daemonsets, as kubectl
rollout does: follow its status, list its revisions (guests), restart it, roll
it back, pause and resume it (admins).`,
		Example: `  # restart a deployment and wait until its new pods are ready
  kgate rollout restart deploy/web && kgate rollout status deploy/web

  # its revisions, then back to the previous one
  kgate rollout history deploy/web
  kgate rollout undo deploy/web`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errs.UsageErrorf("rollout needs a subcommand: status, history, restart, undo, pause or resume")
		},
	}
	for _, c := range []*cobra.Command{
		newSub(f, runF, "status", "status (TYPE/NAME | TYPE NAME)",
			"Follow a rollout until it is done",
			`Show the status of the latest rollout of a deployment, statefulset or daemonset
and, by default, follow it until it is done, as kubectl rollout status does.
The exit code is 0 when the rollout is done, 1 when it failed (a deployment
past its progress deadline), timed out (--timeout) or the object went away.
--watch=false prints the status once. Guests may do this.`,
			`  # wait until the rollout of a deployment is done, at most two minutes
  kgate rollout status deploy/web --timeout=2m

  # the status now, without waiting
  kgate rollout status sts/db --watch=false`),
		newSub(f, runF, "history", "history (TYPE/NAME | TYPE NAME)",
			"List the revisions of a rollout",
			`List the revisions of a deployment, statefulset or daemonset with their change
causes, or show one revision's pod template with --revision, as kubectl rollout
history does. Guests may do this.`,
			`  # the revisions of a deployment
  kgate rollout history deploy/web

  # the pod template of revision 3
  kgate rollout history deploy/web --revision=3`),
		newSub(f, runF, "restart", "restart (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR)",
			"Restart deployments, statefulsets or daemonsets (admins only)",
			`Restart a workload: its pod template gets a new
kubectl.kubernetes.io/restartedAt annotation, so its controller replaces every
pod in a rolling update, as kubectl rollout restart does. Follow it with
kgate rollout status.`,
			`  # restart a deployment
  kgate rollout restart deploy/web

  # every daemonset labelled tier=agent, checked by the server but not changed
  kgate rollout restart ds -l tier=agent --dry-run=server`),
		newSub(f, runF, "undo", "undo (TYPE/NAME | TYPE NAME) [--to-revision=N]",
			"Roll back to an earlier revision (admins only)",
			`Roll a deployment, statefulset or daemonset back to its previous revision, or
to --to-revision, as kubectl rollout undo does. kgate asks for confirmation on
a terminal; a script must pass --yes. --dry-run=client prints the pod template
it would roll back to.`,
			`  # back to the previous revision
  kgate rollout undo deploy/web

  # back to revision 2, from a script
  kgate rollout undo deploy/web --to-revision=2 --yes`),
		newSub(f, runF, "pause", "pause (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR)",
			"Pause the rollout of deployments (admins only)",
			`Mark deployments as paused: changes to their pod templates start no rollout
until they are resumed, as kubectl rollout pause does.`,
			`  # pause a deployment, change it, resume it
  kgate rollout pause deploy/web
  kgate rollout resume deploy/web`),
		newSub(f, runF, "resume", "resume (TYPE/NAME... | TYPE NAME... | TYPE -l SELECTOR)",
			"Resume paused deployments (admins only)",
			`Resume paused deployments, so that the changes made meanwhile roll out, as
kubectl rollout resume does.`,
			`  # resume a deployment
  kgate rollout resume deploy/web`),
	} {
		cmd.AddCommand(c)
	}
	return cmd
}

func newSub(f *cmdutil.Factory, runF func(*Options) error, action, use, short, long, example string) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kinds: f.Kinds, RESTConfig: f.RESTConfig, KubeClient: f.KubeClient, Namespace: f.Namespace,
		Output: f.OutputFormat(), Access: f.Access(), Action: action}
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if len(args) == 0 {
				return errs.UsageErrorf("rollout %s needs a deployment, statefulset or daemonset: kgate rollout %s deploy/NAME", action, action)
			}
			switch opts.DryRun {
			case "none", "":
				opts.DryRun = ""
			case "server", "client":
			default:
				return errs.UsageErrorf("--dry-run must be none, client or server, not %q", opts.DryRun)
			}
			if opts.Revision < 0 || opts.ToRevision < 0 {
				return errs.UsageErrorf("a revision is a positive number")
			}
			if runF != nil {
				return runF(opts)
			}
			return rolloutRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	switch action {
	case "status":
		fl.BoolVarP(&opts.Watch, "watch", "w", true, "Follow the rollout until it is done")
		fl.Int64Var(&opts.Revision, "revision", 0, "Follow this revision; fail if another one replaces it")
		fl.DurationVar(&opts.Timeout, "timeout", 0, "How long to wait (0: no limit)")
	case "history":
		fl.Int64Var(&opts.Revision, "revision", 0, "Show the pod template of this revision")
	case "undo":
		fl.Int64Var(&opts.ToRevision, "to-revision", 0, "The revision to roll back to (default: the previous one)")
		fl.BoolVarP(&opts.Yes, "yes", "y", false, "Do not ask for confirmation")
	}
	if action == "restart" || action == "pause" || action == "resume" {
		fl.StringVarP(&opts.Selector, "selector", "l", "", "Act on every object of TYPE matching this label selector")
	}
	if action != "status" && action != "history" {
		fl.StringVar(&opts.DryRun, "dry-run", "none", "none, client (print only) or server (the API server checks, nothing changes)")
	}
	completion.Objects(cmd, f, verbOf(action), completion.Only(kinds(action)...))
	if action != "status" && action != "history" {
		_ = cmd.RegisterFlagCompletionFunc("dry-run", completion.Fixed("none", "client", "server"))
	}
	if action == "restart" || action == "pause" || action == "resume" {
		completion.NoFiles(cmd, "selector")
	}
	return cmd
}

// kinds are the kinds each action handles.
func kinds(action string) []string {
	if action == "pause" || action == "resume" {
		return []string{"deployments"}
	}
	return []string{"deployments", "statefulsets", "daemonsets"}
}

func verbOf(action string) string {
	switch action {
	case "status", "history":
		return policy.VerbGet
	}
	return action
}

func rolloutRun(ctx context.Context, o *Options) error {
	output, err := o.Output()
	if err != nil {
		return err
	}
	if output != "" && output != "name" {
		return errs.UsageErrorf("rollout %s prints -o name or its usual text, not %q", o.Action, output)
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	allowed := kinds(o.Action)
	ctx, targets, err := o.Access.ChangeTargets(ctx, o.Kinds, verbOf(o.Action), o.Args, o.Selector, ns, o.KubeClient, func(r kube.Resource) error {
		if r.GVR.Group != "apps" || !slices.Contains(allowed, r.GVR.Resource) {
			return errs.UsageErrorf("rollout %s handles %s, not %s", o.Action, strings.Join(allowed, ", "), kube.Qualified(r))
		}
		return nil
	})
	if err != nil {
		return err
	}
	single := o.Action == "status" || o.Action == "history" || o.Action == "undo"
	if single && len(targets) != 1 {
		return errs.UsageErrorf("rollout %s takes exactly one object", o.Action)
	}
	if len(targets) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		return nil
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	rc, err := o.RESTConfig()
	if err != nil {
		return err
	}
	getter := kube.RESTGetter{Config: kube.WithAuditID(ctx, rc), Namespace: ns}
	switch o.Action {
	case "status":
		return status(ctx, o, client, ns, targets[0])
	case "history":
		return history(ctx, o, client, getter, ns, targets[0], output)
	case "undo":
		return undo(ctx, o, client, getter, ns, targets[0], output)
	}
	var failures []error
	for _, t := range targets {
		if err := patchOne(ctx, o, client, ns, t, output); err != nil {
			if apierrors.IsNotFound(err) || isPatchRefusal(err) {
				failures = append(failures, err)
				continue
			}
			return err
		}
	}
	return errs.Join(failures)
}

// typed reads a workload as its typed object, which kubectl's helpers need.
func typed(ctx context.Context, client *kube.Client, r kube.Resource, ns, name string) (runtime.Object, error) {
	cs, err := client.Typed()
	if err != nil {
		return nil, err
	}
	var obj runtime.Object
	switch r.GVR.Resource {
	case "deployments":
		obj, err = cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	case "statefulsets":
		obj, err = cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	case "daemonsets":
		obj, err = cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	default:
		return nil, errs.UsageErrorf("rollout does not handle %s", r.GVR.Resource)
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

func printName(o *Options, obj runtime.Object, operation, output string) error {
	pf := genericclioptions.NewPrintFlags(operation).WithTypeSetter(scheme.Scheme)
	if output != "" {
		pf.OutputFormat = &output
	}
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(obj, o.IO.Out)
}

type refusal struct{ error }

func isPatchRefusal(err error) bool {
	var r refusal
	return errors.As(err, &r)
}

func dryRunSuffix(d string) string {
	switch d {
	case "client":
		return " (dry run)"
	case "server":
		return " (server dry run)"
	}
	return ""
}

// patchOne restarts, pauses or resumes one workload.
func patchOne(ctx context.Context, o *Options, client *kube.Client, ns string, t enforce.Object, output string) error {
	obj, err := typed(ctx, client, t.Resource, ns, t.Name)
	if err != nil {
		return err
	}
	// kubectl's helpers return the changed object; the patch is the
	// difference, as kubectl computes it.
	orig, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var changed []byte
	op := ""
	switch o.Action {
	case "restart":
		op = "restarted"
		changed, err = polymorphichelpers.ObjectRestarterFn(obj)
	case "pause":
		op = "paused"
		changed, err = polymorphichelpers.ObjectPauserFn(obj)
	case "resume":
		op = "resumed"
		changed, err = polymorphichelpers.ObjectResumerFn(obj)
	}
	if err != nil {
		if strings.Contains(err.Error(), "is already") {
			// kubectl's answer for a deployment already in that state.
			return printName(o, obj, "already "+op, output)
		}
		return refusal{fmt.Errorf("%s/%s: %w", t.Resource.Qualified(), t.Name, err)}
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(orig, changed, obj)
	if err != nil {
		return fmt.Errorf("%s/%s: computing the patch: %w", t.Resource.Qualified(), t.Name, err)
	}
	if o.DryRun != "client" {
		po := metav1.PatchOptions{}
		if o.DryRun == "server" {
			po.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := client.Dynamic().Resource(t.Resource.GVR).Namespace(ns).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, po); err != nil {
			return err
		}
	}
	return printName(o, obj, op+dryRunSuffix(o.DryRun), output)
}

func status(ctx context.Context, o *Options, client *kube.Client, ns string, t enforce.Object) error {
	viewer, err := polymorphichelpers.StatusViewerFn(t.Resource.Mapping())
	if err != nil {
		return err
	}
	ri := client.Dynamic().Resource(t.Resource.GVR).Namespace(ns)
	// A missing object is an error now, not a wait for it to appear.
	if _, err := ri.Get(ctx, t.Name, metav1.GetOptions{}); err != nil {
		return err
	}
	sel := fields.OneTermEqualSelector("metadata.name", t.Name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			lo.FieldSelector = sel
			return ri.List(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
			lo.FieldSelector = sel
			return ri.Watch(ctx, lo)
		},
	}
	wctx, cancel := watchtools.ContextWithOptionalTimeout(ctx, o.Timeout)
	defer cancel()
	last := ""
	_, err = watchtools.UntilWithSync(wctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Added, watch.Modified:
			msg, done, err := viewer.Status(e.Object.(runtime.Unstructured), o.Revision)
			if err != nil {
				return false, err
			}
			if msg != last {
				fmt.Fprint(o.IO.Out, msg)
				last = msg
			}
			return done || !o.Watch, nil
		case watch.Deleted:
			return true, fmt.Errorf("%s/%s was deleted while its rollout was followed", t.Resource.Qualified(), t.Name)
		}
		return true, fmt.Errorf("unexpected watch event %s", e.Type)
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Ctrl-C.
		return ctx.Err()
	case wctx.Err() != nil:
		return fmt.Errorf("timed out after %s waiting for the rollout of %s/%s to finish", o.Timeout, t.Resource.Qualified(), t.Name)
	}
	return err
}

func history(ctx context.Context, o *Options, client *kube.Client, g kube.RESTGetter, ns string, t enforce.Object, output string) error {
	obj, err := typed(ctx, client, t.Resource, ns, t.Name)
	if err != nil {
		return err
	}
	hv, err := polymorphichelpers.HistoryViewerFn(g, t.Resource.Mapping())
	if err != nil {
		return err
	}
	text, err := hv.ViewHistory(ns, t.Name, o.Revision)
	if err != nil {
		if strings.Contains(err.Error(), "unable to find the specified revision") {
			return errs.NotFoundErrorf("%s/%s has no revision %d", t.Resource.Qualified(), t.Name, o.Revision)
		}
		return err
	}
	if output == "name" {
		return printName(o, obj, "", output)
	}
	with := ""
	if o.Revision > 0 {
		with = fmt.Sprintf("with revision #%d", o.Revision)
	}
	return printName(o, obj, with+"\n"+text, "")
}

func undo(ctx context.Context, o *Options, client *kube.Client, g kube.RESTGetter, ns string, t enforce.Object, output string) error {
	obj, err := typed(ctx, client, t.Resource, ns, t.Name)
	if err != nil {
		return err
	}
	if o.DryRun == "" && !o.Yes {
		to := "its previous revision"
		if o.ToRevision > 0 {
			to = fmt.Sprintf("revision %d", o.ToRevision)
		}
		ok, err := cmdutil.Confirm(ctx, o.IO, fmt.Sprintf("Roll %s/%s in namespace %s back to %s?", t.Resource.Qualified(), t.Name, ns, to), "--yes")
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(o.IO.ErrOut, "Interrupted; nothing was rolled back.")
			}
			return err
		}
		if !ok {
			fmt.Fprintln(o.IO.ErrOut, "Nothing was rolled back.")
			return &errs.ExitCodeError{Code: 1}
		}
	}
	rb, err := polymorphichelpers.RollbackerFn(g, t.Resource.Mapping())
	if err != nil {
		return err
	}
	strategy := kcmdutil.DryRunNone
	switch o.DryRun {
	case "client":
		strategy = kcmdutil.DryRunClient
	case "server":
		strategy = kcmdutil.DryRunServer
	}
	result, err := rb.Rollback(obj, nil, o.ToRevision, strategy)
	if err != nil {
		if strings.Contains(err.Error(), "unable to find specified revision") || strings.Contains(err.Error(), "no rollout history found") {
			return errs.NotFoundErrorf("%s/%s: %v", t.Resource.Qualified(), t.Name, err)
		}
		return err
	}
	if o.DryRun == "client" {
		// The pod template it would roll back to, as kubectl prints it.
		fmt.Fprintln(o.IO.Out, result)
		return nil
	}
	return printName(o, obj, result+dryRunSuffix(o.DryRun), output)
}
