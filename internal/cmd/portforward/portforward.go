// Package portforward implements `kgate port-forward` over client-go's
// port forwarder: WebSocket first, SPDY when the server or a proxy does not
// speak it, as kubectl does.
package portforward

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	kutil "k8s.io/kubectl/pkg/util"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	execcmd "github.com/kgate/kgate/internal/cmd/exec"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Forwarder forwards local ports to a pod; tests replace it.
type Forwarder interface {
	Forward(ctx context.Context, cfg *rest.Config, transport string, u *url.URL, addresses, ports []string, ready chan struct{}, io *iostreams.IOStreams) error
}

// Options are what `kgate port-forward` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	// Kinds resolves TYPE of TYPE/NAME; nil knows the built-in kinds only.
	Kinds     *kube.Kinds
	Access    *enforce.Access
	Forwarder Forwarder

	Target            string
	Ports             []string
	Addresses         []string
	Transport         string
	PodRunningTimeout time.Duration
	// Ready, if set, is closed once every port listens (tests).
	Ready chan struct{}
}

// NewCmdPortForward returns `kgate port-forward`; runF replaces the run step in tests.
func NewCmdPortForward(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Kinds: f.Kinds, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(), Forwarder: DefaultForwarder{}}
	cmd := &cobra.Command{
		Use:   "port-forward (POD | TYPE/NAME) [LOCAL_PORT:]REMOTE_PORT... [flags]",
		Short: "Forward local ports to a pod (admins only)",
		Long: `Forward one or more local ports to a pod, as kubectl port-forward does.
TYPE/NAME picks a running pod of a deployment, statefulset, replicaset,
daemonset, job or service; a service's ports are translated to the pod's
target ports. LOCAL_PORT defaults to REMOTE_PORT; ":REMOTE_PORT" (or 0) picks a
free local port. kgate listens on 127.0.0.1 and ::1 only, unless --address
names other addresses.

The connection speaks WebSocket and falls back to SPDY when the server or a
proxy in between does not; --transport (or KGATE_EXEC_TRANSPORT) forces
either. It stays up while idle and ends with Ctrl-C (exit 130).`,
		Example: `  # local 8080 to the pod's 80, local 9090 to its 9090
  kgate port-forward web-7d4b9c-abcde 8080:80 9090

  # a service's port 80, on a free local port
  kgate port-forward svc/web :80

  # listen on every interface of this machine too
  kgate port-forward deploy/web 8080:80 --address=127.0.0.1,192.168.1.5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return errs.UsageErrorf("port-forward needs a pod (or TYPE/NAME) and at least one port: kgate port-forward POD [LOCAL:]REMOTE")
			}
			opts.Target, opts.Ports = args[0], args[1:]
			for _, p := range opts.Ports {
				if err := validPort(p); err != nil {
					return err
				}
			}
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
			return portForwardRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Addresses, "address", []string{"localhost"}, "Addresses to listen on (comma-separated): IP addresses or localhost")
	fl.StringVar(&opts.Transport, "transport", "", "Stream protocol: auto (WebSocket, then SPDY), websocket or spdy [$KGATE_EXEC_TRANSPORT]")
	fl.DurationVar(&opts.PodRunningTimeout, "pod-running-timeout", time.Minute, "How long to wait for a pod of TYPE/NAME to be running")
	completion.Pod(cmd, f, policy.VerbExec, "portforward", completion.HasPods)
	_ = cmd.RegisterFlagCompletionFunc("transport", completion.Fixed("auto", "websocket", "spdy"))
	return cmd
}

// validPort checks [LOCAL:]REMOTE as the user typed it; a remote port may
// be a name (of a container port, or of a service port with svc/NAME).
func validPort(p string) error {
	local, remote, hasLocal := strings.Cut(p, ":")
	if !hasLocal {
		local, remote = p, p
	}
	if remote == "" {
		return errs.UsageErrorf("%q has no remote port: [LOCAL_PORT:]REMOTE_PORT", p)
	}
	if n, err := strconv.Atoi(remote); err == nil && (n < 1 || n > 65535) {
		return errs.UsageErrorf("remote port %q is not between 1 and 65535", remote)
	}
	if hasLocal && local != "" {
		if n, err := strconv.Atoi(local); err != nil || n < 0 || n > 65535 {
			return errs.UsageErrorf("local port %q is not a number between 0 and 65535", local)
		}
	}
	return nil
}

func portForwardRun(ctx context.Context, o *Options) error {
	r, name, err := kube.ParseTargetIn(o.Kinds, o.Target)
	if err != nil {
		return err
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	// The check names what the user typed; the pod is resolved only if allowed.
	if ctx, err = o.Access.Authorize(ctx, execcmd.StreamRequest("portforward", r, ns, name)); err != nil {
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
	if pod.Status.Phase != corev1.PodRunning {
		return errs.UsageErrorf("pod %s is not running (its phase is %s)", pod.Name, pod.Status.Phase)
	}
	ports := o.Ports
	if r.GVR.Resource == "services" {
		cs, err := client.Typed()
		if err != nil {
			return err
		}
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ports, err = translate(ports, func(remote string) (int32, error) {
			n, err := strconv.Atoi(remote)
			if err != nil {
				p, err := kutil.LookupServicePortNumberByName(*svc, remote)
				if err != nil {
					return 0, errs.NotFoundErrorf("%v", err)
				}
				n = int(p)
			}
			p, err := kutil.LookupContainerPortNumberByServicePort(*svc, *pod, int32(n))
			if err != nil {
				return 0, errs.NotFoundErrorf("%v", err)
			}
			return p, nil
		}); err != nil {
			return err
		}
	} else if ports, err = translate(ports, func(remote string) (int32, error) {
		if n, err := strconv.Atoi(remote); err == nil {
			return int32(n), nil
		}
		p, err := kutil.LookupContainerPortNumberByName(*pod, remote)
		if err != nil {
			return 0, errs.NotFoundErrorf("%v", err)
		}
		return p, nil
	}); err != nil {
		return err
	}
	u := client.REST().Post().AbsPath("/api/v1/namespaces", pod.Namespace, "pods", pod.Name, "portforward").URL()
	err = o.Forwarder.Forward(ctx, client.Config, o.Transport, u, o.Addresses, ports, o.Ready, o.IO)
	if ctx.Err() != nil {
		// Ctrl-C: the forwarder stopped cleanly; exit as interrupted.
		return ctx.Err()
	}
	return err
}

// translate resolves the remote half of each [LOCAL:]REMOTE.
func translate(ports []string, remotePort func(string) (int32, error)) ([]string, error) {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		local, remote, hasLocal := strings.Cut(p, ":")
		if !hasLocal {
			remote = p
		}
		n, err := remotePort(remote)
		if err != nil {
			return nil, err
		}
		switch {
		case hasLocal:
			out = append(out, fmt.Sprintf("%s:%d", local, n))
		case strconv.Itoa(int(n)) != remote:
			// A named port listens locally on its number.
			out = append(out, fmt.Sprintf("%d:%d", n, n))
		default:
			out = append(out, remote)
		}
	}
	return out, nil
}

// DefaultForwarder forwards over WebSocket (SPDY tunnelled in it), SPDY, or
// WebSocket with SPDY as fallback, with client-go's dialers.
type DefaultForwarder struct{}

// Forward implements Forwarder. It returns when ctx ends or the connection
// to the pod is lost.
func (DefaultForwarder) Forward(ctx context.Context, cfg *rest.Config, transport string, u *url.URL, addresses, ports []string, ready chan struct{}, io *iostreams.IOStreams) error {
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return err
	}
	var dialer streamhttp.Dialer = spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	if transport != execcmd.TransportSPDY {
		ws, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
		if err != nil {
			return err
		}
		if transport == execcmd.TransportWebSocket {
			dialer = ws
		} else {
			dialer = portforward.NewFallbackDialerForStreaming(ws, dialer, func(err error) bool {
				return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
			})
		}
	}
	stop := make(chan struct{})
	go func() { <-ctx.Done(); close(stop) }()
	if ready == nil {
		ready = make(chan struct{})
	}
	fw, err := portforward.NewOnAddressesForStreaming(dialer, addresses, ports, stop, ready, io.Out, io.ErrOut)
	if err != nil {
		return errs.UsageErrorf("%v", err)
	}
	err = fw.ForwardPorts()
	if answer, _ := kube.UpgradeAnswer(err); answer != nil {
		return answer
	}
	return err
}
