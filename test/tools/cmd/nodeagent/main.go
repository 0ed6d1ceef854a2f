// Command nodeagent serves the kubelet API of the local environment's kwok
// nodes: exec, attach, port-forward and container logs, on one HTTPS port that
// every kwok node advertises as its kubelet endpoint (kwok --node-port).
//
// kwok v0.8.0's own exec loses exit codes and never closes stdin, so this
// agent uses the kubelet's own streaming server code (k8s.io/cri-streaming)
// and the kubelet's CRI log reader (k8s.io/cri-client/pkg/logs):
//
//   - exec runs a local process: argv exec'd directly, cwd a per-pod directory,
//     HOSTNAME=<pod>, KGATE_POD, KGATE_NAMESPACE, KGATE_CONTAINER, KGATE_NODE,
//     KGATE_POD_UID and the container's literal env values. Exit codes pass
//     through; killed by a signal gives 128+signal; not found 127; not
//     executable 126; stdin is closed at EOF; -t runs under a pty with resize
//     events applied. A client that disconnects ends its command (SIGHUP, then
//     SIGKILL); processes left behind die with their pod or with the agent.
//   - logs are CRI-format files (`<RFC3339Nano> stdout F message`) laid out as
//     the kubelet's /var/log/pods:
//     <pod-log-dir>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log
//     Every running pod gets a line per container per interval
//     ("<pod>/<container> line <n>"), every 1s by default; the pod annotation
//     kgate.dev/log-interval ("500ms", "0" = off) changes that.
//   - port-forward connects to 127.0.0.1:<port>, or to the local port the pod
//     annotation kgate.dev/port-forward-target maps it to ("80=18080,443=18443"
//     or a single "18080" for every port).
//   - attach to a container with stdin: true reaches its main process, which
//     the agent starts at the first attach: the container's command if it
//     resolves on the agent's PATH, else sh; under a pty (resize events
//     applied, and logged as "attach resize") for tty: true. Its output goes
//     to every attached client and to the container's log; stdin's end
//     closes a stdinOnce container's stdin and only detaches from others.
//     Attach to any other container follows its current log file.
//
// Every request except /healthz needs a client certificate from --client-ca-file.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

type options struct {
	kubeconfig        string
	listen            string
	certFile          string
	keyFile           string
	clientCAFile      string
	podLogDir         string
	podDir            string
	nodeSelector      string
	logInterval       time.Duration
	streamIdleTimeout time.Duration
}

func main() {
	klog.InitFlags(nil)
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig used to watch nodes and pods")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:16250", "address of the kubelet API (HTTPS)")
	flag.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate")
	flag.StringVar(&o.keyFile, "tls-private-key-file", "", "serving key")
	flag.StringVar(&o.clientCAFile, "client-ca-file", "", "CA that signs accepted client certificates")
	flag.StringVar(&o.podLogDir, "pod-log-dir", "", "root of the pod log files (like /var/log/pods)")
	flag.StringVar(&o.podDir, "pod-dir", "", "root of the per-pod working directories of exec")
	flag.StringVar(&o.nodeSelector, "node-selector", "type=kwok", "label selector of the nodes this agent serves (empty: all)")
	flag.DurationVar(&o.logInterval, "log-interval", time.Second, "default interval of generated log lines (0: off)")
	flag.DurationVar(&o.streamIdleTimeout, "stream-idle-timeout", 4*time.Hour, "idle timeout of exec/attach/port-forward streams")
	flag.Parse()
	if err := run(o); err != nil {
		klog.ErrorS(err, "nodeagent failed")
		klog.Flush()
		os.Exit(1)
	}
}

func run(o options) error {
	for name, v := range map[string]string{"--kubeconfig": o.kubeconfig, "--tls-cert-file": o.certFile,
		"--tls-private-key-file": o.keyFile, "--client-ca-file": o.clientCAFile, "--pod-log-dir": o.podLogDir, "--pod-dir": o.podDir} {
		if v == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	for _, d := range []string{o.podLogDir, o.podDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", o.kubeconfig, err)
	}
	cfg.UserAgent = "kgate-nodeagent"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(o.clientCAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s: no certificates", o.clientCAFile)
	}
	cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	a := newAgent(cs, o)
	if err := a.start(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
		// HTTP/1.1 only: exec and port-forward hijack the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	klog.InfoS("nodeagent serving", "address", ln.Addr().String(), "podLogDir", o.podLogDir)

	select {
	case err := <-errc:
		a.killAll()
		return err
	case <-ctx.Done():
	}
	klog.InfoS("shutting down")
	a.killAll()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		klog.ErrorS(err, "shutdown")
	}
	srv.Close()
	klog.Flush()
	return nil
}
