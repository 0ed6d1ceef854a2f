package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Several clusters, one policy (issue 14): the local environment's two
// clusters, test (the one KUBECONFIG names) and prod (RequireProd), with
// KGATE_CLUSTERS_KUBECONFIG's contexts test and prod. bob is in
// team-payments, alice in payments-leads.

// twoClusterPolicy gives team-payments admin in test and guest in prod;
// payments-leads are admins everywhere.
const twoClusterPolicy = `version: 2
clusters:
  test: {context: test}
  prod: {context: prod}
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments]
    admins: {groups: [payments-leads]}
    clusters:
      test:
        admins: {groups: [team-payments]}
      prod:
        guests: {groups: [team-payments]}
  sandbox:
    namespaces: [sandbox]
    guests: {groups: [team-payments]}
`

// clustersUser is a user with both contexts in their kubeconfig.
func clustersUser(t *testing.T) *User {
	t.Helper()
	RequireProd(t)
	u := NewUser(t)
	kc := os.Getenv("KGATE_CLUSTERS_KUBECONFIG")
	if kc == "" {
		kc = filepath.Join(envDir, "clusters.kubeconfig")
	}
	u.Setenv("KUBECONFIG", kc)
	return u
}

// podIn is the first web pod of payments in a cluster, by the admin's kubectl.
func podIn(t *testing.T, kubectl func(*testing.T, ...string) Result) string {
	t.Helper()
	r := kubectl(t, "get", "pods", "-n", "payments", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Fatalf("no web pod in payments: %s", r)
	}
	return strings.TrimSpace(r.Stdout)
}

// kgateRequestsBetween returns the kube-apiserver audit lines of kgate's own
// requests (its user agent) between two marker requests made with kubectl.
func kgateRequestsBetween(t *testing.T, prod *ProdCluster, during func()) []string {
	t.Helper()
	mark := func(tag string) string {
		name := fmt.Sprintf("e2e-marker-%s-%d", tag, time.Now().UnixNano())
		prod.Kubectl(t, "get", "configmap", name, "-n", "sandbox")
		waitAudit(t, prod.AuditLog, name)
		return name
	}
	before := mark("before")
	during()
	after := mark("after")
	f, err := os.Open(prod.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, before):
			in = true
		case strings.Contains(l, after):
			in = false
		case in && strings.Contains(l, `"userAgent":"kgate/`):
			out = append(out, l)
		}
	}
	return out
}

