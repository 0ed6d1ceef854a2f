package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream"
)

// MaxRequestBody bounds an API request body, as kube-apiserver bounds it
// (3 MiB); a larger one is refused with 413 before it is read.
const MaxRequestBody = 3 << 20

// loginBodyTimeout bounds the time to send a login request's body.
const loginBodyTimeout = 10 * time.Second

// limitedBody is a request body bounded in size and in the time to send it.
// The deadline is lifted once the body has been read to its end: what
// follows (waiting for the API server's answer) is not the client's to
// hurry, and a deadline left on the connection would end the request.
type limitedBody struct {
	io.ReadCloser
	rc *http.ResponseController

	mu   sync.Mutex
	err  error // the first error that was the client's fault
	done bool
}

// limitBody bounds r's body to max bytes and timeout. It answers 413 itself
// (and reports false) when the declared length is already too large.
func limitBody(w http.ResponseWriter, r *http.Request, max int64, timeout time.Duration) (*limitedBody, bool) {
	if r.ContentLength > max {
		w.Header().Set("Connection", "close")
		writeStatus(w, http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge, tooLarge(max), nil)
		return nil, false
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	lb := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, max), rc: http.NewResponseController(w)}
	if err := lb.rc.SetReadDeadline(time.Now().Add(timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return nil, false
	}
	r.Body = lb
	return lb, true
}

func tooLarge(max int64) string {
	return "the request body is larger than the gateway accepts (" + sizeString(max) + ")"
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// limitAPIBody bounds the body of an API request (not of an upgrade, whose
// streams are long by design); false when it has answered already. The
// request it returns carries the body in its context, for the proxy's error
// handler (the proxy wraps the body itself).
func (g *Gateway) limitAPIBody(rec *recorder, r *http.Request) (*http.Request, bool) {
	if httpstream.IsUpgradeRequest(r) {
		return r, true
	}
	lb, ok := limitBody(rec, r, MaxRequestBody, g.o.RequestBodyTimeout)
	if !ok {
		rec.verb = "invalid"
		return r, false
	}
	if lb == nil {
		return r, true
	}
	return r.WithContext(context.WithValue(r.Context(), bodyKey{}, lb)), true
}

type bodyKey struct{}

// errClientBody fails a proxied request whose body the client did not send
// in time or in size, even when the API server answered (to what it got).
var errClientBody = errors.New("the client's request body failed")

// bodyFaultOf is the fault of the request body in ctx, if any.
func bodyFaultOf(ctx context.Context) (int, metav1.StatusReason, string, bool) {
	lb, _ := ctx.Value(bodyKey{}).(*limitedBody)
	return lb.clientFault()
}

// checkBody is the proxy's ModifyResponse.
func checkBody(resp *http.Response) error {
	if _, _, _, bad := bodyFaultOf(resp.Request.Context()); bad {
		resp.Body.Close()
		return errClientBody
	}
	return nil
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		var mbe *http.MaxBytesError
		switch {
		case err == io.EOF:
			if !b.done {
				b.done = true
				_ = b.rc.SetReadDeadline(time.Time{})
			}
		case errors.As(err, &mbe) || errors.Is(err, os.ErrDeadlineExceeded):
			if b.err == nil {
				b.err = err
			}
		}
	}
	return n, err
}

// clientFault reports the status and message for a body the client failed
// to send in time or in size, if that is why a request failed.
func (b *limitedBody) clientFault() (int, metav1.StatusReason, string, bool) {
	if b == nil {
		return 0, "", "", false
	}
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	return bodyFault(err)
}

func bodyFault(err error) (int, metav1.StatusReason, string, bool) {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return 0, "", "", false
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge, tooLarge(mbe.Limit), true
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, metav1.StatusReasonTimeout, "the request body did not arrive in time", true
	}
	return 0, "", "", false
}
