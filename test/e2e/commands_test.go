package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// testPod creates a kwok pod in ns (one container "main", extra YAML lines
// under the container and the pod's annotations), removed at the end, and
// waits until it runs.
func testPod(t *testing.T, ns, name, annotations, containerExtra string) {
	t.Helper()
	if annotations == "" {
		annotations = `kgate.dev/log-interval: "0"`
	}
	y := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s, kgate.dev/test: commands}
  annotations: {%[3]s}
spec:
  nodeSelector: {type: kwok}
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  containers:
  - name: main
    image: registry.example.com/app:1
%[4]s
`, name, ns, annotations, containerExtra)
	f := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	MustKubectl(t, "apply", "-f", f)
	t.Cleanup(func() {
		Kubectl(t, "delete", "pod", name, "-n", ns, "--ignore-not-found", "--wait=false", "--grace-period=0", "--force")
	})
	waitPods(t, ns, "app="+name, 1)
}

func lastLine(s string) string {
	l := lines(s)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

func TestRollout(t *testing.T) {
	erin := policyUser(t, "erin") // admin of sandbox
	workload(t, "sandbox", "roll-me", 2)

	r := erin.MustRun("rollout", "status", "deploy/roll-me", "-n", "sandbox", "--timeout=60s")
	want := MustKubectl(t, "rollout", "status", "deploy/roll-me", "-n", "sandbox").Stdout
	if r.Stdout != want {
		t.Errorf("status of a settled rollout: kgate %q, kubectl %q", r.Stdout, want)
	}

	r = erin.MustRun("rollout", "restart", "deploy/roll-me", "-n", "sandbox")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me restarted" {
		t.Errorf("restart: %q", r.Stdout)
	}
	// status follows until the new ReplicaSet's pods are ready (kwok follows).
	r = erin.MustRun("rollout", "status", "deploy/roll-me", "-n", "sandbox", "--timeout=90s")
	if lastLine(r.Stdout) != `deployment "roll-me" successfully rolled out` {
		t.Errorf("status after restart: %s", r)
	}
	rs := Kubectl(t, "get", "rs", "-n", "sandbox", "-l", "app=roll-me", "-o", "name").Stdout
	if len(lines(rs)) != 2 {
		t.Errorf("want two ReplicaSets after a restart, have %q", rs)
	}

	// history is kubectl's, character for character.
	r = erin.MustRun("rollout", "history", "deploy/roll-me", "-n", "sandbox")
	if want := MustKubectl(t, "rollout", "history", "deploy/roll-me", "-n", "sandbox").Stdout; r.Stdout != want {
		t.Errorf("history: kgate %q, kubectl %q", r.Stdout, want)
	}
	r = erin.MustRun("rollout", "history", "deploy/roll-me", "-n", "sandbox", "--revision=1")
	if want := MustKubectl(t, "rollout", "history", "deploy/roll-me", "-n", "sandbox", "--revision=1").Stdout; r.Stdout != want {
		t.Errorf("history --revision=1: kgate %q, kubectl %q", r.Stdout, want)
	}
	WantCode(t, erin.Run("rollout", "history", "deploy/roll-me", "-n", "sandbox", "--revision=42"), 5)

	// undo: a script must say --yes; then back to revision 1.
	r = erin.Run("rollout", "undo", "deploy/roll-me", "-n", "sandbox")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "--yes") {
		t.Errorf("undo without --yes: %s", r)
	}
	before := MustKubectl(t, "get", "deploy/roll-me", "-n", "sandbox", "-o", "jsonpath={.spec.template.metadata.annotations}").Stdout
	if !strings.Contains(before, "restartedAt") {
		t.Fatalf("the restart left no annotation: %q", before)
	}
	r = erin.MustRun("rollout", "undo", "deploy/roll-me", "-n", "sandbox", "--dry-run=server", "--yes")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me rolled back (server dry run)" {
		t.Errorf("undo --dry-run=server: %q", r.Stdout)
	}
	WantCode(t, erin.Run("rollout", "undo", "deploy/roll-me", "-n", "sandbox", "--to-revision=42", "--yes"), 5)
	r = erin.MustRun("rollout", "undo", "deploy/roll-me", "-n", "sandbox", "--to-revision=1", "--yes")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me rolled back" {
		t.Errorf("undo: %q", r.Stdout)
	}
	erin.MustRun("rollout", "status", "deploy/roll-me", "-n", "sandbox", "--timeout=90s")
	after := MustKubectl(t, "get", "deploy/roll-me", "-n", "sandbox", "-o", "jsonpath={.spec.template.metadata.annotations}").Stdout
	if strings.Contains(after, "restartedAt") {
		t.Errorf("undo did not bring revision 1's template back: %q", after)
	}

	// pause and resume, with kubectl's words.
	r = erin.MustRun("rollout", "pause", "deploy/roll-me", "-n", "sandbox")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me paused" {
		t.Errorf("pause: %q", r.Stdout)
	}
	r = erin.MustRun("rollout", "pause", "deploy/roll-me", "-n", "sandbox")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me already paused" {
		t.Errorf("pause again: %q", r.Stdout)
	}
	r = erin.Run("rollout", "restart", "deploy/roll-me", "-n", "sandbox")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "paused") {
		t.Errorf("restart of a paused deployment: %s", r)
	}
	erin.MustRun("rollout", "resume", "deploy", "-l", "app=roll-me", "-n", "sandbox")
	if p := MustKubectl(t, "get", "deploy/roll-me", "-n", "sandbox", "-o", "jsonpath={.spec.paused}").Stdout; p == "true" {
		t.Error("still paused after resume")
	}

	// --dry-run=client changes nothing; -o name prints names.
	gen := MustKubectl(t, "get", "deploy/roll-me", "-n", "sandbox", "-o", "jsonpath={.metadata.generation}").Stdout
	r = erin.MustRun("rollout", "restart", "deploy/roll-me", "-n", "sandbox", "--dry-run=client")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/roll-me restarted (dry run)" {
		t.Errorf("restart --dry-run=client: %q", r.Stdout)
	}
	if g := MustKubectl(t, "get", "deploy/roll-me", "-n", "sandbox", "-o", "jsonpath={.metadata.generation}").Stdout; g != gen {
		t.Errorf("a client dry run changed the deployment: generation %s -> %s", gen, g)
	}

	// Bad input.
	WantCode(t, erin.Run("rollout", "restart", "cm/settings", "-n", "sandbox"), 2)
	WantCode(t, erin.Run("rollout", "status", "deploy/no-such", "-n", "sandbox"), 5)
	WantCode(t, erin.Run("rollout", "status", "deploy/roll-me", "deploy/other", "-n", "sandbox"), 2)
	WantCode(t, erin.Run("rollout", "bogus"), 2)
}

func TestRolloutStatusTimesOut(t *testing.T) {
	erin := policyUser(t, "erin")
	workload(t, "sandbox", "never-ready", 1)
	// A template whose pods never exist: an impossible node selector.
	MustKubectl(t, "patch", "deploy/never-ready", "-n", "sandbox", "--type=merge", "-p",
		`{"spec":{"template":{"spec":{"nodeSelector":{"type":"no-such-node"}}}}}`)
	start := time.Now()
	r := erin.Run("rollout", "status", "deploy/never-ready", "-n", "sandbox", "--timeout=3s")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "timed out") || time.Since(start) > 30*time.Second {
		t.Errorf("status --timeout: %s", r)
	}
	if !strings.Contains(r.Stdout, "Waiting for deployment") {
		t.Errorf("status printed no progress: %q", r.Stdout)
	}
	// Past its progress deadline the rollout has failed: status says so and
	// exits non-zero without waiting for --timeout.
	MustKubectl(t, "patch", "deploy/never-ready", "-n", "sandbox", "--type=merge", "-p", `{"spec":{"progressDeadlineSeconds":1}}`)
	r = erin.Run("rollout", "status", "deploy/never-ready", "-n", "sandbox", "--timeout=100s")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "exceeded its progress deadline") {
		t.Errorf("status of a failed rollout: %s", r)
	}
}

func TestLabelAndAnnotateMatchKubectl(t *testing.T) {
	erin := policyUser(t, "erin")
	for _, cm := range [][2]string{{"lbl-a", "set-a"}, {"lbl-b", "set-a"}, {"lbl-k", "set-k"}} {
		labelledConfigMap(t, "sandbox", cm[0], "kgate.dev/test="+cm[1])
		name := cm[0]
		t.Cleanup(func() { Kubectl(t, "delete", "configmap", name, "-n", "sandbox", "--ignore-not-found") })
	}

	for _, step := range [][]string{
		{"label", "cm/%s", "tier=web"},
		{"label", "cm/%s", "tier=db"},
		{"label", "cm/%s", "tier=db", "--overwrite"},
		{"label", "cm/%s", "tier=db"},
		{"label", "cm/%s", "tier-"},
		{"label", "cm/%s", "gone-"},
		{"label", "cm/%s", "x=1", "--dry-run=client"},
		{"label", "cm/%s", "x=1", "--dry-run=server"},
		{"annotate", "cm/%s", "owner=team-a"},
		{"annotate", "cm/%s", "owner=team-b"},
		{"annotate", "cm/%s", "owner=team-b", "--overwrite"},
		{"annotate", "cm/%s", "owner-"},
		{"label", "cm/%s", "bad key=1"},
		{"label", "cm/%s", "-o", "name", "y=2"},
	} {
		kg := make([]string, len(step))
		kc := make([]string, len(step))
		for i, a := range step {
			kg[i], kc[i] = fmt.Sprintf(a, "lbl-a"), fmt.Sprintf(a, "lbl-k")
		}
		got := erin.Run(append(kg, "-n", "sandbox")...)
		want := Kubectl(t, append(kc, "-n", "sandbox")...)
		if (got.Code == 0) != (want.Code == 0) || strings.ReplaceAll(got.Stdout, "lbl-a", "X") != strings.ReplaceAll(want.Stdout, "lbl-k", "X") {
			t.Errorf("%v:\nkgate %s\nkubectl %s", step, got, want)
		}
	}
	a := MustKubectl(t, "get", "cm/lbl-a", "-n", "sandbox", "-o", "jsonpath={.metadata.labels} {.metadata.annotations}").Stdout
	k := MustKubectl(t, "get", "cm/lbl-k", "-n", "sandbox", "-o", "jsonpath={.metadata.labels} {.metadata.annotations}").Stdout
	if strings.ReplaceAll(a, "set-a", "S") != strings.ReplaceAll(k, "set-k", "S") {
		t.Errorf("labels and annotations differ: kgate's %s, kubectl's %s", a, k)
	}
	// -l changes every match; exit codes of bad input.
	r := erin.MustRun("label", "cm", "-l", "kgate.dev/test=set-a", "-n", "sandbox", "sel=yes")
	if got := strings.Fields(r.Stdout); len(got) != 4 {
		t.Errorf("label -l: %q", r.Stdout)
	}
	WantCode(t, erin.Run("label", "cm/lbl-a", "-n", "sandbox", "tier=web", "tier-"), 2)
	WantCode(t, erin.Run("label", "cm/no-such", "-n", "sandbox", "a=b"), 5)
	WantCode(t, erin.Run("label", "cm/lbl-a", "-n", "sandbox"), 2)
	r = erin.Run("label", "cm/lbl-a", "-n", "sandbox", "sel=no")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "--overwrite") {
		t.Errorf("an existing label without --overwrite: %s", r)
	}
}

// event creates a core/v1 Event about a ConfigMap at a fixed time.
func event(t *testing.T, ns, name, about, typ, reason string, at time.Time) {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: v1
kind: Event
metadata: {name: %s, namespace: %s}
involvedObject: {kind: ConfigMap, apiVersion: v1, name: %s, namespace: %s}
type: %s
reason: %s
message: %s happened to %s
source: {component: kgate-e2e}
firstTimestamp: %s
lastTimestamp: %s
count: 1
`, name, ns, about, ns, typ, reason, reason, about, at.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	f := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	MustKubectl(t, "apply", "-f", f)
	t.Cleanup(func() { Kubectl(t, "delete", "event", name, "-n", ns, "--ignore-not-found") })
}

