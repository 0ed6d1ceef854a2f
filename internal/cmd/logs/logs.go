// Package logs implements `kgate logs`: one pod or many, streamed, resumed
// when a followed stream breaks.
package logs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Options are what `kgate logs` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	// Access is the policy check (enforce.Access): the request is
	// asked about before any reaches the cluster.
	Access *enforce.Access

	Target        string
	Selector      string
	Container     string
	AllContainers bool
	Follow        bool
	Tail          int64
	Since         time.Duration
	SinceTime     string
	Timestamps    bool
	Previous      bool
	LimitBytes    int64
	Prefix        bool
	// PrefixSet reports whether --prefix was given: --prefix=false turns
	// off the prefix that several streams otherwise get.
	PrefixSet      bool
	MaxLogRequests int
	Color          string
	// ResumeWindow is how long a broken follow keeps trying; zero means
	// the config's logs.resumeWindow.
	ResumeWindow time.Duration
	Config       func() (*config.Config, error)

	sinceTime *metav1.Time
}

// NewCmdLogs returns `kgate logs`; runF replaces the run step in tests.
func NewCmdLogs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Namespace: f.Namespace, Config: f.Config, Access: f.Access()}
	cmd := &cobra.Command{
		Use:   "logs (POD | TYPE/NAME | -l SELECTOR) [flags]",
		Short: "Print or follow the logs of one pod or many",
		Long: `Print the logs of a container, with kubectl's flags. Unlike kubectl, a
deployment, statefulset, replicaset, daemonset, job or service (TYPE/NAME) or
a label selector (-l) shows the logs of every one of its pods, each line
prefixed with [pod/NAME/CONTAINER] and, on a terminal, coloured per pod.

With -f, pods that appear later are picked up and pods that go away are
dropped, without restarting the command; a stream that breaks (an API server
restart, a reset connection) resumes where it stopped, with no line repeated
or lost.`,
		Example: `  # the logs of a pod's default container
  kgate logs web-7d4b9c-abcde

  # follow every pod of a deployment, all containers
  kgate logs -f deploy/web --all-containers

  # the last 20 lines of every pod labelled app=web, with timestamps
  kgate logs -l app=web --tail 20 --timestamps

  # the previous (crashed) instance of a container
  kgate logs web-7d4b9c-abcde -c app --previous`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && opts.Selector == "":
				return errs.UsageErrorf("logs needs a pod, TYPE/NAME or -l SELECTOR")
			case len(args) > 1:
				return errs.UsageErrorf("logs takes one pod or TYPE/NAME; to read several, use -l SELECTOR or a workload (deploy/NAME)")
			case len(args) == 1 && opts.Selector != "":
				return errs.UsageErrorf("a pod or TYPE/NAME cannot be combined with -l")
			}
			if len(args) == 1 {
				opts.Target = args[0]
			}
			opts.PrefixSet = cmd.Flags().Changed("prefix")
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return logsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Label selector: the logs of every matching pod")
	fl.StringVarP(&opts.Container, "container", "c", "", "Container name (default: the pod's default container)")
	fl.BoolVar(&opts.AllContainers, "all-containers", false, "The logs of every container of the pods")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "Keep streaming new lines")
	fl.Int64Var(&opts.Tail, "tail", -1, "Lines of recent log to show; -1 shows everything (10 with -l, as kubectl)")
	fl.DurationVar(&opts.Since, "since", 0, "Only lines newer than this duration, e.g. 5s, 2m, 3h")
	fl.StringVar(&opts.SinceTime, "since-time", "", "Only lines after this RFC3339 time")
	fl.BoolVar(&opts.Timestamps, "timestamps", false, "Prefix each line with its RFC3339 timestamp")
	// kubectl's -p for --previous would clash with kgate's global -p/--project.
	fl.BoolVar(&opts.Previous, "previous", false, "The logs of the previous instance of the container")
	fl.Int64Var(&opts.LimitBytes, "limit-bytes", 0, "Stop after this many bytes of each log")
	fl.BoolVar(&opts.Prefix, "prefix", false, "Prefix each line with [pod/NAME/CONTAINER] (default: on for several streams; --prefix=false prints raw lines)")
	fl.IntVar(&opts.MaxLogRequests, "max-log-requests", 50, "The most log streams to follow at once")
	fl.StringVar(&opts.Color, "color", "auto", "Colour the prefixes per pod: auto (on a terminal), always or never")
	return cmd
}

func (o *Options) validate(cmd *cobra.Command) error {
	if o.Since != 0 && o.SinceTime != "" {
		return errs.UsageErrorf("--since and --since-time cannot be used together")
	}
	if o.Since < 0 {
		return errs.UsageErrorf("--since must be positive")
	}
	if o.SinceTime != "" {
		t, err := time.Parse(time.RFC3339, o.SinceTime)
		if err != nil {
			return errs.UsageErrorf("--since-time must be an RFC3339 time such as 2026-11-22T10:00:00Z: %v", err)
		}
		mt := metav1.NewTime(t)
		o.sinceTime = &mt
	}
	if o.LimitBytes < 0 {
		return errs.UsageErrorf("--limit-bytes must be positive")
	}
	if o.Tail < -1 {
		return errs.UsageErrorf("--tail must be -1 or more")
	}
	if o.MaxLogRequests < 1 {
		return errs.UsageErrorf("--max-log-requests must be at least 1")
	}
	if o.AllContainers && o.Container != "" {
		return errs.UsageErrorf("--all-containers and --container cannot be used together")
	}
	if o.Selector != "" && !cmd.Flags().Changed("tail") {
		o.Tail = 10
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return errs.UsageErrorf("--color must be auto, always or never")
	}
	return nil
}

