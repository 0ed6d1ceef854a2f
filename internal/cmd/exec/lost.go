package exec

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/klog/v2"
)

// ErrConnectionLost is a session whose connection to the API server (or
// the gateway) broke off before the remote command's exit status arrived:
// whether the command finished, and how, is unknown.
var ErrConnectionLost = errors.New("the connection to the API server was lost before the command's exit status arrived")

// lostError is ErrConnectionLost with what the stream saw.
type lostError struct{ cause error }

func (e *lostError) Error() string {
	if e.cause == nil {
		return ErrConnectionLost.Error()
	}
	return ErrConnectionLost.Error() + " (" + e.cause.Error() + ")"
}

func (e *lostError) Unwrap() []error { return []error{ErrConnectionLost, e.cause} }

// cutOff reports whether a stream's error is its connection breaking off
// (the API server stopped, a proxy or the network cut it) rather than an
// answer: a WebSocket closed without a close frame, an unexpected EOF, a
// reset connection.
func cutOff(err error) bool {
	if err == nil {
		return false
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code == websocket.CloseAbnormalClosure || ce.Code == websocket.CloseGoingAway
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// client-go's SPDY streams report a torn connection in words only.
	msg := err.Error()
	return strings.Contains(msg, "error reading from error stream") &&
		(strings.Contains(msg, "connection reset") || strings.Contains(msg, "use of closed network connection"))
}

// watchedSPDY is an SPDY executor that notices a connection that ended
// without an exit status. From protocol v4 on, the node always writes a
// Status to the error stream, Success included; client-go reads an empty
// error stream as success, so a connection cut off in the middle would
// look like exit 0.
type watchedSPDY struct {
	remotecommand.Executor
	w *streamWatch
}

func newWatchedSPDY(cfg *rest.Config, u *url.URL) (*watchedSPDY, error) {
	rt, up, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	w := &streamWatch{}
	ex, err := remotecommand.NewSPDYExecutorForTransports(rt, &watchedUpgrader{Upgrader: up, w: w}, "POST", u)
	if err != nil {
		return nil, err
	}
	return &watchedSPDY{Executor: ex, w: w}, nil
}

// StreamWithContext implements remotecommand.Executor.
func (s *watchedSPDY) StreamWithContext(ctx context.Context, opts remotecommand.StreamOptions) error {
	err := s.Executor.StreamWithContext(ctx, opts)
	if err == nil && ctx.Err() == nil && s.w.statusExpected() && s.w.errorBytes.Load() == 0 {
		return &lostError{}
	}
	return err
}

// streamWatch is what watchedSPDY saw of its connection.
type streamWatch struct {
	mu         sync.Mutex
	protocol   string
	errorBytes atomic.Int64
}

// statusExpected reports whether the negotiated protocol always sends a
// Status on the error stream (v4 and later).
func (w *streamWatch) statusExpected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.protocol {
	case remotecommandconsts.StreamProtocolV4Name, remotecommandconsts.StreamProtocolV5Name:
		return true
	}
	return false
}

type watchedUpgrader struct {
	spdy.Upgrader
	w *streamWatch
}

func (u *watchedUpgrader) NewConnection(resp *http.Response) (httpstream.Connection, error) {
	c, err := u.Upgrader.NewConnection(resp)
	if err != nil {
		return nil, err
	}
	u.w.mu.Lock()
	u.w.protocol = resp.Header.Get(httpstream.HeaderProtocolVersion)
	u.w.mu.Unlock()
	return &watchedConn{Connection: c, w: u.w}, nil
}

type watchedConn struct {
	httpstream.Connection
	w *streamWatch
}

func (c *watchedConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	s, err := c.Connection.CreateStream(h)
	if err != nil || h.Get(corev1.StreamType) != corev1.StreamTypeError {
		return s, err
	}
	return &countedStream{Stream: s, n: &c.w.errorBytes}, nil
}

type countedStream struct {
	httpstream.Stream
	n *atomic.Int64
}

func (s *countedStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	s.n.Add(int64(n))
	return n, err
}

// quietStreamErrors routes client-go's errors that it cannot return (the
// copying of a stream cut off: "Copying stdout failed") to klog at -v 2
// instead of printing them as "UnhandledError" lines: the session's own
// error already says what happened. Only the CLI's streams call it; the
// gateway keeps client-go's handlers.
var quietStreamErrors = sync.OnceFunc(func() {
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{
		func(ctx context.Context, err error, msg string, kv ...interface{}) {
			klog.FromContext(ctx).V(2).Info(msg, append(kv, "err", err)...)
		},
	}
})
