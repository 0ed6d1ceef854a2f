package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// attachTTYSession drives `attach -i -t` of argv (kgate's or kubectl's
// command line up to the pod) in a real terminal, to the main process of
// ns/pod (a container with stdin and tty: the node agent's shell), and
// checks what a user of kubectl attach sees: keystrokes reach the process,
// the terminal's size and a resize arrive (in the process and in the node
// agent's log), Ctrl-C goes to the process and does not end the session,
// the process's exit ends it with the reattach message and exit 0, and the
// local terminal comes back as it was.
func attachTTYSession(t *testing.T, u *User, argv, tool, ns, pod string) {
	t.Helper()
	tm := newTmux(t, u, 100, 30)
	tm.send("stty -g > before.txt; PS1='local$ '; clear", "Enter")
	tm.send(argv+" attach -it -n "+ns+" "+pod, "Enter")
	if !tm.waitFor("If you don't see a command prompt, try pressing enter.", 20*time.Second) {
		t.Fatalf("%s attach did not start:\n%s", tool, tm.screen())
	}
	time.Sleep(time.Second)
	tm.send("PS1='main# '; echo pod=$KGATE_POD; stty size", "Enter")
	if !tm.waitFor("pod="+pod, 15*time.Second) || !tm.waitFor("30 100", 5*time.Second) {
		t.Fatalf("%s: keystrokes or the terminal's size did not reach the process:\n%s", tool, tm.screen())
	}
	tm.run("resize-window", "-t", "0", "-x", "120", "-y", "40")
	time.Sleep(500 * time.Millisecond)
	tm.send("clear; stty size", "Enter")
	if !tm.waitFor("40 120", 15*time.Second) {
		t.Fatalf("%s: the resize did not reach the process:\n%s", tool, tm.screen())
	}
	if !agentLogHas(t, fmt.Sprintf(`pod="%s/%s"`, ns, pod), "width=120 height=40", 10*time.Second) {
		t.Errorf("%s: the node agent's log has no resize to 120x40 for %s/%s", tool, ns, pod)
	}
	// Ctrl-C is a keystroke for the process, in raw mode: it stops the
	// sleep, the session goes on.
	tm.send("clear; sleep 30", "Enter")
	time.Sleep(time.Second)
	tm.send("C-c")
	tm.send("echo after-$((40+2))", "Enter")
	if !tm.waitFor("after-42", 10*time.Second) {
		t.Fatalf("%s: Ctrl-C did not reach the process, or ended the session:\n%s", tool, tm.screen())
	}
	// The process's exit ends the container's session: exit 0 and how to come back.
	tm.send("exit 3", "Enter")
	if !tm.waitFor("Session ended, resume using '"+tool+" attach "+pod+" -c main -n "+ns+" -i -t'", 15*time.Second) {
		t.Fatalf("%s: no reattach message after the process ended:\n%s", tool, tm.screen())
	}
	tm.send("echo code=$?; stty -g > after.txt; cmp before.txt after.txt && echo restored", "Enter")
	if !tm.waitFor("code=0", 10*time.Second) || !tm.waitFor("restored", 5*time.Second) {
		t.Fatalf("%s: exit code or terminal state after the session:\n%s", tool, tm.screen())
	}
}

// agentLogHas waits until one line of the node agent's log has every part.
func agentLogHas(t *testing.T, part1, part2 string, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(filepath.Join(envDir, "logs", "nodeagent.log"))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, part1) && strings.Contains(l, part2) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const stdinTTY = "    stdin: true\n    tty: true"

// kgate attach -i -t behaves as kubectl's, which runs the same session first.
func TestAttachTTY(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "attach-tty", "", stdinTTY)
	kubectl := fmt.Sprintf("HOME=%s KUBECONFIG=%s %s", t.TempDir(), kubeconfig, kubectlBin)
	attachTTYSession(t, erin, kubectl, "kubectl", "sandbox", "attach-tty")
	// The process ended; attaching again starts it again (the container's restart).
	attachTTYSession(t, erin, kgateBin, "kgate", "sandbox", "attach-tty")
}

func TestAttachTTYThroughGateway(t *testing.T) {
	g := sharedGateway(t)
	alice := gwUser(t, g, "alice")
	testPod(t, "payments", "gw-attach-tty", "", stdinTTY)
	attachTTYSession(t, alice, kgateBin, "kgate", "payments", "gw-attach-tty")
	if l := g.lastAudit(map[string]string{"user": "alice", "subresource": "attach"}); l["decision"] != "allow" {
		t.Errorf("attach audit through the gateway: %v", l)
	}
}

// Without a terminal: -i feeds the process, and a stdinOnce container's
// stdin closes at the end of the client's (its shell exits, the session
// ends). -t on a container without a terminal says so and goes on without.
func TestAttachStdin(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "attach-stdin", "", "    stdin: true\n    stdinOnce: true")
	r := erin.RunStdin("echo piped-$((20+1))\nexit 0\n", "attach", "-i", "-n", "sandbox", "attach-stdin")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "piped-21") {
		t.Errorf("stdin did not reach the process: %s", r)
	}
	if !strings.Contains(r.Stderr, "recorded in container logs") {
		t.Errorf("no warning that the session is logged: %s", r)
	}
	// What the process printed is in the container's log, as a runtime keeps it.
	if l := MustKubectl(t, "logs", "-n", "sandbox", "attach-stdin").Stdout; !strings.Contains(l, "piped-21") {
		t.Errorf("the session's output is not in the container's log: %q", l)
	}
	testPod(t, "sandbox", "attach-notty", "", "    stdin: true\n    stdinOnce: true")
	r = erin.RunStdin("exit 0\n", "attach", "-it", "-n", "sandbox", "attach-notty", "-q")
	WantCode(t, r, 0)
	r = erin.RunStdin("exit 0\n", "attach", "-it", "-n", "sandbox", "attach-notty")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "Unable to use a TTY - container main did not allocate one") {
		t.Errorf("-t on a container without a terminal: %s", r)
	}
}
