package cmdutil

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/iostreams"
)

func TestConfirmAnswers(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false} {
		ios, stdin, _, errOut := iostreams.Test()
		ios.SetTTY(true, false, false)
		stdin.WriteString(in)
		ok, err := Confirm(context.Background(), ios, "Delete 1 object(s)?", "--yes")
		if err != nil || ok != want {
			t.Errorf("%q: got %v, %v", in, ok, err)
		}
		if !strings.Contains(errOut.String(), "Delete 1 object(s)? [y/N]: ") {
			t.Errorf("prompt %q", errOut)
		}
	}
}

// TestConfirmInterrupted: Ctrl-C while the prompt waits ends it at once,
// not at the next Enter.
func TestConfirmInterrupted(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	pr, pw := io.Pipe() // a terminal nobody types on
	defer pw.Close()
	ios.In = pr
	ios.SetTTY(true, false, false)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		ok, err := Confirm(ctx, ios, "Scale to zero?", "--yes")
		if ok {
			err = errors.New("answered yes")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt ignored the interrupt")
	}
}

func TestConfirmWithoutTerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	if _, err := Confirm(context.Background(), ios, "Delete?", "--yes"); err == nil || !strings.Contains(err.Error(), "stdin is not a terminal") {
		t.Errorf("got %v", err)
	}
}
