package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// canI runs `kubectl auth can-i` through the gateway and returns yes or no.
func canI(t *testing.T, u *User, args ...string) string {
	t.Helper()
	r := gwKubectl(t, u, append([]string{"auth", "can-i"}, args...)...)
	// "no - kgate: <the policy's reason>" when the policy refuses.
	out, _, _ := strings.Cut(strings.TrimSpace(r.Stdout), " ")
	if out != "yes" && out != "no" {
		t.Fatalf("kubectl auth can-i %v: %s", args, r)
	}
	return out
}

// clusterCanI asks the cluster directly, as the user (admin impersonating).
func clusterCanI(t *testing.T, user, group string, args ...string) string {
	t.Helper()
	r := Kubectl(t, append([]string{"--as", user, "--as-group", group, "auth", "can-i"}, args...)...)
	return strings.TrimSpace(r.Stdout)
}

// Through the gateway, kubectl auth can-i says what the gateway will do:
// the policy's answer ANDed with the cluster's, even where the cluster
// alone would answer otherwise.
func TestGatewayAccessReviewsTellTheTruth(t *testing.T) {
	g := sharedGateway(t)
	bob, alice, olga := gwUser(t, g, "bob"), gwUser(t, g, "alice"), gwUser(t, g, "olga")
	for _, c := range []struct {
		u    *User
		args []string
		want string
	}{
		{bob, []string{"list", "pods", "-n", "payments"}, "yes"},
		{bob, []string{"get", "pods", "--subresource", "log", "-n", "payments"}, "yes"},
		{bob, []string{"list", "secrets", "-n", "payments"}, "no"},
		{bob, []string{"create", "pods", "--subresource", "exec", "-n", "payments"}, "no"},
		{bob, []string{"list", "pods", "-n", "search-prod"}, "no"},
		{bob, []string{"list", "pods", "-A"}, "no"},
		{alice, []string{"create", "pods", "--subresource", "exec", "-n", "payments"}, "yes"},
		{alice, []string{"list", "secrets", "-n", "payments"}, "yes"},
		{olga, []string{"get", "nodes"}, "yes"},
		{olga, []string{"list", "pods", "-A"}, "yes"},
	} {
		if got := canI(t, c.u, c.args...); got != c.want {
			t.Errorf("can-i %v: %s, want %s", c.args, got, c.want)
		}
	}
	// Where the cluster's RBAC alone would not tell the truth about the
	// gateway: alice's kgate-admin binding in payments names nodes (a
	// cluster-scoped kind, which the gateway keeps for super admins) ...
	if got := clusterCanI(t, "alice", "payments-leads", "get", "nodes", "-n", "payments"); got != "yes" {
		t.Logf("the cluster alone says %q to alice get nodes -n payments", got)
	}
	if got := canI(t, alice, "get", "nodes", "-n", "payments"); got != "no" {
		t.Errorf("alice can-i get nodes -n payments through the gateway: %s, want no", got)
	}
	// ... and a project member may not list namespaces in the cluster, but
	// the gateway lists them for her, filtered.
	if got := clusterCanI(t, "bob", "team-payments", "list", "namespaces"); got != "no" {
		t.Errorf("the cluster alone lets bob list namespaces: %s", got)
	}
	for _, verb := range []string{"list", "watch"} {
		if got := canI(t, bob, verb, "namespaces"); got != "yes" {
			t.Errorf("bob can-i %s namespaces through the gateway: %s", verb, got)
		}
	}
	if r := gwKubectl(t, bob, "get", "namespaces", "-o", "name"); r.Code != 0 || !strings.Contains(r.Stdout, "namespace/payments\n") {
		t.Errorf("bob get namespaces: %s", r)
	}
	// The review reached the cluster as bob.
	l := g.lastAudit(map[string]string{"user": "bob", "resource": "selfsubjectaccessreviews"})
	for _, ev := range waitKubeAudit(t, `"auditID":"`+l["id"].(string)+`"`) {
		imp, _ := ev["impersonatedUser"].(map[string]any)
		if imp == nil || imp["username"] != "bob" {
			t.Errorf("the access review reached the cluster as %v", ev["user"])
		}
	}

	// can-i --list: what the policy allows in the namespace.
	list := func(u *User, ns string) string {
		t.Helper()
		r := gwKubectl(t, u, "auth", "can-i", "--list", "-n", ns)
		if r.Code != 0 {
			t.Fatalf("can-i --list: %s", r)
		}
		return r.Stdout
	}
	// rule is the verbs the lines of resource give, "" when none.
	rule := func(out, resource string) string {
		var verbs []string
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			i := strings.LastIndex(line, "[")
			if len(f) == 0 || f[0] != resource || i < 0 {
				continue
			}
			for _, v := range strings.Fields(strings.Trim(line[i:], "[] ")) {
				if !slices.Contains(verbs, v) {
					verbs = append(verbs, v)
				}
			}
		}
		slices.Sort(verbs)
		return strings.Join(verbs, " ")
	}
	bobList := list(bob, "payments")
	for res, want := range map[string]string{
		"pods": "get list watch", "*.apps": "get list watch", "namespaces": "get list watch", "secrets": "",
		"pods/exec": "", "serviceaccounts/token": "", "nodes": "", "selfsubjectaccessreviews.authorization.k8s.io": "create",
	} {
		if got := rule(bobList, res); got != want {
			t.Errorf("bob can-i --list -n payments: %s %q, want %q\n%s", res, got, want, bobList)
		}
	}
	aliceList := list(alice, "payments")
	if rule(aliceList, "pods/exec") == "" || rule(aliceList, "secrets") == "" {
		t.Errorf("alice --list lacks exec or secrets:\n%s", aliceList)
	}
	if r := Kubectl(t, "--as", "alice", "--as-group", "payments-leads", "auth", "can-i", "--list", "-n", "payments"); rule(r.Stdout, "nodes") == "" {
		t.Logf("the cluster alone does not list nodes for alice:\n%s", r.Stdout)
	}
	if got := rule(aliceList, "nodes"); got != "" {
		t.Errorf("alice --list through the gateway shows nodes %s:\n%s", got, aliceList)
	}
	if got := rule(list(alice, "search-prod"), "pods"); got != "" {
		t.Errorf("alice --list -n search-prod shows pods %s", got)
	}
	if got := rule(list(olga, "payments"), "nodes"); got == "" {
		t.Errorf("olga --list lacks nodes")
	}
}

