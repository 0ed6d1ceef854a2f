// Package attach implements `kgate attach`: exec's streams, terminal and
// transports, to the container's main process instead of a new command.
package attach

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubectl/pkg/cmd/util/podcmd"

	execcmd "github.com/kgate/kgate/internal/cmd/exec"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/tty"
)

// Options are what `kgate attach` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	Access     *enforce.Access
	Executor   execcmd.RemoteExecutor
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds    *kube.Kinds
	Terminal func() *tty.Terminal

	Target            string
	Container         string
	Stdin             bool
	TTY               bool
	Quiet             bool
	Transport         string
	PodRunningTimeout time.Duration
}

// NewCmdAttach returns `kgate attach`; runF replaces the run step in tests.
func NewCmdAttach(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kinds: f.Kinds, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(),
		Executor: execcmd.DefaultExecutor{}, Terminal: func() *tty.Terminal { return tty.New(os.Stdin) }}
	cmd := &cobra.Command{
		Use:   "attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t]",
		Short: "Attach to the main process of a running container (admins only)",
		Long: `Attach to the process already running in a container and stream its output,
as kubectl attach does; -i passes your stdin to it, -t your terminal (raw mode,
resized with your window) when the container has one.

With -i -t, Ctrl-C is a keystroke for the process; the session ends when the
process exits (exit 0, with how to attach again). Otherwise Ctrl-C detaches
(exit 130), and the end of stdin detaches (exit 0); the process goes on.

TYPE/NAME picks a running pod of a deployment, statefulset, replicaset,
daemonset, job or service. The container is -c, else the pod's
kubectl.kubernetes.io/default-container annotation, else its first container.`,
		Example: `  # follow the output of a pod's main process
  kgate attach web-7d4b9c-abcde

  # an interactive session with the process of container app
  kgate attach -it deploy/web -c app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.UsageErrorf("attach takes exactly one pod (or TYPE/NAME)")
			}
			opts.Target = args[0]
			if opts.Transport == "" {
				opts.Transport = os.Getenv("KGATE_EXEC_TRANSPORT")
			}
			switch opts.Transport {
			case "", execcmd.TransportAuto:
				opts.Transport = execcmd.TransportAuto
			case execcmd.TransportWebSocket, execcmd.TransportSPDY:
			default:
				return errs.UsageErrorf("--transport must be auto, websocket or spdy, not %q", opts.Transport)
			}
			if runF != nil {
				return runF(opts)
			}
			return attachRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Container, "container", "c", "", "Container name (default: the pod's default container)")
	fl.BoolVarP(&opts.Stdin, "stdin", "i", false, "Pass stdin to the container")
	fl.BoolVarP(&opts.TTY, "tty", "t", false, "Stdin is a terminal")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "Print only what the container prints")
	fl.StringVar(&opts.Transport, "transport", "", "Stream protocol: auto (WebSocket, then SPDY), websocket or spdy [$KGATE_EXEC_TRANSPORT]")
	fl.DurationVar(&opts.PodRunningTimeout, "pod-running-timeout", time.Minute, "How long to wait for a pod of TYPE/NAME to be running")
	completion.Pod(cmd, f, policy.VerbExec, "attach", completion.HasPods)
	_ = cmd.RegisterFlagCompletionFunc("container", completion.Containers(f))
	_ = cmd.RegisterFlagCompletionFunc("transport", completion.Fixed("auto", "websocket", "spdy"))
	return cmd
}

func attachRun(ctx context.Context, o *Options) error {
	r, name, err := kube.ParseTargetIn(o.Kinds, o.Target)
	if err != nil {
		return err
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	if ctx, err = o.Access.Authorize(ctx, execcmd.StreamRequest("attach", r, ns, name)); err != nil {
		return err
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	pod, err := client.AttachablePod(ctx, r, ns, name, o.PodRunningTimeout)
	if err != nil {
		return err
	}
	return Session{
		IO: o.IO, Client: client, Executor: o.Executor, Terminal: o.Terminal, Pod: pod, Container: o.Container,
		Stdin: o.Stdin, TTY: o.TTY, Quiet: o.Quiet, Transport: o.Transport,
	}.Run(ctx)
}

// Session is one attach to a container of a pod (kgate debug attaches too).
type Session struct {
	IO        *iostreams.IOStreams
	Client    *kube.Client
	Executor  execcmd.RemoteExecutor
	Terminal  func() *tty.Terminal
	Pod       *corev1.Pod
	Container string
	Stdin     bool
	TTY       bool
	Quiet     bool
	Transport string
}

// Run attaches and streams until the process ends, the connection drops or
// ctx ends.
func (s Session) Run(ctx context.Context) error {
	pod := s.Pod
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return errs.UsageErrorf("cannot attach to a container in a completed pod; current phase is %s", pod.Status.Phase)
	}
	container, err := execcmd.FindContainer(pod, s.Container, s.Quiet, s.IO.ErrOut)
	if err != nil {
		return err
	}
	// A terminal is the container's, as kubectl attach takes it: -t on a
	// container without one falls back to plain streams, and a container
	// with one gets -t anyway (its streams are a terminal's).
	useTTY := s.TTY
	if useTTY && !container.TTY {
		useTTY = false
		if !s.Quiet {
			fmt.Fprintf(s.IO.ErrOut, "Unable to use a TTY - container %s did not allocate one\n", container.Name)
		}
	} else if !useTTY && container.TTY {
		useTTY = true
	}
	local, err := execcmd.Streams{IO: s.IO, Terminal: s.Terminal, Stdin: s.Stdin, TTY: useTTY, Quiet: s.Quiet, Prompt: []string{
		"All commands and output from this session will be recorded in container logs, including credentials and sensitive information passed through the command prompt.",
		"If you don't see a command prompt, try pressing enter.",
	}}.Open(ctx)
	if err != nil {
		return err
	}
	defer local.Close()
	so := local.Options
	req := s.Client.REST().Post().AbsPath("/api/v1/namespaces", pod.Namespace, "pods", pod.Name, "attach").
		Param("container", container.Name).
		Param("stdin", fmt.Sprint(s.Stdin)).Param("stdout", "true").
		Param("stderr", fmt.Sprint(!so.Tty)).Param("tty", fmt.Sprint(so.Tty))
	err = s.Executor.Execute(ctx, s.Client.Config, s.Transport, req.URL(), so)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, execcmd.ErrConnectionLost) {
		pods, _ := kube.Lookup("pods")
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, perr := s.Client.Get(pctx, pods, pod.Namespace, pod.Name)
		return execcmd.SessionLost(err, perr)
	}
	if err != nil {
		return err
	}
	if local.Raw {
		local.Close()
		if !s.Quiet {
			fmt.Fprintln(s.IO.Out, reattachMessage(pod, container.Name))
		}
	}
	return nil
}

// reattachMessage is what kubectl attach prints when an interactive session
// ends (the process exited, or its stdin closed): how to come back.
func reattachMessage(pod *corev1.Pod, container string) string {
	if _, path := podcmd.FindContainerByName(pod, container); strings.HasPrefix(path, "spec.ephemeralContainers") {
		return fmt.Sprintf("Session ended, the ephemeral container will not be restarted but may be reattached using 'kgate attach %s -c %s -n %s -i -t' if it is still running", pod.Name, container, pod.Namespace)
	}
	return fmt.Sprintf("Session ended, resume using 'kgate attach %s -c %s -n %s -i -t' command when the pod is running", pod.Name, container, pod.Namespace)
}
