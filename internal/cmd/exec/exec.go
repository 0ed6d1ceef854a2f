// Package exec implements `kgate exec`.
package exec

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	// client-go's executors return k8s.io/streaming's error types; the
	// apimachinery package of the same name would never match them.
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/tty"
)

// Transports an exec may use.
const (
	TransportAuto      = "auto"
	TransportWebSocket = "websocket"
	TransportSPDY      = "spdy"
)

// RemoteExecutor runs a command in a container; tests replace it.
type RemoteExecutor interface {
	Execute(ctx context.Context, cfg *rest.Config, transport string, u *url.URL, opts remotecommand.StreamOptions) error
}

// Options are what `kgate exec` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	Executor   RemoteExecutor
	// Access is the policy check (enforce.Access): the request is
	// asked about before any reaches the cluster.
	Access *enforce.Access
	// Terminal returns the local terminal on stdin, or nil.
	Terminal func() *tty.Terminal
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds *kube.Kinds

	Target            string
	Container         string
	Stdin             bool
	TTY               bool
	Quiet             bool
	Command           []string
	Transport         string
	PodRunningTimeout time.Duration
}

// NewCmdExec returns `kgate exec`; runF replaces the run step in tests.
func NewCmdExec(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{
		IO: f.IOStreams, Kinds: f.Kinds, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(),
		Executor: DefaultExecutor{},
		Terminal: func() *tty.Terminal { return tty.New(os.Stdin) },
	}
	cmd := &cobra.Command{
		Use:   "exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]",
		Short: "Run a command in a container (admins only)",
		Long: `Run a command in a container of a pod, as kubectl exec does. The remote
command's exit code becomes kgate's exit code, so scripts can branch on it.

TYPE/NAME picks a running pod of a deployment, statefulset, replicaset,
daemonset, job or service. The container is -c, else the pod's
kubectl.kubernetes.io/default-container annotation, else its first container.

exec speaks WebSocket and falls back to SPDY when the server or a proxy in
between does not; --transport (or KGATE_EXEC_TRANSPORT) forces either.`,
		Example: `  # run a command in a pod
  kgate exec web-7d4b9c-abcde -- ls /

  # an interactive shell in a running pod of a deployment
  kgate exec -it deploy/web -c app -- sh

  # feed stdin to the remote command
  echo hello | kgate exec -i web-7d4b9c-abcde -- cat`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) == 0 {
				return errs.UsageErrorf("exec needs a pod (or TYPE/NAME) and a command: kgate exec POD -- COMMAND")
			}
			if dash < 0 || dash > 1 {
				if dash < 0 && len(args) >= 1 {
					return errs.UsageErrorf("put the command after --: kgate exec %s -- %s", args[0], strings.Join(args[1:], " "))
				}
				return errs.UsageErrorf("exec takes exactly one pod (or TYPE/NAME) before --")
			}
			if dash == 0 {
				return errs.UsageErrorf("exec needs a pod (or TYPE/NAME) before --")
			}
			opts.Target = args[0]
			opts.Command = args[dash:]
			if len(opts.Command) == 0 {
				return errs.UsageErrorf("exec needs a command after --")
			}
			if opts.Transport == "" {
				opts.Transport = os.Getenv("KGATE_EXEC_TRANSPORT")
			}
			switch opts.Transport {
			case "", TransportAuto:
				opts.Transport = TransportAuto
			case TransportWebSocket, TransportSPDY:
			default:
				return errs.UsageErrorf("--transport must be auto, websocket or spdy, not %q", opts.Transport)
			}
			if runF != nil {
				return runF(opts)
			}
			return execRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Container, "container", "c", "", "Container name (default: the pod's default container)")
	fl.BoolVarP(&opts.Stdin, "stdin", "i", false, "Pass stdin to the container")
	fl.BoolVarP(&opts.TTY, "tty", "t", false, "Allocate a terminal for the container (with -i: an interactive shell)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "Print only what the remote command prints")
	fl.StringVar(&opts.Transport, "transport", "", "Stream protocol: auto (WebSocket, then SPDY), websocket or spdy [$KGATE_EXEC_TRANSPORT]")
	fl.DurationVar(&opts.PodRunningTimeout, "pod-running-timeout", time.Minute, "How long to wait for a pod of TYPE/NAME to exist")
	completion.Pod(cmd, f, policy.VerbExec, "exec", completion.HasPods)
	_ = cmd.RegisterFlagCompletionFunc("container", completion.Containers(f))
	_ = cmd.RegisterFlagCompletionFunc("transport", completion.Fixed("auto", "websocket", "spdy"))
	return cmd
}

