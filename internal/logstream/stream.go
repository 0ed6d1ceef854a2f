package logstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kgate/kgate/internal/errs"
)

// output serialises lines from many streams onto one writer.
type output struct {
	mu    sync.Mutex
	w     *bufio.Writer
	color bool
}

func newOutput(w io.Writer, color bool) *output {
	return &output{w: bufio.NewWriterSize(w, 64<<10), color: color}
}

// write writes one line (which ends in '\n', except perhaps the last of a
// log) after prefix; flush pushes it out now (the reader has nothing more
// buffered, so the next read may block).
func (o *output) write(prefix, ts, line []byte, flush bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Write(prefix)
	if ts != nil {
		o.w.Write(ts)
		o.w.WriteByte(' ')
	}
	_, err := o.w.Write(line)
	if flush && err == nil {
		err = o.w.Flush()
	}
	return err
}

func (o *output) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}

var palette = []string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

func (o *output) prefix(pod, container string) []byte {
	p := "[pod/" + pod + "/" + container + "] "
	if !o.color {
		return []byte(p)
	}
	h := fnv.New32a()
	h.Write([]byte(pod))
	return []byte("\x1b[" + palette[h.Sum32()%uint32(len(palette))] + "m" + p[:len(p)-1] + "\x1b[0m ")
}

// copyOne streams one container's log straight through: the fast path.
func copyOne(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, container string, o *Config) error {
	po := o.podOptions(container)
	po.Timestamps = o.Timestamps
	body, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, po).Stream(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(o.Out, body)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

type streamer struct {
	cs     kubernetes.Interface
	o      *Config
	out    *output
	prefix bool

	mu      sync.Mutex
	active  map[string]context.CancelFunc
	skipped map[string]bool
	wg      sync.WaitGroup
	errMu   sync.Mutex
	errs    []error
}

func newStreamer(cs kubernetes.Interface, o *Config, out *output, prefix bool) *streamer {
	return &streamer{cs: cs, o: o, out: out, prefix: prefix, active: map[string]context.CancelFunc{}, skipped: map[string]bool{}}
}

// runPods reads the logs of pods: one after the other, or all at once when following.
func (s *streamer) runPods(ctx context.Context, pods []corev1.Pod) error {
	defer s.out.flush()
	if !s.o.Follow {
		var failures []error
		for i := range pods {
			cs, err := s.o.containersOf(&pods[i], len(pods) == 1)
			if err != nil {
				failures = append(failures, err)
				continue
			}
			for _, c := range cs {
				if err := s.stream(ctx, &pods[i], c, s.o.podOptions(c)); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					failures = append(failures, err)
				}
			}
		}
		return errs.Join(failures)
	}
	n := 0
	for i := range pods {
		cs, err := s.o.containersOf(&pods[i], len(pods) == 1)
		if err != nil {
			return err
		}
		n += len(cs)
	}
	if n > s.o.MaxLogRequests {
		return capError(n, s.o.MaxLogRequests)
	}
	for i := range pods {
		cs, _ := s.o.containersOf(&pods[i], false)
		for _, c := range cs {
			s.start(ctx, &pods[i], c, s.o.podOptions(c))
		}
	}
	s.wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errs.Join(s.errs)
}

func capError(n, max int) error {
	return errs.WithHint(errs.UsageErrorf("following %d log streams needs more than --max-log-requests=%d", n, max),
		"Narrow the selector, pick one container with -c, or raise --max-log-requests.")
}

func key(p *corev1.Pod, c string) string { return p.Namespace + "/" + p.Name + "/" + c }

