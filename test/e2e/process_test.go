package e2e

import (
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Operator returns a user who may do everything the tests of a command need
// (a super admin once login and policy are in place).
func Operator(t *testing.T) *User {
	t.Helper()
	return operatorHook(t)
}

// operatorHook is replaced by the login/policy tests' setup.
var operatorHook = func(t *testing.T) *User { return NewUser(t) }

// Proc is a kgate process running in the background (watch, logs -f).
type Proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
	Code int
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// Start runs kgate in the background; stdout and stderr are collected together.
func (u *User) Start(args ...string) *Proc {
	u.t.Helper()
	p := &Proc{t: u.t, done: make(chan struct{})}
	p.cmd = exec.Command(kgateBin, args...)
	p.cmd.Env = u.Env
	p.cmd.Stdout = lockedWriter{p}
	p.cmd.Stderr = lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.Code = p.cmd.ProcessState.ExitCode()
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.Code = 128 + int(ws.Signal())
		}
		close(p.done)
	}()
	u.t.Cleanup(p.Kill)
	return p
}

// Output is everything printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// WaitFor waits until the output contains s.
func (p *Proc) WaitFor(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.Output(), s) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.Output(), s)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// Stop sends SIGINT and waits for the process to end; it returns the exit code.
func (p *Proc) Stop() int {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("process did not end on SIGINT:\n%s", p.Output())
		p.Kill()
		<-p.done
	}
	return p.Code
}

// Wait waits for the process to end by itself.
func (p *Proc) Wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.Code, true
	case <-time.After(d):
		return 0, false
	}
}

// Kill ends the process if it still runs.
func (p *Proc) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
	}
}
