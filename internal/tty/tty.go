// Package tty puts the local terminal into raw mode for interactive exec and
// reports its size, at start and on every SIGWINCH.
package tty

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
	"k8s.io/client-go/tools/remotecommand"
)

// Terminal is the local terminal on a file descriptor.
type Terminal struct {
	fd      int
	mu      sync.Mutex
	restore func()
}

// New returns the terminal on f, or nil when f is not a terminal.
func New(f *os.File) *Terminal {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &Terminal{fd: int(f.Fd())}
}

// MakeRaw puts the terminal in raw mode. Restore undoes it; it is safe to
// call more than once, so every exit path can call it.
func (t *Terminal) MakeRaw() error {
	st, err := term.MakeRaw(t.fd)
	if err != nil {
		return err
	}
	var once sync.Once
	t.mu.Lock()
	t.restore = func() { once.Do(func() { _ = term.Restore(t.fd, st) }) }
	t.mu.Unlock()
	return nil
}

// Restore returns the terminal to the state it had before MakeRaw.
func (t *Terminal) Restore() {
	t.mu.Lock()
	r := t.restore
	t.mu.Unlock()
	if r != nil {
		r()
	}
}

// Size returns the terminal's size.
func (t *Terminal) Size() (remotecommand.TerminalSize, bool) {
	w, h, err := term.GetSize(t.fd)
	if err != nil || w <= 0 || h <= 0 {
		return remotecommand.TerminalSize{}, false
	}
	return remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}, true
}

// SizeQueue sends the terminal's size first and then after every SIGWINCH,
// until Stop.
type SizeQueue struct {
	t    *Terminal
	ch   chan remotecommand.TerminalSize
	sig  chan os.Signal
	done chan struct{}
	once sync.Once
}

// MonitorSize starts a SizeQueue for t.
func (t *Terminal) MonitorSize() *SizeQueue {
	q := &SizeQueue{t: t, ch: make(chan remotecommand.TerminalSize, 1), sig: make(chan os.Signal, 1), done: make(chan struct{})}
	if s, ok := t.Size(); ok {
		q.ch <- s
	}
	signal.Notify(q.sig, syscall.SIGWINCH)
	go func() {
		for {
			select {
			case <-q.done:
				return
			case <-q.sig:
				if s, ok := t.Size(); ok {
					select {
					case q.ch <- s:
					case <-q.done:
						return
					}
				}
			}
		}
	}()
	return q
}

// Next implements remotecommand.TerminalSizeQueue; nil ends the queue.
func (q *SizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s := <-q.ch:
		return &s
	case <-q.done:
		return nil
	}
}

// Stop ends the queue.
func (q *SizeQueue) Stop() {
	q.once.Do(func() {
		signal.Stop(q.sig)
		close(q.done)
	})
}