func TestEventsMatchKubectl(t *testing.T) {
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	// Created out of order: both must print them oldest first.
	event(t, "payments", "ev-3", "ev-target", "Normal", "Third", base.Add(2*time.Minute))
	event(t, "payments", "ev-1", "ev-target", "Normal", "First", base)
	event(t, "payments", "ev-2", "ev-target", "Warning", "Second", base.Add(time.Minute))
	event(t, "payments", "ev-x", "ev-other", "Warning", "Elsewhere", base)
	event(t, "sandbox", "ev-s", "ev-target", "Warning", "Sandboxed", base)

	bob := policyUser(t, "bob") // guest of payments
	for _, args := range [][]string{
		{"events", "-n", "payments", "--for", "cm/ev-target"},
		{"events", "-n", "payments", "--for", "configmap/ev-target", "--types=Warning"},
		{"events", "-n", "payments", "--for", "cm/ev-target", "--types=Warning,Normal", "--no-headers"},
		{"events", "-n", "payments", "--for", "cm/ev-target", "-o", "json"},
	} {
		got := bob.MustRun(args...)
		want := MustKubectl(t, args...)
		if args[len(args)-1] == "json" {
			if names(got.Stdout) == nil || !strings.Contains(got.Stdout, `"reason": "First"`) || strings.Index(got.Stdout, `"First"`) > strings.Index(got.Stdout, `"Third"`) {
				t.Errorf("%v: %s", args, got)
			}
			continue
		}
		if got.Stdout != want.Stdout {
			t.Errorf("%v:\nkgate:\n%s\nkubectl:\n%s", args, got.Stdout, want.Stdout)
		}
	}
	// -A: only the namespaces of bob's projects.
	r := bob.MustRun("events", "-A", "--types=Warning")
	if !strings.Contains(r.Stdout, "Elsewhere") || strings.Contains(r.Stdout, "Sandboxed") {
		t.Errorf("events -A as bob: %s", r)
	}
	if !strings.HasPrefix(r.Stdout, "NAMESPACE") {
		t.Errorf("events -A has no NAMESPACE column: %q", firstLines(r.Stdout, 1))
	}
	// sandbox is not bob's.
	wantDenied(t, bob.Run("events", "-n", "sandbox"), "bob", "sandbox")
	WantCode(t, bob.Run("events", "-n", "payments", "--types=Bad"), 2)
	WantCode(t, bob.Run("events", "-n", "payments", "--for", "nope"), 2)

	// -w prints what comes after the list.
	p := bob.Start("events", "-n", "payments", "--for", "cm/ev-target", "-w")
	if !p.WaitFor("Third", 20*time.Second) {
		t.Fatalf("events -w printed no list: %s", p.Output())
	}
	event(t, "payments", "ev-4", "ev-target", "Normal", "Fourth", time.Now())
	if !p.WaitFor("Fourth", 20*time.Second) {
		t.Errorf("events -w missed a new event: %s", p.Output())
	}
	if code := p.Stop(); code != 130 {
		t.Errorf("events -w after Ctrl-C: exit %d", code)
	}
}