// start follows one container in the background unless it already is.
func (s *streamer) start(ctx context.Context, pod *corev1.Pod, c string, po *corev1.PodLogOptions) {
	k := key(pod, c)
	s.mu.Lock()
	if _, ok := s.active[k]; ok {
		s.mu.Unlock()
		return
	}
	if len(s.active) >= s.o.MaxLogRequests {
		if !s.skipped[k] {
			s.skipped[k] = true
			fmt.Fprintf(s.o.ErrOut, "kgate: not following pod/%s/%s: already following %d streams (--max-log-requests); narrow the selector or raise the limit\n", pod.Name, c, len(s.active))
		}
		s.mu.Unlock()
		return
	}
	sctx, cancel := context.WithCancel(ctx)
	s.active[k] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.stream(sctx, pod, c, po)
		// Whether this stream was stopped (its pod went away, or Ctrl-C)
		// must be read before cancel, which stops it in any case: read
		// after, every failure looked stopped and logs -f ended with exit 0
		// and lines lost.
		stopped := sctx.Err() != nil
		s.mu.Lock()
		delete(s.active, k)
		s.mu.Unlock()
		cancel()
		if err != nil && !stopped {
			s.errMu.Lock()
			s.errs = append(s.errs, err)
			s.errMu.Unlock()
			fmt.Fprintf(s.o.ErrOut, "kgate: pod/%s/%s: %v\n", pod.Name, c, err)
		}
	}()
}

func (s *streamer) stop(pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := pod.Namespace + "/" + pod.Name + "/"
	for k, cancel := range s.active {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			cancel()
		}
	}
}

// resume is where a stream got to: the timestamp of the last line written and
// how many lines carried exactly that timestamp, so a resumed request (whose
// sinceTime the API server truncates to the second) skips what was written.
type resume struct {
	lastTS   []byte
	last     time.Time
	sameTS   int
	bytes    int64
	resuming bool
	seen     int
}