// A project member's watch of namespaces (kubectl get ns -w, k9s's
// namespace view) is served filtered, like the list.
func TestGatewayNamespaceWatch(t *testing.T) {
	g := sharedGateway(t)
	dave := gwUser(t, g, "dave")
	suffix := randomSuffix(t)
	mine, other := "search-w-"+suffix, "other-w-"+suffix
	cmd := exec.Command(kubectlBin, "get", "namespaces", "-w", "--output-watch-events")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + filepath.Join(dave.Dir, "kubeconfig")}
	p := &Proc{t: t, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	defer func() { _ = cmd.Process.Signal(syscall.SIGINT); p.Kill() }()
	if !p.WaitFor("search-prod", 15*time.Second) {
		t.Fatalf("kubectl get ns -w as dave:\n%s", p.Output())
	}
	MustKubectl(t, "create", "namespace", other)
	t.Cleanup(func() { Kubectl(t, "delete", "namespace", other, "--wait=false") })
	MustKubectl(t, "create", "namespace", mine)
	t.Cleanup(func() { Kubectl(t, "delete", "namespace", mine, "--wait=false") })
	if !p.WaitFor(mine, 15*time.Second) {
		t.Fatalf("the new namespace %s did not show:\n%s", mine, p.Output())
	}
	MustKubectl(t, "label", "namespace", mine, "kgate-e2e=watch")
	time.Sleep(time.Second)
	out := p.Output()
	for _, ns := range []string{other, "payments", "kube-system", "default", "kgate-system"} {
		if strings.Contains(out, ns+" ") {
			t.Errorf("dave's namespace watch shows %s:\n%s", ns, out)
		}
	}
	if !strings.Contains(out, "ADDED") || !strings.Contains(out, "MODIFIED") {
		t.Errorf("watch events missing:\n%s", out)
	}
	l := g.lastAudit(map[string]string{"user": "dave", "verb": "watch", "resource": "namespaces"})
	if l["decision"] != "allow" {
		t.Errorf("audit: %v", l)
	}
	// The watch reached the cluster as the gateway's own, documented call.
	for _, ev := range waitKubeAudit(t, `"auditID":"`+l["id"].(string)+`"`) {
		if u, _ := ev["user"].(map[string]any); u["username"] != gatewayAccountUser || ev["impersonatedUser"] != nil || ev["verb"] != "watch" {
			t.Errorf("the watch reached the cluster as %v (impersonating %v)", ev["user"], ev["impersonatedUser"])
		}
	}
}
