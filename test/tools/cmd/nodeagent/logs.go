package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
)

// logQuery is v1.PodLogOptions as the kubelet reads it from the query string
// (parsed by hand to avoid k8s.io/kubernetes' internal API scheme).
type logQuery struct {
	follow, previous, timestamps bool
	tailLines, limitBytes        *int64
	sinceSeconds                 *int64
	sinceTime                    *time.Time
	stream                       string
}

func parseLogQuery(r *http.Request) (*logQuery, error) {
	q := r.URL.Query()
	var lq logQuery
	boolParam := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		return strconv.ParseBool(v)
	}
	intParam := func(name string) (*int64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &n, nil
	}
	var err error
	if lq.follow, err = boolParam("follow"); err != nil {
		return nil, err
	}
	if lq.previous, err = boolParam("previous"); err != nil {
		return nil, err
	}
	if lq.timestamps, err = boolParam("timestamps"); err != nil {
		return nil, err
	}
	// "tail" is the kubelet's legacy spelling; "all" means no limit.
	if t := q.Get("tail"); t != "" && t != "all" {
		q.Set("tailLines", t)
	}
	if lq.tailLines, err = intParam("tailLines"); err != nil {
		return nil, err
	}
	if lq.limitBytes, err = intParam("limitBytes"); err != nil {
		return nil, err
	}
	if lq.sinceSeconds, err = intParam("sinceSeconds"); err != nil {
		return nil, err
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("sinceTime: %w", err)
		}
		lq.sinceTime = &t
	}
	if lq.tailLines != nil && *lq.tailLines < 0 || lq.limitBytes != nil && *lq.limitBytes < 1 ||
		lq.sinceSeconds != nil && *lq.sinceSeconds < 1 || lq.sinceSeconds != nil && lq.sinceTime != nil {
		return nil, fmt.Errorf("invalid request")
	}
	lq.stream = q.Get("stream")
	switch lq.stream {
	case "", v1.LogStreamAll, v1.LogStreamStdout, v1.LogStreamStderr:
	default:
		return nil, fmt.Errorf("invalid stream type %q", lq.stream)
	}
	return &lq, nil
}

// criOptions converts like the kubelet's kuberuntime ReadLogs.
func (lq *logQuery) criOptions() *logs.LogOptions {
	o := &logs.LogOptions{TailLines: lq.tailLines, LimitBytes: lq.limitBytes, Follow: lq.follow, Timestamp: lq.timestamps}
	if lq.sinceSeconds != nil {
		o.Since = time.Now().Add(-time.Duration(*lq.sinceSeconds) * time.Second)
	}
	if lq.sinceTime != nil && lq.sinceTime.After(o.Since) {
		o.Since = *lq.sinceTime
	}
	return o
}