// prefixFor reports whether lines of n streams are prefixed: as --prefix
// says when given, else when there are several.
func (o *Options) prefixFor(n int) bool {
	if o.PrefixSet {
		return o.Prefix
	}
	return n > 1
}

func (o *Options) colorOn() bool {
	switch o.Color {
	case "always":
		return true
	case "never":
		return false
	}
	return o.IO.ColorEnabled()
}

// podOptions are the log options of the first request of a stream.
func (o *Options) podOptions(container string) *corev1.PodLogOptions {
	po := &corev1.PodLogOptions{
		Container: container, Follow: o.Follow, Previous: o.Previous,
		Timestamps: true, SinceTime: o.sinceTime,
	}
	if o.Tail >= 0 {
		t := o.Tail
		po.TailLines = &t
	}
	if o.Since > 0 {
		s := int64(o.Since.Round(time.Second).Seconds())
		if s == 0 {
			s = 1
		}
		po.SinceSeconds = &s
	}
	if o.LimitBytes > 0 {
		l := o.LimitBytes
		po.LimitBytes = &l
	}
	return po
}

func logsRun(ctx context.Context, o *Options) error {
	if o.ResumeWindow == 0 && o.Config != nil {
		if cfg, err := o.Config(); err == nil {
			o.ResumeWindow = cfg.Logs.ResumeWindow
		}
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	name := o.Target
	if o.Selector != "" {
		name = ""
	}
	r, _ := kube.Lookup("pods")
	if o.Target != "" {
		if kind, n, ok := strings.Cut(o.Target, "/"); ok {
			if r, err = kube.Lookup(kind); err != nil {
				return err
			}
			name = n
		}
	}
	// The check names what the user typed; its pods are found only if allowed.
	if ctx, err = o.Access.Authorize(ctx, logsRequest(r, ns, name)); err != nil {
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
	out := newOutput(o.IO.Out, o.colorOn())

	// One pod: its containers.
	if o.Target != "" && r.GVR.Resource == "pods" {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		containers, err := o.containersOf(pod, true)
		if err != nil {
			return err
		}
		prefix := o.prefixFor(len(containers))
		if len(containers) == 1 && !prefix && !o.Follow {
			return copyOne(ctx, cs, pod, containers[0], o)
		}
		s := newStreamer(cs, o, out, prefix)
		return s.runPods(ctx, []corev1.Pod{*pod})
	}

	// Many pods: a workload's or a selector's.
	selector := o.Selector
	if o.Target != "" {
		sel, err := client.PodSelector(ctx, r, ns, name)
		if err != nil {
			return err
		}
		selector = sel.String()
	}
	s := newStreamer(cs, o, out, o.prefixFor(2))
	if o.Follow {
		return s.follow(ctx, ns, selector)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		return nil
	}
	return s.runPods(ctx, pods.Items)
}

// logsRequest is the policy request for the logs of name of kind r (every
// pod of the namespace when name is empty): the pod's log subresource, or
// the workload itself for TYPE/NAME, so that a denial and its audit line
// name what the user typed.
func logsRequest(r kube.Resource, ns, name string) policy.Request {
	req := policy.Request{Verb: policy.VerbLogs, Resource: r.GVR.Resource, Namespace: ns, Name: name}
	if r.GVR.Resource == "pods" {
		req.Subresource = "log"
	}
	return req
}

// containersOf returns the containers to read of pod. explicit reports
// whether the pod was named (then kgate says which container it defaulted to).
func (o *Options) containersOf(pod *corev1.Pod, explicit bool) ([]string, error) {
	if o.AllContainers {
		var n []string
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				n = append(n, c.Name) // sidecars
			}
		}
		for _, c := range pod.Spec.Containers {
			n = append(n, c.Name)
		}
		return n, nil
	}
	if o.Container != "" {
		for _, c := range append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...) {
			if c.Name == o.Container {
				return []string{c.Name}, nil
			}
		}
		return nil, errs.NotFoundErrorf("container %q not found in pod %q; its containers are: %s", o.Container, pod.Name, names(pod))
	}
	if d := pod.Annotations["kubectl.kubernetes.io/default-container"]; d != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == d {
				return []string{d}, nil
			}
		}
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %q has no containers", pod.Name)
	}
	first := pod.Spec.Containers[0].Name
	if explicit && len(pod.Spec.Containers) > 1 {
		fmt.Fprintf(o.IO.ErrOut, "Defaulted container %q out of: %s\n", first, names(pod))
	}
	return []string{first}, nil
}

func names(p *corev1.Pod) string {
	var n []string
	for _, c := range p.Spec.Containers {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}
