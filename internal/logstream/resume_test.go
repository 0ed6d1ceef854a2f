package logstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/errs"
)

// script is a fake API server: each log request gets the next answer; a
// pod GET says the container is running unless terminated is set.
type script struct {
	mu         sync.Mutex
	answers    []func(w http.ResponseWriter, r *http.Request)
	logReqs    int
	terminated bool
	podStatus  int // answer to pod GETs, 0 for 200
}

func status(code int, reason metav1.StatusReason, msg string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"message":%q,"code":%d}`, reason, msg, code)
	}
}

// lines answers lines from..to-1, one second apart; cut breaks the
// connection afterwards instead of ending the stream.
func lines(from, to int, cut bool) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		since := r.URL.Query().Get("sinceTime")
		for i := from; i < to; i++ {
			t := ts(i%60, 0)
			if since != "" && t < since {
				continue
			}
			fmt.Fprintf(w, "%s line-%03d\n", t, i)
		}
		w.(http.Flusher).Flush()
		if cut {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}
	}
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/log") {
		i := s.logReqs
		s.logReqs++
		if i >= len(s.answers) {
			i = len(s.answers) - 1
		}
		s.answers[i](w, r)
		return
	}
	if s.podStatus != 0 {
		status(s.podStatus, metav1.StatusReasonForbidden, "forbidden")(w, r)
		return
	}
	pod := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns","uid":"u1"},"status":{"phase":"Running","containerStatuses":[{"name":"app","state":{"running":{}}}]}}`
	if s.terminated {
		pod = strings.Replace(pod, `"running":{}`, `"terminated":{"exitCode":0}`, 1)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, pod)
}

func runFollow(t *testing.T, sc *script, window time.Duration) (string, string, error) {
	t.Helper()
	srv := httptest.NewServer(sc)
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	o := &Config{Out: out, ErrOut: errOut, Follow: true, ResumeWindow: window, MaxLogRequests: 5}
	s := newStreamer(cs, o, newOutput(out, false), false)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: types.UID("u1")}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.stream(ctx, pod, "app", o.podOptions("app"))
	s.out.flush()
	return out.String(), errOut.String(), err
}

func wantLines(t *testing.T, out string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if c := strings.Count(out, fmt.Sprintf("line-%03d\n", i)); c != 1 {
			t.Errorf("line %d seen %d times in:\n%s", i, c, out)
		}
	}
}

