package exec

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubectl/pkg/cmd/util/podcmd"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/tty"
)

// FindContainer returns the container of pod called name, or, when name is
// empty, the pod's default one (its kubectl.kubernetes.io/default-container,
// else the first), saying on warn which it chose unless quiet. A name the pod
// has not is a not-found error listing the containers it has.
func FindContainer(pod *corev1.Pod, name string, quiet bool, warn io.Writer) (*corev1.Container, error) {
	if name != "" {
		if c, _ := podcmd.FindContainerByName(pod, name); c == nil {
			return nil, errs.NotFoundErrorf("container %q not found in pod %q; its containers are: %s", name, pod.Name, podcmd.AllContainerNames(pod))
		}
	}
	if quiet {
		warn = io.Discard
	}
	c, err := podcmd.FindOrDefaultContainerByName(pod, name, quiet, warn)
	if err != nil {
		return nil, errs.NotFoundErrorf("%v", err)
	}
	return c, nil
}

// Streams are the local end of an exec or attach session: the user's
// streams and, with TTY, the terminal the session takes over.
type Streams struct {
	IO       *iostreams.IOStreams
	Terminal func() *tty.Terminal
	Stdin    bool
	TTY      bool
	Quiet    bool
	// Prompt is said before an interactive session (attach: "If you don't
	// see a command prompt, try pressing enter.").
	Prompt []string
}

// Local is an opened local end: the stream options of the session (Tty
// says whether a terminal is used) and whether the terminal is in raw mode.
type Local struct {
	Options remotecommand.StreamOptions
	Raw     bool
	undo    []func()
}

// Close gives the terminal back: out of raw mode, its size no longer sent.
func (l *Local) Close() {
	for i := len(l.undo) - 1; i >= 0; i-- {
		l.undo[i]()
	}
	l.undo = nil
}

// Open opens the local end. Without a terminal on stdin, -t is dropped with
// a warning, as kubectl does; with a terminal and stdin, the terminal is put
// in raw mode until Close or until ctx ends.
func (s Streams) Open(ctx context.Context) (*Local, error) {
	var term *tty.Terminal
	useTTY := s.TTY
	if useTTY {
		if s.Terminal != nil {
			term = s.Terminal()
		}
		if term == nil && s.Stdin {
			if !s.Quiet {
				fmt.Fprintln(s.IO.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
			}
			useTTY = false
		}
	}
	if !s.Quiet && s.Stdin {
		for _, line := range s.Prompt {
			fmt.Fprintln(s.IO.ErrOut, line)
		}
	}
	l := &Local{Options: remotecommand.StreamOptions{Stdout: s.IO.Out, Tty: useTTY}}
	if s.Stdin {
		l.Options.Stdin = s.IO.In
	}
	if !useTTY {
		l.Options.Stderr = s.IO.ErrOut
	}
	if useTTY && term != nil {
		q := term.MonitorSize()
		l.undo = append(l.undo, q.Stop)
		l.Options.TerminalSizeQueue = q
		if s.Stdin {
			if err := term.MakeRaw(); err != nil {
				l.Close()
				return nil, fmt.Errorf("putting the terminal in raw mode: %w", err)
			}
			l.Raw = true
			l.undo = append(l.undo, term.Restore)
			// A cancelled context (Ctrl-C is a byte in raw mode, but
			// SIGTERM is not) must also give the terminal back.
			go func() { <-ctx.Done(); term.Restore() }()
		}
	}
	return l, nil
}
