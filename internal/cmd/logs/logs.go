// Package logs implements `kgate logs`: it parses the flags, asks the policy
// and finds the pods; internal/logstream reads and prints their logs.
package logs

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/logstream"
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
	// Streamer reads the logs; nil means logstream.Run.
	Streamer LogStreamer

	sinceTime time.Time
}

// LogStreamer reads logs as cfg says (kubectl's RemoteExecutor is the
// model): logstream.Run, or a recorder in tests.
type LogStreamer interface {
	Stream(ctx context.Context, cs kubernetes.Interface, cfg logstream.Config) error
}

// DefaultStreamer streams with internal/logstream.
type DefaultStreamer struct{}

// Stream implements LogStreamer.
func (DefaultStreamer) Stream(ctx context.Context, cs kubernetes.Interface, cfg logstream.Config) error {
	return logstream.Run(ctx, cs, cfg)
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
	completion.Pod(cmd, f, policy.VerbLogs, "log", completion.HasPods)
	_ = cmd.RegisterFlagCompletionFunc("container", completion.Containers(f))
	_ = cmd.RegisterFlagCompletionFunc("color", completion.Fixed("auto", "always", "never"))
	completion.NoFiles(cmd, "selector", "since-time")
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
		o.sinceTime = t
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

// streamConfig is what the engine needs to read the logs in namespace ns.
func (o *Options) streamConfig(ns string, window time.Duration) logstream.Config {
	prefix := logstream.PrefixAuto
	if o.PrefixSet {
		prefix = logstream.PrefixOff
		if o.Prefix {
			prefix = logstream.PrefixOn
		}
	}
	color := o.Color == "always"
	if o.Color == "auto" {
		color = o.IO.ColorEnabled()
	}
	return logstream.Config{
		Namespace: ns, Container: o.Container, AllContainers: o.AllContainers,
		Follow: o.Follow, Previous: o.Previous, Timestamps: o.Timestamps,
		Tail: o.Tail, Since: o.Since, SinceTime: o.sinceTime, LimitBytes: o.LimitBytes,
		Prefix: prefix, Color: color, MaxLogRequests: o.MaxLogRequests, ResumeWindow: window,
		Out: o.IO.Out, ErrOut: o.IO.ErrOut,
	}
}

func logsRun(ctx context.Context, o *Options) error {
	window := o.ResumeWindow
	if window == 0 && o.Config != nil {
		if cfg, err := o.Config(); err == nil {
			window = cfg.Logs.ResumeWindow
		}
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	r, _ := kube.Lookup("pods")
	name := ""
	if o.Target != "" {
		if r, name, err = kube.ParseTarget(o.Target); err != nil {
			return err
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
	cfg := o.streamConfig(ns, window)
	switch {
	case o.Target == "":
		cfg.Selector = o.Selector
	case r.GVR.Resource == "pods":
		cfg.Pod = name
	default:
		// A workload's or a service's pods.
		sel, err := client.PodSelector(ctx, r, ns, name)
		if err != nil {
			return err
		}
		cfg.Selector = sel.String()
	}
	streamer := o.Streamer
	if streamer == nil {
		streamer = DefaultStreamer{}
	}
	return streamer.Stream(ctx, cs, cfg)
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
