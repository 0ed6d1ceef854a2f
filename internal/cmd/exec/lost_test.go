package exec

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/kgate/kgate/internal/errs"
)

// A stream cut off is told from an answer; the session's error is then
// unavailable (exit 6) and says the exit status is unknown.
func TestConnectionLost(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("error reading from error stream: next reader: %w", &websocket.CloseError{Code: websocket.CloseAbnormalClosure}),
		fmt.Errorf("error reading from error stream: %w", io.ErrUnexpectedEOF),
		fmt.Errorf("read: %w", syscall.ECONNRESET),
	} {
		if !cutOff(err) {
			t.Errorf("%v: not seen as a cut-off connection", err)
		}
	}
	for _, err := range []error{nil, errors.New("command terminated with exit code 3"), &websocket.CloseError{Code: websocket.CloseNormalClosure}} {
		if cutOff(err) {
			t.Errorf("%v: seen as a cut-off connection", err)
		}
	}
	lost := &lostError{cause: io.ErrUnexpectedEOF}
	if !errors.Is(lost, ErrConnectionLost) || !errors.Is(lost, io.ErrUnexpectedEOF) {
		t.Fatalf("%v does not unwrap to its parts", lost)
	}
	err := SessionLost(lost, errors.New("connection refused"))
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnavailable || e.Hint == "" {
		t.Fatalf("SessionLost: %#v, want an unavailable error with a next step", err)
	}
}
