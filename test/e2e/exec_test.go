package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func webPod(t *testing.T, u *User) string {
	t.Helper()
	n := names(u.MustRun("get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	if len(n) == 0 {
		t.Fatal("no web pods in payments")
	}
	return strings.TrimPrefix(n[0], "pod/")
}

func TestExecStreamsAndExitCodes(t *testing.T) {
	u := Operator(t)
	for _, transport := range []string{"websocket", "spdy", "auto"} {
		t.Run(transport, func(t *testing.T) {
			r := u.Run("exec", "-n", "payments", "deploy/web", "--transport", transport, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
			WantCode(t, r, 3)
			if r.Stdout != "out\n" || r.Stderr != "err\n" {
				t.Errorf("streams not separated: %s", r)
			}
		})
	}
	r := u.Run("exec", "-n", "payments", "deploy/web", "--", "true")
	WantCode(t, r, 0)
	r = u.Run("exec", "-n", "payments", "deploy/web", "--", "sh", "-c", "kill -9 $$")
	WantCode(t, r, 137)
	r = u.Run("exec", "-n", "payments", "deploy/web", "--", "/no/such/command")
	WantCode(t, r, 127)

	// stdin is streamed and its end delivered: cat ends.
	r = u.RunStdin("hello\nworld\n", "exec", "-i", "-n", "payments", webPod(t, u), "-c", "app", "--", "cat")
	WantCode(t, r, 0)
	if r.Stdout != "hello\nworld\n" {
		t.Errorf("stdin: %s", r)
	}
	u.Setenv("KGATE_EXEC_TRANSPORT", "spdy")
	r = u.RunStdin("x\n", "exec", "-i", "-n", "payments", webPod(t, u), "--", "cat")
	if r.Code != 0 || r.Stdout != "x\n" {
		t.Errorf("stdin over SPDY: %s", r)
	}
}

func TestExecErrors(t *testing.T) {
	u := Operator(t)
	r := u.Run("exec", "-n", "payments", "no-such-pod", "--", "true")
	WantCode(t, r, 5)
	r = u.Run("exec", "-n", "payments", webPod(t, u), "-c", "no-such-container", "--", "true")
	WantCode(t, r, 5)
	if !strings.Contains(r.Stderr, "app, sidecar") {
		t.Errorf("container list missing: %s", r.Stderr)
	}
	WantCode(t, u.Run("exec", "-n", "payments", webPod(t, u)), 2)
	WantCode(t, u.Run("exec", "-n", "payments", webPod(t, u), "ls"), 2)
	WantCode(t, u.Run("exec", "-n", "payments", webPod(t, u), "--transport", "carrier-pigeon", "--", "true"), 2)
}

// tmux drives kgate under a real terminal.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, u *User, w, h int) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for terminal tests (make deps installs it)")
	}
	tm := &tmux{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	// No history file: bash would write it into HOME while the test removes it.
	env := []string{"-e", "HISTFILE="}
	for _, e := range u.Env {
		env = append(env, "-e", e)
	}
	args := append([]string{"new-session", "-d", "-c", t.TempDir(), "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}, env...)
	args = append(args, "bash", "--norc", "--noprofile")
	tm.run(args...)
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", tm.socket, "kill-server").Run()
		// kill-server returns before the panes' shells have exited.
		for i := 0; i < 50 && exec.Command("tmux", "-S", tm.socket, "has-session").Run() == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
	})
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (tm *tmux) send(keys ...string) { tm.run(append([]string{"send-keys", "-t", "0"}, keys...)...) }

func (tm *tmux) screen() string { return tm.run("capture-pane", "-p", "-t", "0") }

func (tm *tmux) waitFor(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(tm.screen(), s) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func TestExecTTY(t *testing.T) {
	u := Operator(t)
	pod := webPod(t, u)
	tm := newTmux(t, u, 100, 30)
	tm.send("stty -g > before.txt; PS1='local$ '; clear", "Enter")
	tm.send(fmt.Sprintf("%s exec -it -n payments %s -c app -- sh", kgateBin, pod), "Enter")
	time.Sleep(time.Second)
	tm.send("PS1='remote# '; stty size", "Enter")
	if !tm.waitFor("30 100", 15*time.Second) {
		t.Fatalf("remote terminal size is not 30 100:\n%s", tm.screen())
	}
	tm.run("resize-window", "-t", "0", "-x", "120", "-y", "40")
	time.Sleep(500 * time.Millisecond)
	tm.send("clear; stty size", "Enter")
	if !tm.waitFor("40 120", 15*time.Second) {
		t.Fatalf("resize not seen by the remote side:\n%s", tm.screen())
	}
	tm.send("exit 4", "Enter")
	// The remote side cleared the screen, so the local prompt shows only once kgate has exited.
	if !tm.waitFor("local$", 15*time.Second) {
		t.Fatalf("kgate did not return to the local shell:\n%s", tm.screen())
	}
	tm.send("echo code=$?; stty -g > after.txt; cmp before.txt after.txt && echo restored", "Enter")
	if !tm.waitFor("code=4", 15*time.Second) || !tm.waitFor("restored", 5*time.Second) {
		t.Fatalf("exit code or terminal state not restored:\n%s", tm.screen())
	}
}