func TestFollowRetriesTransientAnswersAfterABreak(t *testing.T) {
	sc := &script{}
	sc.answers = []func(http.ResponseWriter, *http.Request){
		lines(0, 10, true), // the API server goes away mid-stream
		status(403, metav1.StatusReasonForbidden, "user cannot get pods/log"), // its authorizer is not synced yet
		status(502, metav1.StatusReasonServiceUnavailable, "the gateway cannot reach the API server"),
		status(404, metav1.StatusReasonNotFound, "the server could not find the requested resource"), // routes not installed yet
		func(w http.ResponseWriter, r *http.Request) {
			sc.terminated = true
			lines(0, 20, false)(w, r)
		},
	}
	out, stderr, err := runFollow(t, sc, 30*time.Second)
	if err != nil {
		t.Fatalf("err = %v\n%s", err, stderr)
	}
	wantLines(t, out, 20)
	if strings.Count(stderr, "resuming") != 1 {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestFollowReadsTheRestWhenTheContainerEndedWhileBroken(t *testing.T) {
	sc := &script{}
	sc.answers = []func(http.ResponseWriter, *http.Request){
		func(w http.ResponseWriter, r *http.Request) {
			sc.terminated = true // it ends while the stream is cut
			lines(0, 5, true)(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("follow") == "true" {
				t.Error("the rest of an ended container's log was asked for with follow")
			}
			lines(0, 12, false)(w, r)
		},
	}
	out, stderr, err := runFollow(t, sc, 10*time.Second)
	if err != nil {
		t.Fatalf("err = %v\n%s", err, stderr)
	}
	wantLines(t, out, 12)
}

func TestFollowGivesUpLoudly(t *testing.T) {
	for _, tc := range []struct {
		name string
		last func(http.ResponseWriter, *http.Request)
		kind errs.Kind
		msg  string
	}{
		{"403 persists", status(403, metav1.StatusReasonForbidden, "user cannot get pods/log"), errs.KindForbidden, "still refuses"},
		{"unavailable", status(503, metav1.StatusReasonServiceUnavailable, "down"), errs.KindUnavailable, "could not be resumed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &script{podStatus: 403}
			sc.answers = []func(http.ResponseWriter, *http.Request){lines(0, 3, true), tc.last}
			start := time.Now()
			out, _, err := runFollow(t, sc, time.Second)
			var ke *errs.Error
			if !errors.As(err, &ke) || ke.Kind != tc.kind || !strings.Contains(err.Error(), "pod/web/app") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want kind %v naming the pod", err, tc.kind)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("gave up after %s", took)
			}
			wantLines(t, out, 3)
		})
	}
}

func TestFirstRefusalIsFinal(t *testing.T) {
	sc := &script{}
	sc.answers = []func(http.ResponseWriter, *http.Request){status(403, metav1.StatusReasonForbidden, "no")}
	_, _, err := runFollow(t, sc, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "no") || sc.logReqs != 1 {
		t.Fatalf("err = %v after %d requests", err, sc.logReqs)
	}
}

func TestTransient(t *testing.T) {
	mk := func(code int, reason metav1.StatusReason, details *metav1.StatusDetails) error {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Code: int32(code), Reason: reason, Details: details}}
	}
	gatewayDecided := &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: errs.GatewayDecisionCause}}}
	podGone := mk(404, metav1.StatusReasonNotFound, &metav1.StatusDetails{Kind: "pods", Name: "web"})
	for _, tc := range []struct {
		err          error
		opened, want bool
	}{
		{mk(401, metav1.StatusReasonUnauthorized, nil), true, true},
		{mk(401, metav1.StatusReasonUnauthorized, nil), false, false},
		{mk(403, metav1.StatusReasonForbidden, nil), true, true},
		{mk(403, metav1.StatusReasonForbidden, nil), false, false},
		// The gateway's own refusal (a lock, the policy) is final even after a break.
		{mk(403, metav1.StatusReasonForbidden, gatewayDecided), true, false},
		{mk(401, metav1.StatusReasonUnauthorized, gatewayDecided), true, false},
		{mk(429, metav1.StatusReasonTooManyRequests, nil), false, true},
		{mk(500, metav1.StatusReasonInternalError, nil), false, true},
		{mk(502, metav1.StatusReasonServiceUnavailable, nil), false, true},
		{mk(503, metav1.StatusReasonServiceUnavailable, nil), false, true},
		{mk(504, metav1.StatusReasonTimeout, nil), false, true},
		{mk(404, metav1.StatusReasonNotFound, nil), true, true},
		{podGone, true, false},
		{mk(400, metav1.StatusReasonBadRequest, nil), false, false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false, true},
	} {
		if got := transient(tc.err, tc.opened); got != tc.want {
			t.Errorf("transient(%v, opened=%v) = %v", tc.err, tc.opened, got)
		}
	}
	if !isPodGone(podGone, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}}) || isPodGone(mk(404, metav1.StatusReasonNotFound, nil), nil) {
		t.Error("isPodGone")
	}
}

// TestFollowFailureIsNotSwallowed runs a failing follow through runPods, as
// `kgate logs -f POD` does: the error must come out (it was lost, exit 0).
func TestFollowFailureIsNotSwallowed(t *testing.T) {
	sc := &script{podStatus: 503}
	sc.answers = []func(http.ResponseWriter, *http.Request){lines(0, 3, true), status(503, metav1.StatusReasonServiceUnavailable, "down")}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	cs, _ := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	o := &Config{Out: out, ErrOut: errOut, Follow: true, ResumeWindow: time.Second, MaxLogRequests: 5}
	s := newStreamer(cs, o, newOutput(out, false), false)
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: types.UID("u1")},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	err := s.runPods(context.Background(), []corev1.Pod{pod})
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUnavailable || !strings.Contains(errOut.String(), "pod/web/app") {
		t.Fatalf("err = %v, stderr:\n%s", err, errOut.String())
	}
	wantLines(t, out.String(), 3)
}
