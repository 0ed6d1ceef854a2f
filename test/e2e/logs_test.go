package e2e

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLogsSinglePod(t *testing.T) {
	u := Operator(t)
	pod := webPod(t, u)
	// The same lines as kubectl, for a fixed window of time.
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	r := u.MustRun("logs", "-n", "payments", pod, "--since-time", since, "--timestamps", "--limit-bytes", "2000")
	k := MustKubectl(t, "logs", "-n", "payments", pod, "--since-time", since, "--timestamps", "--limit-bytes", "2000")
	if r.Stdout != k.Stdout || r.Stdout == "" {
		t.Errorf("logs differ from kubectl's:\n%s\n---\n%s", r.Stdout, k.Stdout)
	}
	got := lines(u.MustRun("logs", "-n", "payments", pod, "--tail", "3").Stdout)
	if len(got) != 3 || !strings.Contains(got[0], pod+"/app line") {
		t.Errorf("--tail 3: %q", got)
	}
	for _, l := range lines(u.MustRun("logs", "-n", "payments", pod, "--tail", "2", "--timestamps").Stdout) {
		ts, _, _ := strings.Cut(l, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("--timestamps: %q", l)
		}
	}
	// --since: lines from the last 3 seconds only (the agent writes one a second).
	if n := len(lines(u.MustRun("logs", "-n", "payments", pod, "--since", "3s").Stdout)); n < 1 || n > 5 {
		t.Errorf("--since 3s gave %d lines", n)
	}
	side := lines(u.MustRun("logs", "-n", "payments", pod, "-c", "sidecar", "--tail", "1").Stdout)
	if len(side) != 1 || !strings.Contains(side[0], "/sidecar line") {
		t.Errorf("-c sidecar: %q", side)
	}
	WantCode(t, u.Run("logs", "-n", "payments", "no-such-pod"), 5)
	WantCode(t, u.Run("logs", "-n", "payments", pod, "-c", "nope"), 5)
	r = u.Run("logs", "-n", "payments", pod, "--previous")
	if r.Code == 0 || !strings.Contains(r.Stderr, "previous terminated container") {
		t.Errorf("--previous without a previous container: %s", r)
	}
	WantCode(t, u.Run("logs", "-n", "payments", pod, "--since", "1m", "--since-time", since), 2)
}

