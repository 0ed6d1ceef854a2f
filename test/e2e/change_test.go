package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// workload creates a Deployment of replicas kwok pods in ns, removed at the end.
func workload(t *testing.T, ns, name string, replicas int) {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s, labels: {app: %[1]s, kgate.dev/test: change}}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}, annotations: {kgate.dev/log-interval: "0"}}
    spec:
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
      containers: [{name: app, image: registry.example.com/app:1}]
`, name, ns, replicas)
	f := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	MustKubectl(t, "apply", "-f", f)
	t.Cleanup(func() { Kubectl(t, "delete", "deploy", name, "-n", ns, "--ignore-not-found", "--wait=false") })
	waitPods(t, ns, "app="+name, replicas)
}

// waitPods waits until exactly n pods matching selector are Running.
func waitPods(t *testing.T, ns, selector string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		out := Kubectl(t, "get", "pods", "-n", ns, "-l", selector, "--no-headers").Stdout
		running := strings.Count(out, " Running ")
		total := len(lines(out))
		if running == n && total == n {
			return
		}
		last = out
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("want %d running pods for %s in %s, have:\n%s", n, selector, ns, last)
}

func replicas(t *testing.T, ns, deploy string) int {
	t.Helper()
	n, err := strconv.Atoi(MustKubectl(t, "get", "deploy", deploy, "-n", ns, "-o", "jsonpath={.spec.replicas}").Stdout)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// apiRequests counts the kube-apiserver audit events about one object.
func apiRequests(t *testing.T, resource, ns, name string) int {
	t.Helper()
	b, err := os.ReadFile(os.Getenv("KGATE_AUDIT_LOG"))
	if err != nil {
		t.Fatal(err)
	}
	needle := fmt.Sprintf(`"resource":%q,"namespace":%q,"name":%q`, resource, ns, name)
	return strings.Count(string(b), needle)
}

func TestScale(t *testing.T) {
	admin := policyUser(t, "erin") // admin of project sandbox
	workload(t, "sandbox", "scale-me", 1)

	r := admin.MustRun("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=3", "--wait", "--timeout=60s")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/scale-me scaled" {
		t.Errorf("output: %q", r.Stdout)
	}
	waitPods(t, "sandbox", "app=scale-me", 3)
	r = admin.MustRun("scale", "deployment", "scale-me", "-n", "sandbox", "--replicas=2", "--current-replicas=3", "-o", "name")
	if strings.TrimSpace(r.Stdout) != "deployment.apps/scale-me" {
		t.Errorf("-o name: %q", r.Stdout)
	}
	waitPods(t, "sandbox", "app=scale-me", 2)

	// The precondition does not hold: nothing changes.
	r = admin.Run("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=5", "--current-replicas=7")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "expected replicas to be 7, was 2") || replicas(t, "sandbox", "scale-me") != 2 {
		t.Errorf("precondition: %s", r)
	}
	// A selector scales every match.
	admin.MustRun("scale", "deploy", "-l", "app=scale-me", "-n", "sandbox", "--replicas=1")
	waitPods(t, "sandbox", "app=scale-me", 1)

	// Bad input is a usage error.
	WantCode(t, admin.Run("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=-1"), 2)
	WantCode(t, admin.Run("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=many"), 2)
	WantCode(t, admin.Run("scale", "deploy/scale-me", "-n", "sandbox"), 2)
	WantCode(t, admin.Run("scale", "cm/settings", "-n", "sandbox", "--replicas=1"), 2)
	WantCode(t, admin.Run("scale", "deploy/no-such", "-n", "sandbox", "--replicas=1"), 5)

	// To zero: a script must say --yes.
	r = admin.Run("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=0")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "--yes") || replicas(t, "sandbox", "scale-me") != 1 {
		t.Errorf("scale to zero without --yes: %s", r)
	}
	admin.MustRun("scale", "deploy/scale-me", "-n", "sandbox", "--replicas=0", "--yes")
	waitPods(t, "sandbox", "app=scale-me", 0)
}

func TestScaleRefusedByPolicy(t *testing.T) {
	workload(t, "payments", "guarded", 1)
	before := apiRequests(t, "deployments", "payments", "guarded")
	guest := policyUser(t, "bob") // guest of payments
	r := guest.Run("scale", "deploy/guarded", "-n", "payments", "--replicas=3")
	WantCode(t, r, 4)
	for _, want := range []string{"bob", "guest", "admin", "payments"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("reason lacks %q: %s", want, r.Stderr)
		}
	}
	// An admin of another project is a stranger here.
	dave := policyUser(t, "dave") // admin of search
	WantCode(t, dave.Run("scale", "deploy/guarded", "-n", "payments", "--replicas=3"), 4)
	WantCode(t, dave.Run("scale", "deploy", "-l", "app=guarded", "-n", "payments", "--replicas=3"), 4)
	if n := apiRequests(t, "deployments", "payments", "guarded"); n != before {
		t.Errorf("refused scales reached the API server: %d audit events, %d before", n, before)
	}
	if replicas(t, "payments", "guarded") != 1 {
		t.Error("replicas changed")
	}
	// And the admin of payments may.
	policyUser(t, "alice").MustRun("scale", "deploy/guarded", "-n", "payments", "--replicas=2")
	waitPods(t, "payments", "app=guarded", 2)
}

func TestDelete(t *testing.T) {
	admin := policyUser(t, "erin")
	mk := func(names ...string) {
		for _, n := range names {
			labelledConfigMap(t, "sandbox", n, "kgate.dev/test=delete")
		}
	}
	exists := func(n string) bool { return Kubectl(t, "get", "cm", n, "-n", "sandbox").Code == 0 }
	t.Cleanup(func() { Kubectl(t, "delete", "cm", "-n", "sandbox", "-l", "kgate.dev/test=delete") })

	mk("del-a", "del-b", "del-c", "del-d")
	// Not a terminal and no --yes: refused, nothing deleted.
	r := admin.Run("delete", "cm/del-a", "-n", "sandbox")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "--yes") || !exists("del-a") {
		t.Errorf("delete without --yes: %s", r)
	}
	// Server dry run: checked, nothing deleted.
	r = admin.MustRun("delete", "cm/del-a", "cm/del-b", "-n", "sandbox", "--dry-run=server")
	if !strings.Contains(r.Stdout, `configmap "del-a" deleted from sandbox namespace (server dry run)`) || !exists("del-a") || !exists("del-b") {
		t.Errorf("dry run: %s", r)
	}
	r = admin.MustRun("delete", "cm/del-a", "-n", "sandbox", "--yes", "--wait")
	if strings.TrimSpace(r.Stdout) != `configmap "del-a" deleted from sandbox namespace` || exists("del-a") {
		t.Errorf("delete --yes: %s", r)
	}
	r = admin.MustRun("delete", "cm", "-l", "kgate.dev/test=delete", "-n", "sandbox", "--yes", "-o", "name")
	if got := names(r.Stdout); strings.Join(got, ",") != "configmap/del-b,configmap/del-c,configmap/del-d" {
		t.Errorf("delete -l: %v", got)
	}
	// Missing, refused kinds, --all.
	WantCode(t, admin.Run("delete", "cm/del-a", "-n", "sandbox", "--yes"), 5)
	WantCode(t, admin.Run("delete", "cm/del-a", "-n", "sandbox", "--yes", "--ignore-not-found"), 0)
	r = admin.Run("delete", "namespace", "sandbox", "--yes")
	WantCode(t, r, 4)
	WantCode(t, policyUser(t, "olga").Run("delete", "ns/sandbox", "--yes"), 4)
	WantCode(t, admin.Run("delete", "cm", "--all", "-n", "sandbox", "--yes"), 2)
	WantCode(t, admin.Run("delete", "cm", "-n", "sandbox", "--yes"), 2)
	// Any namespaced kind the server deletes is deletable; an unknown one is a usage error.
	WantCode(t, admin.Run("delete", "events", "x", "-n", "sandbox", "--yes"), 5)
	WantCode(t, admin.Run("delete", "frobnicators", "x", "-n", "sandbox", "--yes"), 2)
	if Kubectl(t, "get", "ns", "sandbox").Code != 0 {
		t.Fatal("namespace sandbox is gone")
	}

	// A guest is refused before any request.
	mk("del-e")
	before := apiRequests(t, "configmaps", "sandbox", "del-e")
	bob := policyUser(t, "bob")
	WantCode(t, bob.Run("delete", "cm/del-e", "-n", "sandbox", "--yes"), 4)
	WantCode(t, bob.Run("delete", "cm", "-l", "kgate.dev/test=delete", "-n", "sandbox", "--yes"), 4)
	if n := apiRequests(t, "configmaps", "sandbox", "del-e"); n != before || !exists("del-e") {
		t.Errorf("a refused delete reached the API server (%d events, %d before)", n, before)
	}
}

// labelledConfigMap creates a fresh configmap with one label, whatever an
// interrupted earlier run left behind.
func labelledConfigMap(t *testing.T, ns, name, label string) {
	t.Helper()
	MustKubectl(t, "delete", "configmap", name, "-n", ns, "--ignore-not-found")
	MustKubectl(t, "create", "configmap", name, "-n", ns, "--from-literal=k=v")
	MustKubectl(t, "label", "configmap", name, "-n", ns, label)
}

// TestDeletePrompt answers the confirmation under a real terminal.
func TestDeletePrompt(t *testing.T) {
	admin := policyUser(t, "erin")
	t.Cleanup(func() { Kubectl(t, "delete", "cm", "-n", "sandbox", "-l", "kgate.dev/test=prompt") })
	for _, n := range []string{"ask-no", "ask-yes"} {
		labelledConfigMap(t, "sandbox", n, "kgate.dev/test=prompt")
	}
	tm := newTmux(t, admin, 120, 30)
	tm.send(fmt.Sprintf("%s delete cm/ask-no -n sandbox; echo code=$?", kgateBin), "Enter")
	if !tm.waitFor("[y/N]", 15*time.Second) {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	if !strings.Contains(tm.screen(), "configmap/ask-no") {
		t.Errorf("the prompt does not list what will go:\n%s", tm.screen())
	}
	tm.send("n", "Enter")
	if !tm.waitFor("code=1", 15*time.Second) || Kubectl(t, "get", "cm", "ask-no", "-n", "sandbox").Code != 0 {
		t.Fatalf("answering no:\n%s", tm.screen())
	}
	tm.send("clear", "Enter")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(tm.screen(), "[y/N]") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tm.send(fmt.Sprintf("%s delete cm/ask-yes -n sandbox; echo code=$?", kgateBin), "Enter")
	if !tm.waitFor("configmap/ask-yes", 15*time.Second) || !tm.waitFor("[y/N]", 15*time.Second) {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	tm.send("y", "Enter")
	if !tm.waitFor("code=0", 15*time.Second) || !strings.Contains(tm.screen(), `configmap "ask-yes" deleted`) {
		t.Fatalf("answering yes:\n%s", tm.screen())
	}
	if Kubectl(t, "get", "cm", "ask-yes", "-n", "sandbox").Code == 0 {
		t.Error("ask-yes still exists")
	}
}