// httpEcho serves "NAME PATH" on a loopback port, for port-forward: the node
// agent dials 127.0.0.1:<pod port>.
func httpEcho(t *testing.T, name string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%s got %d bytes", name, n)
			return
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

var forwardRE = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)`)

// forwarded waits for port-forward's "Forwarding from" lines and maps each
// remote port to its local one.
func forwarded(t *testing.T, p *Proc, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m := map[string]string{}
		for _, g := range forwardRE.FindAllStringSubmatch(p.Output(), -1) {
			m[g[2]] = g[1]
		}
		if len(m) >= n {
			return m
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("port-forward did not listen: %s", p.Output())
	return nil
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func portForwardRoundTrips(t *testing.T, u *User, ns, pod string) {
	t.Helper()
	p1, p2 := httpEcho(t, "one"), httpEcho(t, "two")
	for _, transport := range []string{"websocket", "spdy", "auto"} {
		t.Run(transport, func(t *testing.T) {
			p := u.Start("port-forward", "-n", ns, "pod/"+pod, fmt.Sprintf(":%d", p1), fmt.Sprintf("0:%d", p2), "--transport="+transport)
			m := forwarded(t, p, 2)
			for i := 0; i < 2; i++ {
				if got := getBody(t, fmt.Sprintf("http://127.0.0.1:%s/a%d", m[fmt.Sprint(p1)], i)); got != fmt.Sprintf("one /a%d", i) {
					t.Errorf("through the first port: %q", got)
				}
				if got := getBody(t, fmt.Sprintf("http://127.0.0.1:%s/b%d", m[fmt.Sprint(p2)], i)); got != fmt.Sprintf("two /b%d", i) {
					t.Errorf("through the second port: %q", got)
				}
			}
			if transport == "auto" {
				// It stays up while idle.
				time.Sleep(3 * time.Second)
				if got := getBody(t, fmt.Sprintf("http://127.0.0.1:%s/later", m[fmt.Sprint(p1)])); got != "one /later" {
					t.Errorf("after an idle spell: %q", got)
				}
			}
			if code := p.Stop(); code != 130 {
				t.Errorf("port-forward after Ctrl-C: exit %d\n%s", code, p.Output())
			}
		})
	}
}

func TestPortForward(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "pf-target", "", "")
	portForwardRoundTrips(t, erin, "sandbox", "pf-target")
	// Listens on loopback only unless told.
	p := erin.Start("port-forward", "-n", "sandbox", "pf-target", ":80")
	m := forwarded(t, p, 1)
	if strings.Contains(p.Output(), "0.0.0.0") {
		t.Errorf("listens beyond loopback: %s", p.Output())
	}
	if m["80"] == "" {
		t.Errorf("no local port for 80: %s", p.Output())
	}
	p.Stop()
	WantCode(t, erin.Run("port-forward", "-n", "sandbox", "pf-target"), 2)
	WantCode(t, erin.Run("port-forward", "-n", "sandbox", "pf-target", "99999"), 2)
	WantCode(t, erin.Run("port-forward", "-n", "sandbox", "pf-target", "x:80"), 2)
	WantCode(t, erin.Run("port-forward", "-n", "sandbox", "no-such-pod", "80", "--pod-running-timeout=2s"), 5)
}

func TestGatewayKgateCommands(t *testing.T) {
	g := sharedGateway(t)
	alice := gwUser(t, g, "alice")
	testPod(t, "payments", "gw-pf", "", "")
	portForwardRoundTrips(t, alice, "payments", "gw-pf")
	if l := g.lastAudit(map[string]string{"user": "alice", "subresource": "portforward"}); l["decision"] != "allow" {
		t.Errorf("port-forward audit: %v", l)
	}
	// The other commands through the gateway too.
	workload(t, "payments", "gw-roll", 1)
	r := alice.MustRun("rollout", "restart", "deploy/gw-roll", "-n", "payments")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/gw-roll restarted" {
		t.Errorf("restart through the gateway: %s", r)
	}
	alice.MustRun("rollout", "status", "deploy/gw-roll", "-n", "payments", "--timeout=90s")
	alice.MustRun("label", "deploy/gw-roll", "-n", "payments", "through=gateway")
	if l := MustKubectl(t, "get", "deploy/gw-roll", "-n", "payments", "-o", "jsonpath={.metadata.labels.through}").Stdout; l != "gateway" {
		t.Errorf("label through the gateway: %q", l)
	}
	alice.MustRun("events", "-n", "payments", "--for", "deploy/gw-roll")
	local := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, local, 1<<20)
	alice.MustRun("cp", local, "payments/gw-pf:f.bin")
	alice.MustRun("cp", "payments/gw-pf:f.bin", local+".back")
	if sha(t, local) != sha(t, local+".back") {
		t.Error("cp through the gateway changed the file")
	}
	alice.MustRun("debug", "gw-pf", "-n", "payments", "--image=busybox", "-c", "gwdbg")
	if got := MustKubectl(t, "get", "pod", "gw-pf", "-n", "payments", "-o", "jsonpath={.spec.ephemeralContainers[*].name}").Stdout; got != "gwdbg" {
		t.Errorf("debug through the gateway: %q", got)
	}
	bob := gwUser(t, g, "bob")
	waitMetrics(t, "payments")
	if r := bob.MustRun("top", "pods", "-n", "payments"); !strings.HasPrefix(r.Stdout, "NAME") {
		t.Errorf("top pods through the gateway: %s", r)
	}
	wantDenied(t, bob.Run("top", "nodes"), "bob")
	wantDenied(t, bob.Run("rollout", "restart", "deploy/gw-roll", "-n", "payments"), "bob", "admin")
	bob.MustRun("rollout", "history", "deploy/gw-roll", "-n", "payments")
}

func sha(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// treeSums maps every file under dir to its checksum.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out[rel] = sha(t, p)
		}
		return nil
	})
	return out
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// podDir is the node agent's working directory of a pod: where relative
// paths of exec (and so of cp) land.
func podDir(t *testing.T, ns, pod string) string {
	t.Helper()
	uid := MustKubectl(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath={.metadata.uid}").Stdout
	return filepath.Join(envDir, "pods", fmt.Sprintf("%s_%s_%s", ns, pod, uid))
}

func TestCp(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "cp-target", "", "")
	testPod(t, "sandbox", "cp-notar", "", "    env: [{name: PATH, value: /no-such-dir}]")
	work := t.TempDir()
	big := filepath.Join(work, "big.bin")
	writeRandom(t, big, 10<<20)
	tree := filepath.Join(work, "tree")
	writeRandom(t, filepath.Join(tree, "a.txt"), 1000)
	writeRandom(t, filepath.Join(tree, "sub", "b.bin"), 300<<10)
	writeRandom(t, filepath.Join(tree, "sub", "deeper", "c"), 10)

	// To the pod, a file and a directory, then back.
	erin.MustRun("cp", big, "sandbox/cp-target:big.bin")
	erin.MustRun("cp", tree, "cp-target:tree", "-n", "sandbox")
	dir := podDir(t, "sandbox", "cp-target")
	if sha(t, filepath.Join(dir, "big.bin")) != sha(t, big) {
		t.Error("the 10 MB file arrived changed")
	}
	back := filepath.Join(work, "back")
	erin.MustRun("cp", "-n", "sandbox", "cp-target:big.bin", filepath.Join(work, "big.back"))
	erin.MustRun("cp", "-n", "sandbox", "cp-target:tree", back)
	if sha(t, filepath.Join(work, "big.back")) != sha(t, big) {
		t.Error("the 10 MB file came back changed")
	}
	if got, want := treeSums(t, back), treeSums(t, tree); fmt.Sprint(got) != fmt.Sprint(want) || len(want) != 3 {
		t.Errorf("the directory came back as %v, want %v", got, want)
	}
	// kubectl cp of the same file gives the same bytes.
	MustKubectl(t, "cp", big, "sandbox/cp-target:kubectl.bin")
	if sha(t, filepath.Join(dir, "kubectl.bin")) != sha(t, filepath.Join(dir, "big.bin")) {
		t.Error("kubectl cp and kgate cp wrote different files")
	}
	// Into an existing directory: inside it.
	erin.MustRun("cp", filepath.Join(tree, "a.txt"), "sandbox/cp-target:tree/sub")
	if sha(t, filepath.Join(dir, "tree", "sub", "a.txt")) != sha(t, filepath.Join(tree, "a.txt")) {
		t.Error("a file copied into a directory did not land inside it")
	}

	// Errors.
	r := erin.Run("cp", "-n", "sandbox", "cp-target:no-such-file", filepath.Join(work, "x"))
	WantCode(t, r, 5)
	if !strings.Contains(r.Stderr, "no-such-file") {
		t.Errorf("missing remote path: %s", r)
	}
	WantCode(t, erin.Run("cp", "-n", "sandbox", filepath.Join(work, "no-such"), "cp-target:x"), 5)
	r = erin.Run("cp", "-n", "sandbox", big, "cp-notar:big.bin")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "has no tar") {
		t.Errorf("a container without tar: %s", r)
	}
	WantCode(t, erin.Run("cp", "-n", "sandbox", big, filepath.Join(work, "y")), 2)
	WantCode(t, erin.Run("cp", "-n", "sandbox", "cp-target:a", "cp-target:b"), 2)
	WantCode(t, erin.Run("cp", "-n", "sandbox", "no-such-pod:a", filepath.Join(work, "z")), 5)
}

func TestAttach(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "attach-target", `kgate.dev/log-interval: "200ms"`, "")
	p := erin.Start("attach", "attach-target", "-n", "sandbox")
	if !p.WaitFor("attach-target/main line", 20*time.Second) {
		t.Fatalf("attach printed nothing of the container's output: %s", p.Output())
	}
	if code := p.Stop(); code != 130 {
		t.Errorf("attach after Ctrl-C: exit %d", code)
	}
	// -i with stdin at its end: attach ends by itself.
	r := erin.RunStdin("", "attach", "-i", "attach-target", "-n", "sandbox", "-q")
	WantCode(t, r, 0)
	WantCode(t, erin.Run("attach", "attach-target", "-n", "sandbox", "-c", "nope"), 5)
}

func TestDebug(t *testing.T) {
	erin := policyUser(t, "erin")
	testPod(t, "sandbox", "debug-target", "", "")
	r := erin.MustRun("debug", "debug-target", "-n", "sandbox", "--image=busybox:1.36", "-c", "dbg")
	got := MustKubectl(t, "get", "pod", "debug-target", "-n", "sandbox", "-o", "jsonpath={.spec.ephemeralContainers[*].name} {.spec.ephemeralContainers[*].image}").Stdout
	if got != "dbg busybox:1.36" {
		t.Errorf("ephemeral containers: %q (%s)", got, r)
	}
	// With -i: added, then attached to (stdin at its end detaches).
	r = erin.RunStdin("", "debug", "-i", "debug-target", "-n", "sandbox", "--image=busybox:1.36", "--target=main")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "Defaulting debug container name to debugger-") {
		t.Errorf("debug -i: %s", r)
	}
	got = MustKubectl(t, "get", "pod", "debug-target", "-n", "sandbox", "-o", "jsonpath={.spec.ephemeralContainers[*].name}").Stdout
	if len(strings.Fields(got)) != 2 {
		t.Errorf("ephemeral containers after debug -i: %q", got)
	}
	WantCode(t, erin.Run("debug", "debug-target", "-n", "sandbox", "--image=busybox", "-c", "dbg"), 2)
	WantCode(t, erin.Run("debug", "debug-target", "-n", "sandbox"), 2)
	WantCode(t, erin.Run("debug", "no-such-pod", "-n", "sandbox", "--image=busybox"), 5)
}

// waitMetrics waits until metrics-server reports every running pod of ns.
func waitMetrics(t *testing.T, ns string) {
	t.Helper()
	want := len(lines(Kubectl(t, "get", "pods", "-n", ns, "--field-selector=status.phase=Running", "--no-headers").Stdout))
	deadline := time.Now().Add(90 * time.Second)
	last := Result{}
	for time.Now().Before(deadline) {
		last = Kubectl(t, "top", "pods", "-n", ns, "--no-headers")
		if last.Code == 0 && len(lines(last.Stdout)) >= want && want > 0 {
			return
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("metrics-server reports no metrics for %s: %s", ns, last)
}

func sortedLines(s string) []string {
	l := lines(s)
	sort.Strings(l)
	return l
}

func TestTopMatchesKubectl(t *testing.T) {
	waitMetrics(t, "payments")
	bob := policyUser(t, "bob")
	for _, args := range [][]string{
		{"top", "pods", "-n", "payments"},
		{"top", "pods", "-n", "payments", "--containers"},
		{"top", "pods", "-n", "payments", "-l", "app=web", "--sum"},
		{"top", "pods", "-n", "payments", "--sort-by=memory", "--no-headers"},
	} {
		got, want := bob.MustRun(args...), MustKubectl(t, args...)
		if got.Stdout != want.Stdout {
			t.Errorf("%v:\nkgate:\n%s\nkubectl:\n%s", args, got.Stdout, want.Stdout)
		}
	}
	olga := policyUser(t, "olga") // super admin
	got, want := olga.MustRun("top", "nodes"), MustKubectl(t, "top", "nodes")
	if fmt.Sprint(sortedLines(got.Stdout)) != fmt.Sprint(sortedLines(want.Stdout)) {
		t.Errorf("top nodes:\nkgate:\n%s\nkubectl:\n%s", got.Stdout, want.Stdout)
	}
	wantDenied(t, bob.Run("top", "nodes"), "bob", "super admin")
	wantDenied(t, bob.Run("top", "pods", "-n", "sandbox"), "bob", "sandbox")
	r := bob.MustRun("top", "pods", "-A")
	for _, l := range lines(r.Stdout)[1:] {
		if f := strings.Fields(l); !strings.HasPrefix(f[0], "payments") {
			t.Errorf("top pods -A as bob shows %q", l)
		}
	}
}

func TestTopWithoutMetricsAPI(t *testing.T) {
	u := policyUser(t, "bob")
	// A kubeconfig pointing at a server with no metrics API: the gatewayless
	// API server of a fake cluster would do; here, an APIService-less path
	// is simulated by a server that answers 404 to everything.
	srv := &http.Server{Handler: http.NotFoundHandler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	kc := filepath.Join(u.Dir, "plain.kubeconfig")
	writeKubeconfig(t, kc, "http://"+ln.Addr().String())
	u.Setenv("KUBECONFIG", kc)
	r := u.Run("top", "pods", "-n", "payments")
	WantCode(t, r, 6)
	if !strings.Contains(r.Stderr, "metrics API not available") {
		t.Errorf("top without a metrics API: %s", r)
	}
}

// TestAdminCommandsRefused: a guest, and an admin of another project, are
// refused every admin command before any request reaches the API server.
func TestAdminCommandsRefused(t *testing.T) {
	workload(t, "payments", "guarded-cmds", 1)
	testPod(t, "payments", "guarded-pod", "", "")
	local := filepath.Join(t.TempDir(), "f")
	writeRandom(t, local, 10)
	cmds := [][]string{
		{"rollout", "restart", "deploy/guarded-cmds"},
		{"rollout", "undo", "deploy/guarded-cmds", "--yes"},
		{"rollout", "pause", "deploy/guarded-cmds"},
		{"rollout", "resume", "deploy/guarded-cmds"},
		{"rollout", "restart", "deploy", "-l", "app=guarded-cmds"},
		{"label", "deploy/guarded-cmds", "a=b"},
		{"annotate", "deploy/guarded-cmds", "a=b"},
		{"label", "deploy", "-l", "app=guarded-cmds", "a=b"},
		{"port-forward", "guarded-pod", "8080:80"},
		{"attach", "guarded-pod"},
		{"cp", local, "guarded-pod:/tmp/f"},
		{"cp", "guarded-pod:/etc/hostname", local},
		{"debug", "guarded-pod", "--image=busybox"},
	}
	before := apiRequests(t, "deployments", "payments", "guarded-cmds") + apiRequests(t, "pods", "payments", "guarded-pod")
	for _, who := range []string{"bob", "dave"} { // guest of payments; admin of search
		u := policyUser(t, who)
		for _, c := range cmds {
			r := u.Run(append(c, "-n", "payments")...)
			wantDenied(t, r, who, "payments")
			if !strings.Contains(r.Stderr, "needs admin") {
				t.Errorf("%s %v: the denial does not name the role needed: %s", who, c, r.Stderr)
			}
		}
		// The decisions are in kgate's audit log, one id per command.
		b, err := os.ReadFile(filepath.Join(u.Dir, "state", "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), `"decision":"deny"`); n < len(cmds) {
			t.Errorf("%s: %d denials in the audit log, want %d", who, n, len(cmds))
		}
	}
	if n := apiRequests(t, "deployments", "payments", "guarded-cmds") + apiRequests(t, "pods", "payments", "guarded-pod"); n != before {
		t.Errorf("refused commands reached the API server: %d audit events, %d before", n, before)
	}
	// A guest may look.
	bob := policyUser(t, "bob")
	bob.MustRun("rollout", "status", "deploy/guarded-cmds", "-n", "payments", "--watch=false")
	bob.MustRun("rollout", "history", "deploy/guarded-cmds", "-n", "payments")
	bob.MustRun("events", "-n", "payments")
}

// lastAuditVerbs returns the kube-apiserver audit events (verb, URI) that
// carry the audit id of the user's last kgate decision.
func lastAuditEvents(t *testing.T, u *User) (kgateAudit, []string) {
	t.Helper()
	log := kgateAuditLog(t, u)
	e := log[len(log)-1]
	var out []string
	for _, ev := range waitKubeAudit(t, `"auditID":"`+e.ID+`"`) {
		out = append(out, fmt.Sprintf("%v %v", ev["verb"], ev["requestURI"]))
	}
	return e, out
}

// TestCommandsAuditID: each command's requests carry the one audit id of its
// decision, also those kubectl's libraries make.
func TestCommandsAuditID(t *testing.T) {
	erin := policyUser(t, "erin")
	workload(t, "sandbox", "audited", 1)
	testPod(t, "sandbox", "audited-pod", "", "")
	local := filepath.Join(t.TempDir(), "f")
	writeRandom(t, local, 100)
	for _, c := range []struct {
		args     []string
		verb     string
		wantVerb string
		wantURI  string
	}{
		{[]string{"rollout", "restart", "deploy/audited"}, "restart", "patch", "/apis/apps/v1/namespaces/sandbox/deployments/audited"},
		{[]string{"rollout", "history", "deploy/audited"}, "get", "list", "/apis/apps/v1/namespaces/sandbox/replicasets"},
		{[]string{"label", "deploy/audited", "audited=yes"}, "label", "patch", "/apis/apps/v1/namespaces/sandbox/deployments/audited"},
		{[]string{"annotate", "deploy/audited", "audited=yes"}, "annotate", "patch", "/apis/apps/v1/namespaces/sandbox/deployments/audited"},
		{[]string{"events", "--for", "deploy/audited"}, "list", "list", "/api/v1/namespaces/sandbox/events"},
		{[]string{"cp", local, "audited-pod:f"}, "exec", "", "/api/v1/namespaces/sandbox/pods/audited-pod/exec"},
		{[]string{"debug", "audited-pod", "--image=busybox", "-c", "aud"}, "debug", "update", "/api/v1/namespaces/sandbox/pods/audited-pod/ephemeralcontainers"},
		{[]string{"top", "pods"}, "list", "list", "/apis/metrics.k8s.io/v1beta1/namespaces/sandbox/pods"},
	} {
		erin.MustRun(append(c.args, "-n", "sandbox")...)
		e, evs := lastAuditEvents(t, erin)
		if e.Verb != c.verb || e.Decision != "allow" || e.Namespace != "sandbox" {
			t.Errorf("%v: kgate's audit entry %+v", c.args, e)
		}
		found := false
		for _, ev := range evs {
			verb, uri, _ := strings.Cut(ev, " ")
			if strings.HasPrefix(uri, c.wantURI) && (c.wantVerb == "" || verb == c.wantVerb) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v: no %s %s with audit id %s among %v", c.args, c.wantVerb, c.wantURI, e.ID, evs)
		}
	}
}

func TestCompletionOfNewCommands(t *testing.T) {
	pods := podNames(t, "payments")
	deploys := []string{}
	for _, n := range names(MustKubectl(t, "get", "deploy", "-n", "payments", "-o", "name").Stdout) {
		deploys = append(deploys, "deploy/"+strings.TrimPrefix(n, "deployment.apps/"))
	}
	sort.Strings(deploys)
	bob, alice := policyUser(t, "bob"), policyUser(t, "alice")
	for _, c := range []struct {
		args       []string
		guest, adm []string
	}{
		{[]string{"port-forward", "-n", "payments", ""}, nil, pods},
		{[]string{"attach", "-n", "payments", ""}, nil, pods},
		{[]string{"debug", "-n", "payments", ""}, nil, pods},
		{[]string{"top", "pods", "-n", "payments", ""}, pods, pods},
		{[]string{"rollout", "restart", "-n", "payments", "deploy/"}, nil, deploys},
		{[]string{"rollout", "undo", "-n", "payments", "deploy/"}, nil, deploys},
		{[]string{"rollout", "status", "-n", "payments", "deploy/"}, deploys, deploys},
		{[]string{"rollout", "history", "-n", "payments", "deploy/"}, deploys, deploys},
		{[]string{"label", "-n", "payments", "deploy/"}, nil, deploys},
		{[]string{"annotate", "-n", "payments", "deploy/"}, nil, deploys},
	} {
		wantValues(t, fmt.Sprintf("bob: %v", c.args), bob.Complete(c.args...), c.guest)
		wantValues(t, fmt.Sprintf("alice: %v", c.args), alice.Complete(c.args...), c.adm)
	}
	// Outside her projects, nothing.
	wantValues(t, "alice: port-forward in search-prod", alice.Complete("port-forward", "-n", "search-prod", ""), nil)
}

// TestRolloutUndoPrompt answers undo's confirmation under a real terminal.
func TestRolloutUndoPrompt(t *testing.T) {
	erin := policyUser(t, "erin")
	workload(t, "sandbox", "undo-me", 1)
	erin.MustRun("rollout", "restart", "deploy/undo-me", "-n", "sandbox")
	erin.MustRun("rollout", "status", "deploy/undo-me", "-n", "sandbox", "--timeout=90s")
	rev := func() string {
		return MustKubectl(t, "get", "deploy/undo-me", "-n", "sandbox", "-o", `jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}`).Stdout
	}
	if rev() != "2" {
		t.Fatalf("revision after restart: %q", rev())
	}
	tm := newTmux(t, erin, 120, 30)
	tm.send(fmt.Sprintf("%s rollout undo deploy/undo-me -n sandbox; echo code=$?", kgateBin), "Enter")
	if !tm.waitFor("[y/N]", 15*time.Second) || !strings.Contains(tm.screen(), "deployment.apps/undo-me") {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	tm.send("n", "Enter")
	if !tm.waitFor("code=1", 15*time.Second) || rev() != "2" {
		t.Fatalf("answering no:\n%s", tm.screen())
	}
	tm.send("clear", "Enter")
	time.Sleep(300 * time.Millisecond)
	tm.send(fmt.Sprintf("%s rollout undo deploy/undo-me -n sandbox; echo code=$?", kgateBin), "Enter")
	if !tm.waitFor("[y/N]", 15*time.Second) {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	tm.send("y", "Enter")
	if !tm.waitFor("code=0", 15*time.Second) || !strings.Contains(tm.screen(), "deployment.apps/undo-me rolled back") {
		t.Fatalf("answering yes:\n%s", tm.screen())
	}
	if rev() != "3" {
		t.Errorf("revision after undo: %q", rev())
	}
}