func TestLogsPrevious(t *testing.T) {
	u := Operator(t)
	// sandbox/quiet has restarted once; the agent keeps its previous log.
	dir := podLogDir(t, "sandbox", "quiet")
	prev := filepath.Join(dir, "main", "0.log")
	if err := os.WriteFile(prev, []byte(time.Now().UTC().Format(time.RFC3339Nano)+" stdout F from the previous instance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := u.MustRun("logs", "-n", "sandbox", "quiet", "--previous")
	if !strings.Contains(r.Stdout, "from the previous instance") {
		t.Errorf("--previous: %s", r)
	}
}

// podLogDir finds the CRI log directory of a pod, as the node agent lays it out.
func podLogDir(t *testing.T, ns, pod string) string {
	t.Helper()
	root := os.Getenv("KGATE_NODE_LOG_DIR")
	m, _ := filepath.Glob(filepath.Join(root, ns+"_"+pod+"_*"))
	if len(m) != 1 {
		t.Fatalf("log dir of %s/%s under %s: %v", ns, pod, root, m)
	}
	return m[0]
}

func TestLogsManyPods(t *testing.T) {
	u := Operator(t)
	out := u.MustRun("logs", "-n", "payments", "-l", "app=web", "--tail", "2", "--all-containers").Stdout
	pods := map[string]bool{}
	for _, l := range lines(out) {
		if !strings.HasPrefix(l, "[pod/web-") {
			t.Fatalf("unprefixed line %q", l)
		}
		p, _, _ := strings.Cut(strings.TrimPrefix(l, "[pod/"), "/")
		pods[p] = true
	}
	want := len(names(u.MustRun("get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout))
	if len(pods) != want || len(lines(out)) != want*2*2 {
		t.Errorf("%d pods (want %d), %d lines:\n%s", len(pods), want, len(lines(out)), out)
	}
	// A deployment stands for all of its pods.
	out = u.MustRun("logs", "-n", "search-prod", "deploy/indexer", "--tail", "1").Stdout
	if len(lines(out)) != 2 {
		t.Errorf("deploy/indexer: %q", out)
	}
	// Too many streams for the cap: a clear refusal.
	r := u.Run("logs", "-f", "-n", "payments", "-l", "app=web", "--all-containers", "--max-log-requests", "1")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "--max-log-requests") {
		t.Errorf("cap message: %s", r.Stderr)
	}
}

func TestLogsFollowPicksUpNewPods(t *testing.T) {
	u := Operator(t)
	ns := "search-dev"
	MustKubectl(t, "scale", "deploy/indexer", "-n", ns, "--replicas=1")
	p := u.Start("logs", "-f", "-n", ns, "deploy/indexer", "--tail", "1")
	if !p.WaitFor("[pod/indexer-", 20*time.Second) {
		t.Fatalf("no line from the first pod:\n%s", p.Output())
	}
	before := names(MustKubectl(t, "get", "pods", "-n", ns, "-l", "app=indexer", "-o", "name").Stdout)
	MustKubectl(t, "scale", "deploy/indexer", "-n", ns, "--replicas=2")
	defer Kubectl(t, "scale", "deploy/indexer", "-n", ns, "--replicas=1")
	var newPod string
	deadline := time.Now().Add(30 * time.Second)
	for newPod == "" && time.Now().Before(deadline) {
		for _, n := range names(MustKubectl(t, "get", "pods", "-n", ns, "-l", "app=indexer", "-o", "name").Stdout) {
			if !contains(before, n) {
				newPod = strings.TrimPrefix(n, "pod/")
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if newPod == "" {
		t.Fatal("scaling up made no new pod")
	}
	if !p.WaitFor("[pod/"+newPod+"/", 30*time.Second) {
		t.Fatalf("logs -f never picked up %s:\n%s", newPod, p.Output())
	}
	if code := p.Stop(); code != 130 {
		t.Errorf("Ctrl-C: exit %d, want 130", code)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestLogsResumeAcrossAPIServerRestart writes numbered lines into a pod's
// log while `logs -f` follows it, restarts kube-apiserver in the middle, and
// checks every line arrived exactly once.
func TestLogsResumeAcrossAPIServerRestart(t *testing.T) {
	u := Operator(t)
	dir := podLogDir(t, "sandbox", "quiet")
	logFile := currentLog(t, dir, "main")
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "%s stdout F resume-%s %06d\n", time.Now().UTC().Format(time.RFC3339Nano), tag, i)
			time.Sleep(5 * time.Millisecond)
		}
	}
	p := u.Start("logs", "-f", "-n", "sandbox", "quiet", "--since", "1s")
	write(0, 100)
	if !p.WaitFor(fmt.Sprintf("resume-%s %06d", tag, 99), 20*time.Second) {
		t.Fatalf("lines before the restart did not arrive:\n%s", p.Output())
	}
	restartAPIServer(t, func() { write(100, 300) })
	write(300, 400)
	if !p.WaitFor(fmt.Sprintf("resume-%s %06d", tag, 399), 60*time.Second) {
		t.Fatalf("lines after the restart did not arrive:\n%s", tail(p.Output(), 20))
	}
	time.Sleep(time.Second)
	p.Stop()
	seen := map[string]int{}
	for _, l := range lines(p.Output()) {
		if strings.HasPrefix(l, "resume-"+tag+" ") {
			seen[l]++
		}
	}
	for i := 0; i < 400; i++ {
		l := fmt.Sprintf("resume-%s %06d", tag, i)
		if seen[l] != 1 {
			t.Errorf("line %d seen %d times", i, seen[l])
		}
	}
	if !strings.Contains(p.Output(), "resuming") {
		t.Errorf("the stream never broke, so this proved nothing:\n%s", p.Output())
	}
}

func tail(s string, n int) string {
	l := lines(s)
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func currentLog(t *testing.T, dir, container string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, container, "*.log"))
	best, bestN := "", -1
	for _, f := range m {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".log"))
		if err == nil && n > bestN {
			best, bestN = f, n
		}
	}
	if best == "" {
		t.Fatalf("no log file under %s/%s", dir, container)
	}
	return best
}

// restartAPIServer stops kube-apiserver, runs during while it is down, and
// starts it again with the same command line, recording the new PID where
// test/env/down.sh looks for it.
func restartAPIServer(t *testing.T, during func()) {
	t.Helper()
	pidFile := filepath.Join(envDir, "pids", "kube-apiserver.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	// SIGTERM starts a graceful shutdown that waits for long-running requests
	// such as the very log stream under test; after a short grace, SIGKILL.
	_ = syscall.Kill(pid, syscall.SIGTERM)
	gone := func() bool { return syscall.Kill(pid, 0) != nil }
	for i := 0; i < 30 && !gone(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !gone() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for i := 0; i < 100 && !gone(); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !gone() {
		t.Fatalf("kube-apiserver (pid %d) did not stop", pid)
	}
	during()
	logf, err := os.OpenFile(filepath.Join(envDir, "logs", "kube-apiserver.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("the restarted kube-apiserver exited; see its log")
		default:
		}
		if r := Kubectl(t, "get", "--raw", "/readyz"); r.Code == 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal("kube-apiserver did not come back")
}

// TestLogsLarge streams a 100 MB log completely.
func TestLogsLarge(t *testing.T) {
	u := Operator(t)
	dir := podLogDir(t, "sandbox", "quiet")
	big := filepath.Join(dir, "main", "big-test.tmp")
	logFile := currentLog(t, dir, "main")
	// Build the file beside the live log, then swap it in whole.
	orig, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	h := sha256.New()
	ts := time.Now().Add(-time.Minute).UTC()
	payload := strings.Repeat("x", 180)
	n := 0
	for size := 0; size < 100<<20; n++ {
		msg := fmt.Sprintf("big %08d %s\n", n, payload)
		line := ts.Add(time.Duration(n)).Format(time.RFC3339Nano) + " stdout F " + msg
		w.WriteString(line)
		h.Write([]byte(msg))
		size += len(msg)
	}
	w.Flush()
	f.Close()
	if err := os.Rename(big, logFile); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(logFile, orig, 0o644)
	cmd := exec.Command(kgateBin, "logs", "-n", "sandbox", "quiet", "--since-time", ts.Add(-time.Second).Format(time.RFC3339))
	cmd.Env = u.Env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	count, _ := io.Copy(got, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kgate logs: %v", err)
	}
	if count < 100<<20 || fmt.Sprintf("%x", got.Sum(nil)) != fmt.Sprintf("%x", h.Sum(nil)) {
		t.Fatalf("streamed %d bytes; content differs from the %d lines written", count, n)
	}
}

// TestLogsIntoHead reads one line of a followed log and closes the pipe, as
// `kgate logs -f ... | head -1` does: kgate must end, quietly.
func TestLogsIntoHead(t *testing.T) {
	u := Operator(t)
	cmd := exec.Command(kgateBin, "logs", "-f", "-n", "payments", "deploy/web", "--all-containers")
	cmd.Env = u.Env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "[pod/web-") {
		t.Fatalf("first line %q: %v", first, err)
	}
	out.Close() // head exits
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("kgate kept running after its reader went away")
	}
	if stderr.Len() != 0 {
		t.Errorf("kgate printed to stderr: %q", stderr.String())
	}
}