func execRun(ctx context.Context, opts *Options) error {
	r, name, err := kube.ParseTargetIn(opts.Kinds, opts.Target)
	if err != nil {
		return err
	}
	ns, _, err := opts.Namespace()
	if err != nil {
		return err
	}
	// The check names what the user typed; the pod is resolved only if allowed.
	var command []string
	if !opts.Stdin && !opts.TTY {
		// An interactive session's keystrokes are not a command to record.
		command = opts.Command
	}
	if ctx, err = opts.Access.Authorize(ctx, execRequest(r, ns, name), command...); err != nil {
		return err
	}
	client, err := opts.KubeClient()
	if err != nil {
		return err
	}
	pod, err := client.AttachablePod(ctx, r, ns, name, opts.PodRunningTimeout)
	if err != nil {
		return err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		// Not a usage error: the command line was right, the pod's state is
		// not (kubectl exits 1 here too, as for a precondition that fails).
		return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
	}
	container, err := FindContainer(pod, opts.Container, opts.Quiet, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	local, err := Streams{IO: opts.IO, Terminal: opts.Terminal, Stdin: opts.Stdin, TTY: opts.TTY, Quiet: opts.Quiet}.Open(ctx)
	if err != nil {
		return err
	}
	defer local.Close()
	so := local.Options

	req := client.REST().Post().AbsPath("/api/v1/namespaces", pod.Namespace, "pods", pod.Name, "exec").
		Param("container", container.Name)
	for _, c := range opts.Command {
		req = req.Param("command", c)
	}
	req = req.Param("stdin", fmt.Sprint(opts.Stdin)).Param("stdout", "true").
		Param("stderr", fmt.Sprint(!so.Tty)).Param("tty", fmt.Sprint(so.Tty))
	err = opts.Executor.Execute(ctx, client.Config, opts.Transport, req.URL(), so)
	return whyEnded(ctx, err, func(ctx context.Context) error {
		r, _ := kube.Lookup("pods")
		_, gerr := client.Get(ctx, r, ns, pod.Name)
		return gerr
	})
}

// whyEnded explains a session that broke off (not the command's own exit
// code): a lock, a logout or a deleted pod shows only as a closed
// connection, so the pod is asked for again and the API server's (or the
// gateway's) answer is the error, when it is one.
func whyEnded(ctx context.Context, err error, probe func(context.Context) error) error {
	var xe utilexec.ExitError
	if err == nil || ctx.Err() != nil || errors.As(err, &xe) {
		return err
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	perr := probe(pctx)
	if perr != nil && errors.As(perr, &se) {
		return fmt.Errorf("the exec session ended: %w", perr)
	}
	if errors.Is(err, ErrConnectionLost) {
		return SessionLost(err, perr)
	}
	return err
}

// SessionLost is the error of a session whose connection broke off
// (ErrConnectionLost): unavailable (exit 6), with what a probe of the API
// server found since (nil: it answers again).
func SessionLost(err, probeErr error) error {
	var se apierrors.APIStatus
	if errors.As(probeErr, &se) {
		// The API server answers, and its answer (the pod is gone, a lock
		// or a logout at the gateway) is why the session ended.
		return fmt.Errorf("the session ended: %w", probeErr)
	}
	now := "the API server answers again"
	if probeErr != nil {
		now = "the API server does not answer now: " + probeErr.Error()
	}
	return errs.WithHint(&errs.Error{Kind: errs.KindUnavailable, Err: err},
		"The session ended without the command's exit status ("+now+"); run it again, or check whether it finished.")
}

// execRequest is the policy request for an exec into name of kind r: the
// pod's exec subresource, or the workload itself for TYPE/NAME, so that a
// denial and its audit line name what the user typed.
func execRequest(r kube.Resource, ns, name string) policy.Request {
	req := policy.Request{Verb: policy.VerbExec, Resource: r.GVR.Resource, Group: r.GVR.Group, Namespace: ns, Name: name}
	if r.GVR.Resource == "pods" {
		req.Subresource = "exec"
	}
	return req
}

// StreamRequest is the policy request of attach or port-forward
// (subresource "attach", "portforward") to name of kind r, as typed: a
// TYPE/NAME is asked about as that workload, not as a pod of its name.
func StreamRequest(subresource string, r kube.Resource, ns, name string) policy.Request {
	return policy.Request{Verb: policy.VerbExec, Resource: r.GVR.Resource, Group: r.GVR.Group, Subresource: subresource, Namespace: ns, Name: name}
}

// shouldFallback reports whether a failed WebSocket exec should be tried
// again over SPDY: when the upgrade failed or a proxy got in the way, but not
// when the server gave its real answer (forbidden, unauthorized, not found),
// which SPDY would only repeat with its Status lost.
func shouldFallback(err error) bool {
	if httpstream.IsHTTPSProxyError(err) {
		return true
	}
	answer, failed := kube.UpgradeAnswer(err)
	if !failed {
		return false
	}
	var st apierrors.APIStatus
	if errors.As(answer, &st) {
		switch st.Status().Reason {
		case metav1.StatusReasonForbidden, metav1.StatusReasonUnauthorized, metav1.StatusReasonNotFound:
			return false
		}
	}
	return true
}

// DefaultExecutor runs exec over WebSocket, SPDY, or WebSocket with SPDY as
// fallback, through client-go's executors.
type DefaultExecutor struct{}

// Execute implements RemoteExecutor.
func (DefaultExecutor) Execute(ctx context.Context, cfg *rest.Config, transport string, u *url.URL, opts remotecommand.StreamOptions) error {
	quietStreamErrors()
	var ex remotecommand.Executor
	var err error
	switch transport {
	case TransportSPDY:
		ex, err = newWatchedSPDY(cfg, u)
	case TransportWebSocket:
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	default:
		var spdy, ws remotecommand.Executor
		if spdy, err = newWatchedSPDY(cfg, u); err != nil {
			return err
		}
		if ws, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String()); err != nil {
			return err
		}
		ex, err = remotecommand.NewFallbackExecutor(ws, spdy, shouldFallback)
	}
	if err != nil {
		return err
	}
	err = ex.StreamWithContext(ctx, opts)
	// A refusal at the upgrade carries the server's Status in a Cause that
	// does not unwrap; return the Status so its reason sets the exit code.
	var st apierrors.APIStatus
	if answer, _ := kube.UpgradeAnswer(err); errors.As(answer, &st) {
		return answer
	}
	var lost *lostError
	if !errors.As(err, &lost) && ctx.Err() == nil && cutOff(err) {
		return &lostError{cause: err}
	}
	return err
}
