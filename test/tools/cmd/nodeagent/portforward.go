package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/klog/v2"
)

func (a *agent) servePortForward(w http.ResponseWriter, r *http.Request) {
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, ok := a.lookupPod(w, r)
	if !ok {
		return
	}
	portforward.ServePortForward(w, r, &podForwarder{pod: p}, p.Name, string(p.UID), opts,
		a.o.streamIdleTimeout, 30*time.Second, portforward.SupportedProtocols)
}

type podForwarder struct{ pod *v1.Pod }

// targetPort maps a pod port to a local port using the pod annotation
// kgate.dev/port-forward-target: "18080" (every port) or "80=18080,443=18443".
// Without a mapping the same port on 127.0.0.1 is used.
func targetPort(p *v1.Pod, port int32) (int, error) {
	spec := strings.TrimSpace(p.Annotations[annotationPortForwardTarget])
	if spec == "" {
		return int(port), nil
	}
	if !strings.Contains(spec, "=") {
		return strconv.Atoi(spec)
	}
	for _, pair := range strings.Split(spec, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return 0, fmt.Errorf("bad %s entry %q", annotationPortForwardTarget, pair)
		}
		if from == strconv.Itoa(int(port)) {
			return strconv.Atoi(to)
		}
	}
	return int(port), nil
}

// PortForward implements portforward.PortForwarder: it proxies the stream to
// a local TCP port.
func (f *podForwarder) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	target, err := targetPort(f.pod, port)
	if err != nil {
		return err
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(target)))
	if err != nil {
		return fmt.Errorf("failed to connect to localhost:%d inside namespace of pod %s: %w", port, f.pod.Name, err)
	}
	defer conn.Close()
	klog.V(2).InfoS("port-forward", "pod", klog.KObj(f.pod), "port", port, "target", target)
	go func() {
		_, _ = io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	// The connection ends when the target closes its side.
	_, _ = io.Copy(stream, conn)
	return nil
}