func (a *agent) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	lq, err := parseLogQuery(r)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"message": %q}`, err.Error()), http.StatusBadRequest)
		return
	}
	p, ok := a.lookupPod(w, r)
	if !ok {
		return
	}
	container := r.PathValue("container")
	if !containerExists(p, container) {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", container, p.Name), http.StatusNotFound)
		return
	}
	restarts := restartCount(p, container)
	if lq.previous {
		restarts--
	}
	path := a.containerLogPath(p, container, restarts)
	if restarts < 0 || !fileExists(path) {
		if lq.previous {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, p.Name), http.StatusBadRequest)
		} else {
			http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start - no logs yet", container, p.Name), http.StatusBadRequest)
		}
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	fw := newFlushWriter(w, flusher)
	defer fw.Close()
	var stdout, stderr io.Writer = fw, fw
	switch lq.stream { // like the kubelet: a stream not asked for is nil, so limitBytes ignores it
	case v1.LogStreamStdout:
		stderr = nil
	case v1.LogStreamStderr:
		stdout = nil
	}
	id := containerKey(p.Namespace, p.Name, string(p.UID), container, restarts)
	if lq.previous {
		id = "" // never running: ReadLogs stops at the end of the file
	}
	if err := logs.ReadLogs(r.Context(), path, id, lq.criOptions(), &runtimeShim{a: a}, stdout, stderr); err != nil {
		if r.Context().Err() == nil {
			klog.V(2).InfoS("read logs", "path", path, "err", err)
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// containerKey identifies one run of a container for runtimeShim.
func containerKey(ns, pod, uid, container string, restarts int32) string {
	return strings.Join([]string{ns, pod, uid, container, strconv.Itoa(int(restarts))}, "/")
}

// runtimeShim answers ReadLogs' only question while following: is the
// container still running? Yes while the pod runs on one of our nodes and the
// container's restart count still points at the file being read.
type runtimeShim struct {
	internalapi.RuntimeService // nil: only ContainerStatus is called
	a                          *agent
}

func (s *runtimeShim) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	parts := strings.Split(id, "/")
	if len(parts) == 5 {
		if p, ok := s.a.pod(parts[0], parts[1]); ok && string(p.UID) == parts[2] && podRunning(p) &&
			strconv.Itoa(int(restartCount(p, parts[3]))) == parts[4] {
			state = runtimeapi.ContainerState_CONTAINER_RUNNING
		}
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, State: state}}, nil
}

// flushWriter batches small writes and flushes them within a few
// milliseconds, so `logs -f` sees lines at once and bulk reads are not one
// TLS record per line.
type flushWriter struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	f       http.Flusher
	timer   *time.Timer
	pending bool
	err     error
}

func newFlushWriter(w io.Writer, f http.Flusher) *flushWriter {
	fw := &flushWriter{bw: bufio.NewWriterSize(w, 64<<10), f: f}
	fw.timer = time.AfterFunc(time.Hour, fw.flush)
	fw.timer.Stop()
	return fw
}

func (w *flushWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	if err != nil {
		w.err = err
		return n, err
	}
	if !w.pending {
		w.pending = true
		w.timer.Reset(5 * time.Millisecond)
	}
	return n, nil
}

func (w *flushWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = false
	if w.err != nil {
		return
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return
	}
	w.f.Flush()
}

// Close flushes what is left. A timer that already fired may still call
// flush after the handler returned, when the ResponseWriter is gone: the
// error set here makes that call a no-op.
func (w *flushWriter) Close() {
	w.timer.Stop()
	w.flush()
	w.mu.Lock()
	if w.err == nil {
		w.err = io.ErrClosedPipe
	}
	w.mu.Unlock()
}

// serveAttach attaches to the container's main process. A container with
// stdin: true has one (mainproc.go); for any other the agent runs none, so
// attach follows the container's current log file from its end and reads
// stdin only to see it end.
func (a *agent) serveAttach(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommandserver.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, ok := a.lookupPod(w, r)
	if !ok {
		return
	}
	container := r.PathValue("container")
	if !containerExists(p, container) || !podRunning(p) {
		http.Error(w, fmt.Sprintf("container %s not found in pod %s", container, p.Name), http.StatusInternalServerError)
		return
	}
	ww := newWatchedWriter(w)
	remotecommandserver.ServeAttach(ww, r, &podAttacher{a: a, pod: p, gone: ww.closed}, p.Name, string(p.UID), container, opts,
		a.o.streamIdleTimeout, remotecommandserver.DefaultStreamCreationTimeout, remotecommandserver.SupportedStreamingProtocols)
}

type podAttacher struct {
	a    *agent
	pod  *v1.Pod
	gone <-chan struct{} // closed when the client's connection ends
}

func (t *podAttacher) AttachContainer(ctx context.Context, _ string, _ string, container string, in io.Reader, out, errOut io.WriteCloser,
	_ bool, resize <-chan remotecommandserver.TerminalSize) error {
	if stdin, _, _, _ := containerSpec(t.pod, container); stdin {
		return t.attachMain(container, in, out, errOut, resize)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	if resize != nil {
		go func() {
			for range resize {
			}
		}()
	}
	if in != nil {
		go func() {
			_, _ = io.Copy(io.Discard, in)
			cancel() // the client went away or closed stdin
		}()
	}
	restarts := restartCount(t.pod, container)
	path := t.a.containerLogPath(t.pod, container, restarts)
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errOut != nil {
		stderr = errOut
	}
	// A container kwok has just marked running may not have its log file
	// yet (the agent writes it when it next sees the pod): wait for it, as
	// a kubelet's attach always finds the running container's streams.
	for i := 0; i < 100; i++ {
		if _, err := os.Lstat(path); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	zero := int64(0)
	err := logs.ReadLogs(ctx, path, containerKey(t.pod.Namespace, t.pod.Name, string(t.pod.UID), container, restarts),
		&logs.LogOptions{TailLines: &zero, Follow: true}, &runtimeShim{a: t.a}, stdout, stderr)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