// TestClustersAdminInTestGuestInProd: one policy, one LDAP login for both
// direct-mode clusters; bob may exec in test and is refused in prod, with the
// cluster named in the denial and the audit line, and no request reaching
// prod's API server.
func TestClustersAdminInTestGuestInProd(t *testing.T) {
	prod := RequireProd(t)
	u := clustersUser(t)
	u.UsePolicy(twoClusterPolicy)
	u.Login("bob") // one login for every cluster reached through a context

	testPod, prodPod := podIn(t, Kubectl), podIn(t, prod.Kubectl)
	r := u.Run("--cluster", "test", "exec", "-n", "payments", testPod, "-c", "app", "--", "echo", "in-test")
	WantCode(t, r, 0)
	if r.Stdout != "in-test\n" {
		t.Fatalf("exec in test: %s", r)
	}
	var denied Result
	leaked := kgateRequestsBetween(t, prod, func() {
		denied = u.Run("--cluster", "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "echo", "in-prod")
	})
	wantDenied(t, denied, `user "bob" is a guest in project "payments" (namespace "payments", cluster "prod")`, "needs admin",
		"group payments-leads")
	if len(leaked) > 0 {
		t.Fatalf("a refused exec reached prod's API server:\n%s", strings.Join(leaked, "\n"))
	}
	// Reading is a guest's right in prod: the same login serves it.
	r = u.Run("--cluster", "prod", "get", "pods", "-n", "payments", "-o", "name")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "pod/"+prodPod) {
		t.Fatalf("get pods in prod: %s", r)
	}
	// The context alone selects the cluster too (no --cluster).
	r = u.Run("--context", "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "true")
	wantDenied(t, r, `cluster "prod"`)
	// A --cluster and a --context that disagree are a usage error.
	r = u.Run("--cluster", "prod", "--context", "test", "get", "pods", "-n", "payments")
	WantCode(t, r, 2)
	// An unknown cluster is a usage error naming the known ones.
	r = u.Run("--cluster", "staging", "get", "pods", "-n", "payments")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, `"staging"`) || !strings.Contains(r.Stderr, "test, prod") {
		t.Errorf("unknown cluster: %s", r)
	}

	// The audit lines name the cluster.
	var allowTest, denyProd bool
	b, _ := os.ReadFile(filepath.Join(u.Dir, "state", "audit.log"))
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || e["subresource"] != "exec" {
			continue
		}
		allowTest = allowTest || e["cluster"] == "test" && e["decision"] == "allow" && e["name"] == testPod
		denyProd = denyProd || e["cluster"] == "prod" && e["decision"] == "deny" && e["name"] == prodPod
	}
	if !allowTest || !denyProd {
		t.Errorf("audit log lacks the exec decisions with their clusters (allow test %v, deny prod %v):\n%s", allowTest, denyProd, b)
	}

	// kgate clusters: how each is reached, the roles, one login for both.
	r = u.MustRun("--cluster", "prod", "clusters", "-o", "json")
	var cl []struct {
		Name, Context string
		Current       bool
		LoggedIn      bool
		User          string
		Roles         []struct{ Project, Role string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &cl); err != nil || len(cl) != 2 {
		t.Fatalf("clusters -o json: %v\n%s", err, r)
	}
	roles := func(i int) string {
		var s []string
		for _, x := range cl[i].Roles {
			s = append(s, x.Project+"="+x.Role)
		}
		return strings.Join(s, ",")
	}
	if cl[0].Name != "test" || cl[0].Context != "test" || cl[0].Current || !cl[0].LoggedIn || cl[0].User != "bob" || roles(0) != "payments=admin,sandbox=guest" ||
		cl[1].Name != "prod" || !cl[1].Current || !cl[1].LoggedIn || roles(1) != "payments=guest,sandbox=guest" {
		t.Errorf("clusters: %+v", cl)
	}
	r = u.MustRun("clusters")
	if !strings.Contains(r.Stdout, "context prod") || !strings.Contains(r.Stdout, "admin: payments; guest: sandbox") {
		t.Errorf("clusters table:\n%s", r.Stdout)
	}
	// projects shows the role per cluster.
	r = u.MustRun("--cluster", "test", "projects")
	rows := Fields(r.Stdout)
	if len(rows) != 5 || strings.Join(rows[0], " ") != "CURRENT CLUSTER PROJECT ROLE NAMESPACES" {
		t.Fatalf("projects:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "test      payments   admin") || !strings.Contains(r.Stdout, "prod      payments   guest") {
		t.Errorf("projects per cluster:\n%s", r.Stdout)
	}
}

// TestClustersPolicyCacheKeptApart is the scenario: the policy in
// configmap://NS/NAME read from test must not answer for prod, neither
// within its TTL nor, with prod unreachable, as a stale copy.
func TestClustersPolicyCacheKeptApart(t *testing.T) {
	prod := RequireProd(t)
	name := fmt.Sprintf("e2e-policy-%d", time.Now().UnixNano())
	// bob: admin of payments in test's own policy, guest in prod's.
	testDoc := strings.Replace(testPolicy, "admins: {groups: [payments-leads]}", "admins: {groups: [payments-leads, team-payments]}", 1)
	for _, c := range []struct {
		kubectl func(*testing.T, ...string) Result
		doc     string
	}{{Kubectl, testDoc}, {prod.Kubectl, testPolicy}} {
		file := filepath.Join(t.TempDir(), "policy.yaml")
		writeFile(t, file, c.doc)
		if r := c.kubectl(t, "create", "configmap", name, "-n", "kube-public", "--from-file=policy.yaml="+file); r.Code != 0 {
			t.Fatal(r)
		}
	}
	t.Cleanup(func() {
		Kubectl(t, "delete", "configmap", name, "-n", "kube-public", "--ignore-not-found")
		prod.Kubectl(t, "delete", "configmap", name, "-n", "kube-public", "--ignore-not-found")
	})
	u := clustersUser(t)
	u.Setenv("KGATE_POLICY_SOURCE", "configmap://kube-public/"+name)
	u.Setenv("KGATE_POLICY_TTL", "1h")
	u.Login("bob")
	testPod, prodPod := podIn(t, Kubectl), podIn(t, prod.Kubectl)

	r := u.Run("--context", "test", "exec", "-n", "payments", testPod, "-c", "app", "--", "true")
	WantCode(t, r, 0)
	// Within the TTL of test's copy, prod answers with prod's policy.
	r = u.Run("--context", "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "true")
	wantDenied(t, r, `user "bob" is a guest in project "payments"`)
	r = u.MustRun("--context", "prod", "policy", "show", "-o", "json")
	if strings.Contains(r.Stdout, "payments-leads, team-payments") {
		t.Errorf("policy show in prod shows test's policy:\n%s", r.Stdout)
	}

	// Prod unreachable, its policy never read by this user: a clear error
	// (exit 6), never test's cached answer. Same context name, a dead server.
	v := NewUser(t)
	v.Env = append([]string(nil), u.Env...)
	v.Setenv("KGATE_CACHE_DIR", filepath.Join(v.Dir, "cache"))
	kc, err := os.ReadFile(os.Getenv("KGATE_CLUSTERS_KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	dead := strings.Replace(string(kc), strings.TrimPrefix(prod.URL, "https://"), "127.0.0.1:1", 1)
	if dead == string(kc) {
		t.Fatalf("prod's server %s is not in the kubeconfig", prod.URL)
	}
	deadKC := filepath.Join(v.Dir, "kubeconfig")
	writeFile(t, deadKC, dead)
	v.Setenv("KUBECONFIG", deadKC)
	WantCode(t, v.Run("--context", "test", "get", "pods", "-n", "payments"), 0) // caches test's policy
	r = v.Run("--context", "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "true")
	WantCode(t, r, 6)
	if !strings.Contains(r.Stderr, "policy source configmap://kube-public/"+name) || !strings.Contains(r.Stderr, "no cached copy") ||
		!strings.Contains(r.Stderr, "prod") {
		t.Errorf("prod unreachable: %s", r)
	}
}

// TestClustersGatewaySessionsSideBySide: two gateways, one per cluster;
// logging in to one never logs you out of the other, and the policy that
// names both picks the session of each.
func TestClustersGatewaySessionsSideBySide(t *testing.T) {
	prod := RequireProd(t)
	ensureRBAC(t)
	// Prod's own RBAC rendering, for the users its gateway impersonates.
	admin := NewUser(t)
	admin.Setenv("KUBECONFIG", prod.Kubeconfig)
	file := filepath.Join(admin.Dir, "policy.yaml")
	writePolicy(t, file, testPolicy)
	admin.MustRun("policy", "rbac", file, "--apply")

	// alice (payments-leads): admin of payments through test's gateway,
	// guest through prod's (whose policy says so; the cluster's RBAC would
	// let her, so only the policy refuses).
	prodPolicy := strings.Replace(testPolicy, "admins: {groups: [payments-leads]}\n    guests: {groups: [team-payments]}",
		"admins: {groups: [nobody]}\n    guests: {groups: [team-payments, payments-leads]}", 1)
	if prodPolicy == testPolicy {
		t.Fatal("testdata/policy.yaml changed: payments' admins and guests are not where this test expects them")
	}
	gTest := startGateway(t, gwOptions{})
	gProd := startGateway(t, gwOptions{policy: prodPolicy, env: map[string]string{"KUBECONFIG": prod.GatewayKubeconfig(t)}})

	u := NewUser(t)
	u.Setenv("KUBECONFIG", filepath.Join(u.Dir, "no-such-kubeconfig"))
	u.UsePolicy(fmt.Sprintf("version: 2\nclusters:\n  test: {gateway: %q}\n  prod: {gateway: %q}\nprojects:\n  payments:\n    namespaces: [payments]\n", gTest.URL, gProd.URL))
	for _, g := range []*gw{gTest, gProd} {
		r := u.RunStdin(Password(t, "alice")+"\n", "login", "--server", g.URL, "--certificate-authority", g.CAFile, "-u", "alice", "--password-stdin")
		WantCode(t, r, 0)
	}
	testPod, prodPod := podIn(t, Kubectl), podIn(t, prod.Kubectl)
	// Both sessions held: test's is still good after logging in to prod.
	r := u.Run("--cluster", "test", "exec", "-n", "payments", testPod, "-c", "app", "--", "echo", "via-test-gw")
	WantCode(t, r, 0)
	if r.Stdout != "via-test-gw\n" {
		t.Fatalf("exec through test's gateway: %s", r)
	}
	r = u.Run("--cluster", "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "true")
	wantDenied(t, r, `cluster "prod"`, "needs admin")
	r = u.Run("--cluster", "prod", "get", "pods", "-n", "payments", "-o", "name")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "pod/"+prodPod) {
		t.Fatalf("get pods through prod's gateway: %s", r)
	}
	for _, a := range gProd.auditLines() {
		if a["subresource"] == "exec" {
			t.Errorf("prod's gateway saw the exec the CLI refused: %v", a)
		}
	}
	// --server picks a session too, whichever was last.
	WantCode(t, u.Run("--server", gTest.URL, "get", "pods", "-n", "payments"), 0)

	r = u.MustRun("clusters", "-o", "json")
	var cl []struct {
		Name, Gateway, User string
		LoggedIn            bool
	}
	if err := json.Unmarshal([]byte(r.Stdout), &cl); err != nil || len(cl) != 2 || !cl[0].LoggedIn || !cl[1].LoggedIn || cl[1].Gateway != gProd.URL {
		t.Fatalf("clusters: %v %s", err, r)
	}
	// Logging out of prod (the last login) leaves test's session.
	WantCode(t, u.Run("logout"), 0)
	r = u.Run("--cluster", "prod", "get", "pods", "-n", "payments")
	WantCode(t, r, 3)
	if !strings.Contains(r.Stderr, "kgate login --server "+gProd.URL) {
		t.Errorf("after logging out of prod: %s", r)
	}
	WantCode(t, u.Run("--cluster", "test", "get", "pods", "-n", "payments"), 0)
}

// TestClustersCompletionAndProjectUse: --cluster completes from the
// policy's clusters, names complete from the chosen cluster, and the current
// project is kept per cluster.
func TestClustersCompletionAndProjectUse(t *testing.T) {
	prod := RequireProd(t)
	u := clustersUser(t)
	u.UsePolicy(twoClusterPolicy)
	u.Login("bob")
	r := u.MustRun("__complete", "--cluster", "")
	if c := completions(r.Stdout); strings.Join(c, ",") != "test,prod" {
		t.Errorf("--cluster completes %v", c)
	}
	name := fmt.Sprintf("e2e-only-in-prod-%d", time.Now().UnixNano())
	prod.MustKubectl(t, "create", "configmap", name, "-n", "payments")
	t.Cleanup(func() { prod.Kubectl(t, "delete", "configmap", name, "-n", "payments", "--ignore-not-found") })
	r = u.MustRun("__complete", "--cluster", "prod", "get", "configmaps", "-n", "payments", "e2e-only-in-prod")
	if c := completions(r.Stdout); len(c) != 1 || c[0] != name {
		t.Errorf("names in prod: %v", c)
	}
	r = u.MustRun("__complete", "--cluster", "test", "get", "configmaps", "-n", "payments", "e2e-only-in-prod")
	if c := completions(r.Stdout); len(c) != 0 {
		t.Errorf("test completes prod's names: %v", c)
	}

	// project use per cluster.
	u.MustRun("--cluster", "test", "project", "use", "payments")
	u.MustRun("--cluster", "prod", "project", "use", "sandbox")
	for c, want := range map[string]string{"test": "payments", "prod": "sandbox"} {
		r := u.MustRun("--cluster", c, "projects", "-o", "json")
		var ps []struct {
			Cluster, Name string
			Current       bool
		}
		if err := json.Unmarshal([]byte(r.Stdout), &ps); err != nil {
			t.Fatal(err)
		}
		var cur []string
		for _, p := range ps {
			if p.Current {
				cur = append(cur, p.Cluster+"/"+p.Name)
			}
		}
		if strings.Join(cur, ",") != c+"/"+want {
			t.Errorf("current in %s: %v", c, cur)
		}
	}
	// Each cluster's commands work in its own current project's namespace.
	r = u.MustRun("--cluster", "prod", "get", "configmaps", "-o", "name")
	if strings.Contains(r.Stdout, name) {
		t.Errorf("prod's current project is not sandbox: %s", r.Stdout)
	}
	r = u.MustRun("--cluster", "test", "get", "pods", "-o", "name")
	if !strings.Contains(r.Stdout, "pod/web-") {
		t.Errorf("test's current project is not payments: %s", r.Stdout)
	}
}

// completions are the candidates of a __complete answer, without its
// directive line.
func completions(out string) []string {
	var c []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" || strings.HasPrefix(l, ":") {
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		c = append(c, name)
	}
	return c
}
