// Package debug implements `kgate debug`: an ephemeral container added to a
// running pod, then attached to, as kubectl debug does.
package debug

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kgate/kgate/internal/cmd/attach"
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

// VerbDebug is what the policy is asked before an ephemeral container is
// added (admin).
const VerbDebug = "debug"

// Options are what `kgate debug` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds    *kube.Kinds
	Access   *enforce.Access
	Executor execcmd.RemoteExecutor
	Terminal func() *tty.Terminal

	Pod        string
	Image      string
	Container  string
	Target     string
	Command    []string
	Stdin      bool
	TTY        bool
	Attach     bool
	PullPolicy string
	Quiet      bool
	Transport  string
	Timeout    time.Duration
}

// NewCmdDebug returns `kgate debug`; runF replaces the run step in tests.
func NewCmdDebug(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kinds: f.Kinds, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(),
		Executor: execcmd.DefaultExecutor{}, Terminal: func() *tty.Terminal { return tty.New(os.Stdin) }}
	cmd := &cobra.Command{
		Use:   "debug POD --image=IMAGE [-it] [-c NAME] [--target=CONTAINER] [-- COMMAND [ARGS...]]",
		Short: "Add a debug container to a running pod and attach to it (admins only)",
		Long: `Add an ephemeral container running IMAGE to a running pod, as kubectl debug
does, and attach to it when -i is given (or --attach). --target shares the
process namespace of one of the pod's containers. An ephemeral container stays
in the pod until the pod is deleted.`,
		Example: `  # a shell in a busybox container next to the pod's own
  kgate debug -it web-7d4b9c-abcde --image=busybox -- sh

  # see the processes of container app
  kgate debug -it web-7d4b9c-abcde --image=busybox --target=app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			pods := args
			if dash >= 0 {
				pods, opts.Command = args[:dash], args[dash:]
			}
			if len(pods) != 1 {
				return errs.UsageErrorf("debug takes exactly one pod: kgate debug POD --image=IMAGE")
			}
			opts.Pod = pods[0]
			if opts.Image == "" {
				return errs.UsageErrorf("--image is required: kgate debug %s --image=IMAGE", opts.Pod)
			}
			if opts.Container != "" {
				if msgs := validation.IsDNS1123Label(opts.Container); len(msgs) > 0 {
					return errs.UsageErrorf("invalid container name %q: %s", opts.Container, msgs[0])
				}
			}
			switch corev1.PullPolicy(opts.PullPolicy) {
			case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
			default:
				return errs.UsageErrorf("--image-pull-policy must be Always, IfNotPresent or Never, not %q", opts.PullPolicy)
			}
			if !cmd.Flags().Changed("attach") {
				opts.Attach = opts.Stdin
			}
			if opts.Transport == "" {
				opts.Transport = os.Getenv("KGATE_EXEC_TRANSPORT")
			}
			if opts.Transport == "" {
				opts.Transport = execcmd.TransportAuto
			}
			if runF != nil {
				return runF(opts)
			}
			return debugRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Image, "image", "", "Image of the debug container (required)")
	fl.StringVarP(&opts.Container, "container", "c", "", "Name of the debug container (default: debugger-XXXXX)")
	fl.StringVar(&opts.Target, "target", "", "Share the process namespace of this container of the pod")
	fl.BoolVarP(&opts.Stdin, "stdin", "i", false, "Keep stdin open on the container and attach to it")
	fl.BoolVarP(&opts.TTY, "tty", "t", false, "Allocate a terminal for the container")
	fl.BoolVar(&opts.Attach, "attach", false, "Attach to the container once it runs (default: with -i)")
	fl.StringVar(&opts.PullPolicy, "image-pull-policy", "", "Always, IfNotPresent or Never")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "Print only what the container prints")
	fl.DurationVar(&opts.Timeout, "pod-running-timeout", time.Minute, "How long to wait for the debug container to run")
	completion.Pod(cmd, f, "debug", "ephemeralcontainers", completion.Only("pods"))
	_ = cmd.RegisterFlagCompletionFunc("container", completion.Containers(f))
	return cmd
}

func debugRun(ctx context.Context, o *Options) error {
	if kind, name, ok := strings.Cut(o.Pod, "/"); ok {
		// pod/NAME as kubectl takes it, with any spelling of the kind.
		if kind == "" || name == "" || strings.Contains(name, "/") {
			return errs.UsageErrorf("%q is not POD or pod/NAME", o.Pod)
		}
		r, err := o.Kinds.Lookup(kind)
		if err != nil {
			return err
		}
		if r.GVR.Group != "" || r.GVR.Resource != "pods" {
			return errs.UsageErrorf("kgate debug adds a container to a pod, not to %s", kube.Qualified(r))
		}
		o.Pod = name
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	if ctx, err = o.Access.Authorize(ctx, policy.Request{Verb: VerbDebug, Resource: "pods", Subresource: "ephemeralcontainers", Namespace: ns, Name: o.Pod}); err != nil {
		return err
	}
	if o.Attach {
		if ctx, err = o.Access.Authorize(ctx, policy.Request{Verb: policy.VerbExec, Resource: "pods", Subresource: "attach", Namespace: ns, Name: o.Pod}); err != nil {
			return err
		}
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	cs, err := client.Typed()
	if err != nil {
		return err
	}
	pods := cs.CoreV1().Pods(ns)
	pod, err := pods.Get(ctx, o.Pod, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if pod.Status.Phase != corev1.PodRunning {
		return errs.UsageErrorf("pod %s is not running (its phase is %s); kgate debug adds containers to running pods", pod.Name, pod.Status.Phase)
	}
	name := o.Container
	if name == "" {
		name = "debugger-" + utilrand.String(5)
		if !o.Quiet {
			fmt.Fprintf(o.IO.ErrOut, "Defaulting debug container name to %s.\n", name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return errs.UsageErrorf("pod %s already has an ephemeral container %q; choose another name with -c", pod.Name, name)
		}
	}
	if o.Target != "" {
		found := false
		for _, c := range pod.Spec.Containers {
			found = found || c.Name == o.Target
		}
		if !found {
			return errs.NotFoundErrorf("container %q (--target) not found in pod %q", o.Target, pod.Name)
		}
	}
	ec := corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: o.Image, ImagePullPolicy: corev1.PullPolicy(o.PullPolicy),
			Stdin: o.Stdin, TTY: o.TTY, TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		},
		TargetContainerName: o.Target,
	}
	if len(o.Command) > 0 {
		ec.Command = o.Command
	}
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, ec)
	// The update names the resourceVersion read above: a concurrent change
	// is a conflict, never a lost container.
	if pod, err = pods.UpdateEphemeralContainers(ctx, pod.Name, pod, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("pod %s changed while the debug container was added; try again: %w", o.Pod, err)
		}
		return err
	}
	if !o.Attach {
		return nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.EphemeralContainerStatuses {
			if s.Name != name {
				continue
			}
			if s.State.Terminated != nil {
				return false, fmt.Errorf("debug container %s ended: %s (exit %d)", name, s.State.Terminated.Reason, s.State.Terminated.ExitCode)
			}
			if s.State.Running != nil {
				pod = p
				return true, nil
			}
			if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "InvalidImageName") {
				return false, fmt.Errorf("debug container %s cannot start: %s: %s", name, w.Reason, w.Message)
			}
		}
		return false, nil
	}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wait.Interrupted(err) {
			return fmt.Errorf("debug container %s was added but did not run within %s", name, o.Timeout)
		}
		return err
	}
	return attach.Session{
		IO: o.IO, Client: client, Executor: o.Executor, Terminal: o.Terminal, Pod: pod, Container: name,
		Stdin: o.Stdin, TTY: o.TTY, Quiet: o.Quiet, Transport: o.Transport,
	}.Run(ctx)
}