// stream reads one container's log; when following, a broken stream is
// resumed from the last line until the container ends or ctx is done.
// Transient answers (the API server or the gateway restarting: refused or
// reset connections, 5xx, 429, and 401/403 while a restarted API server's
// authorizer catches up) are retried with backoff for ResumeWindow; then it
// gives up with an error that names the pod. It never ends quietly while
// lines may be missing: when the container ended while the stream was
// broken, the rest of its log is read before returning.
func (s *streamer) stream(ctx context.Context, pod *corev1.Pod, c string, first *corev1.PodLogOptions) error {
	var prefix []byte
	if s.prefix {
		prefix = s.out.prefix(pod.Name, c)
	}
	window := s.o.ResumeWindow
	if window <= 0 {
		window = DefaultResumeWindow
	}
	st := &resume{}
	backoff := 250 * time.Millisecond
	noted := false
	opened := false       // a stream was open or broke: later refusals may be a restart
	var brokeAt time.Time // when lines may have started to be missing
	drain := false        // the container ended while broken: read the rest, not following
	for {
		po := first.DeepCopy()
		if st.lastTS != nil {
			po.TailLines, po.SinceSeconds = nil, nil
			t := metav1.NewTime(st.last.Truncate(time.Second))
			po.SinceTime = &t
			if po.LimitBytes != nil {
				left := *po.LimitBytes - st.bytes
				if left <= 0 {
					return nil
				}
				po.LimitBytes = &left
			}
			st.resuming, st.seen = true, 0
		}
		if drain {
			po.Follow = false
		}
		began, before := time.Now(), st.bytes
		body, err := s.cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, po).Stream(ctx)
		if err == nil {
			opened = true
			err = s.consume(body, st, prefix)
			body.Close()
			if errors.Is(err, errWrite) {
				return err
			}
			if st.bytes > before || time.Since(began) > 5*time.Second {
				// Lines flowed again: whatever broke is over.
				brokeAt, backoff, noted = time.Time{}, 250*time.Millisecond, false
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !first.Follow {
			return err
		}
		var status apierrors.APIStatus
		if err != nil && !errors.As(err, &status) {
			// Cut off, not refused: a server was there (or will be).
			opened = true
		}
		if drain && err == nil {
			return nil
		}
		if err != nil && !drain && !transient(err, opened) && !startingUp(err) {
			return err
		}
		if !drain {
			// The stream ended: the container finished, the pod went away,
			// or the connection broke. Only the last is resumed.
			ended, gerr := s.ended(ctx, pod, c)
			if gerr == nil && ended {
				if err == nil && brokeAt.IsZero() {
					return nil
				}
				// It ended while we were cut off: read what it wrote since.
				drain = true
				continue
			}
			if err == nil {
				err = gerr
			}
		} else if err != nil && isPodGone(err, pod) {
			fmt.Fprintf(s.o.ErrOut, "kgate: pod/%s/%s was deleted while its log stream was broken; lines written after %s may be missing\n",
				pod.Name, c, st.last.UTC().Format(time.RFC3339))
			return errs.UnavailableErrorf("the log of pod/%s/%s is incomplete: the pod was deleted while the stream was broken", pod.Name, c)
		}
		if brokeAt.IsZero() {
			brokeAt = time.Now()
		}
		if err != nil && !startingUp(err) && time.Since(brokeAt) > window {
			return giveUp(pod, c, window, err)
		}
		if !noted && !startingUp(err) {
			noted = true
			why := "the connection closed"
			if err != nil {
				why = err.Error()
			}
			fmt.Fprintf(s.o.ErrOut, "kgate: log stream of pod/%s/%s broke (%s); resuming\n", pod.Name, c, why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < 4*time.Second {
			backoff *= 2
		}
	}
}

// giveUp is the error of a follow that could not resume within window: a
// refusal that lasted is forbidden (4), anything else unavailable (6).
func giveUp(pod *corev1.Pod, c string, window time.Duration, err error) error {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return errs.ForbiddenErrorf("gave up following the log of pod/%s/%s: the API server still refuses after %s: %v", pod.Name, c, window, err)
	}
	return errs.UnavailableErrorf("gave up following the log of pod/%s/%s: the stream broke and could not be resumed within %s: %v", pod.Name, c, window, err)
}

// transient reports whether a failed log request is worth retrying: the API
// server or the gateway is restarting or overloaded. A 401 or 403 is one
// only after a stream was open (a restarted API server refuses until its
// authorizer has caught up); on the first request it is the answer.
func transient(err error, opened bool) bool {
	switch {
	case err == nil:
		return true
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		// The gateway's own decision (a lock, a revoked session, the
		// policy) is final; an API server catching up is not.
		return opened && !apierrors.HasStatusCause(err, metav1.CauseType(errs.GatewayDecisionCause))
	case apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsUnexpectedServerError(err):
		return true
	case apierrors.IsNotFound(err), apierrors.IsBadRequest(err):
		// A restarting API server may not serve the route yet: a 404 that
		// names no pod.
		return opened && !isPodGone(err, nil)
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Code >= 500
	}
	// Not an answer from a server at all: refused, reset, cut off, timed out.
	return true
}

// isPodGone reports a NotFound about the pod itself (pod nil: any pod), not
// a route the API server does not serve yet.
func isPodGone(err error, pod *corev1.Pod) bool {
	var se apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d != nil && d.Kind == "pods" && (pod == nil || d.Name == pod.Name)
}

// startingUp reports the API server's refusal to stream a container that
// has not started yet; a follower waits for it.
func startingUp(err error) bool {
	return err != nil && apierrors.IsBadRequest(err) &&
		(strings.Contains(err.Error(), "waiting to start") || strings.Contains(err.Error(), "ContainerCreating") || strings.Contains(err.Error(), "PodInitializing"))
}

// ended reports whether the container will write no more: the pod is gone
// or the container has terminated.
func (s *streamer) ended(ctx context.Context, pod *corev1.Pod, c string) (bool, error) {
	p, err := s.cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if isPodGone(err, pod) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if p.UID != pod.UID || p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true, nil
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.ContainerStatuses...), p.Status.InitContainerStatuses...) {
		if cs.Name == c && cs.State.Terminated != nil {
			return true, nil
		}
	}
	return false, nil
}

var errWrite = errors.New("writing output")

// consume copies lines from body, dropping the server's timestamps unless
// asked for, and skipping lines a resumed request repeats.
func (s *streamer) consume(body io.Reader, st *resume, prefix []byte) error {
	br := bufio.NewReaderSize(body, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 && (err == nil || (err == io.EOF && !s.o.Follow)) {
			if werr := s.emit(line, st, prefix, br.Buffered() == 0); werr != nil {
				return fmt.Errorf("%w: %v", errWrite, werr)
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func (s *streamer) emit(line []byte, st *resume, prefix []byte, flush bool) error {
	ts, msg, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		ts, msg = nil, line
	}
	if st.resuming && ts != nil {
		t, err := time.Parse(time.RFC3339Nano, string(ts))
		if err == nil {
			switch {
			case t.Before(st.last):
				return nil
			case t.Equal(st.last) && st.seen < st.sameTS:
				st.seen++
				return nil
			}
		}
		st.resuming = false
	}
	if ts != nil {
		if bytes.Equal(ts, st.lastTS) {
			st.sameTS++
		} else {
			st.lastTS = append(st.lastTS[:0], ts...)
			st.last, _ = time.Parse(time.RFC3339Nano, string(ts))
			st.sameTS = 1
		}
	}
	st.bytes += int64(len(msg))
	if !s.o.Timestamps {
		ts = nil
	}
	return s.out.write(prefix, ts, msg, flush)
}

// follow streams every pod matching selector, picking up pods that appear
// and dropping pods that go away, until ctx is done.
func (s *streamer) follow(ctx context.Context, ns, selector string) error {
	defer s.out.flush()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			return s.cs.CoreV1().Pods(ns).List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			return s.cs.CoreV1().Pods(ns).Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	var initialDone bool
	var initMu sync.Mutex
	consider := func(p *corev1.Pod, initial bool) {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			if p.DeletionTimestamp != nil {
				s.stop(p)
			}
			return
		}
		cs, err := s.o.containersOf(p, false)
		if err != nil {
			return
		}
		for _, c := range cs {
			po := s.o.podOptions(c)
			if !initial {
				// A pod that appeared while following: all of its lines.
				po.TailLines, po.SinceSeconds, po.SinceTime = nil, nil, nil
			}
			s.start(ctx, p, c, po)
		}
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			initMu.Lock()
			ready := initialDone
			initMu.Unlock()
			if isInInitialList || !ready {
				return
			}
			consider(obj.(*corev1.Pod), false)
		},
		UpdateFunc: func(_, obj any) {
			initMu.Lock()
			ready := initialDone
			initMu.Unlock()
			if ready {
				consider(obj.(*corev1.Pod), false)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				s.stop(p)
			}
		},
	})
	if err != nil {
		return err
	}
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	var initial []*corev1.Pod
	n := 0
	for _, obj := range inf.GetStore().List() {
		p := obj.(*corev1.Pod)
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			cs, err := s.o.containersOf(p, false)
			if err != nil {
				continue
			}
			n += len(cs)
			initial = append(initial, p)
		}
	}
	if n > s.o.MaxLogRequests {
		return capError(n, s.o.MaxLogRequests)
	}
	for _, p := range initial {
		consider(p, true)
	}
	initMu.Lock()
	initialDone = true
	initMu.Unlock()
	// Pods that started running while the first ones were being started.
	seen := map[*corev1.Pod]bool{}
	for _, p := range initial {
		seen[p] = true
	}
	for _, obj := range inf.GetStore().List() {
		if p := obj.(*corev1.Pod); !seen[p] {
			consider(p, false)
		}
	}
	<-ctx.Done()
	s.wg.Wait()
	return ctx.Err()
}
