package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// multiPolicy (version 2): payments-leads (alice) are admins of payments in
// test and guests in prod; team-payments (bob) guests in both.
const multiPolicy = `version: 2
clusters:
  test: {context: test}
  prod: {context: prod}
superAdmins:
  groups: [ops]
projects:
  payments:
    namespaces: [payments, payments-staging]
    guests: {groups: [team-payments]}
    clusters:
      test:
        admins: {groups: [payments-leads]}
      prod:
        guests: {groups: [payments-leads]}
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
    guests: {groups: [qa]}
  sandbox:
    namespaces: [sandbox]
    admins: {users: [erin]}
`

// prodRBACPolicy is multiPolicy's view of prod as a version-1 policy: what
// `kgate policy rbac --apply` renders into the prod cluster, so that the
// cluster's RBAC agrees with the gateway's decisions there.
const prodRBACPolicy = `version: 1
superAdmins:
  groups: [ops]
projects:
  payments:
    namespaces: [payments, payments-staging]
    guests: {groups: [team-payments, payments-leads]}
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
    guests: {groups: [qa]}
  sandbox:
    namespaces: [sandbox]
    admins: {users: [erin]}
`

var prodRBACOnce sync.Once

// multiGateway starts one gateway fronting both clusters, test and prod,
// each with its own deploy/rbac.yaml ServiceAccount, and multiPolicy. The
// test cluster has testPolicy's RBAC (ensureRBAC; alice is admin there in
// both), prod prodRBACPolicy's.
func multiGateway(t *testing.T, args ...string) (*gw, *ProdCluster) {
	t.Helper()
	prod := RequireProd(t)
	ensureRBAC(t)
	prodRBACOnce.Do(func() {
		admin := NewUser(t)
		admin.Setenv("KUBECONFIG", prod.Kubeconfig)
		file := filepath.Join(admin.Dir, "policy.yaml")
		writePolicy(t, file, prodRBACPolicy)
		admin.MustRun("policy", "rbac", file, "--apply")
	})
	prodKC := prod.GatewayKubeconfig(t)
	g := startGateway(t, gwOptions{policy: multiPolicy, args: append([]string{
		"--cluster", "test=" + gatewayKubeconfig(t), "--cluster", "prod=" + prodKC}, args...)})
	return g, prod
}

// kubectlCtx runs the same-source kubectl with the user's printed
// kubeconfig in the given context.
func kubectlCtx(t *testing.T, u *User, context string, args ...string) Result {
	t.Helper()
	return gwKubectl(t, u, append([]string{"--context", context}, args...)...)
}

// prodAudit are the prod API server's audit events that contain needle.
func prodAudit(t *testing.T, prod *ProdCluster, needle string) []kubeEvent {
	t.Helper()
	b, err := os.ReadFile(prod.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []kubeEvent
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, needle) {
			if ev, ok := parseEvent(l); ok {
				out = append(out, ev)
			}
		}
	}
	return out
}

// testAudit are the test API server's audit events that contain needle.
func testAudit(t *testing.T, needle string) []kubeEvent {
	t.Helper()
	path := os.Getenv("KGATE_AUDIT_LOG")
	if path == "" {
		path = filepath.Join(envDir, "logs", "kube-audit.log")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []kubeEvent
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, needle) {
			if ev, ok := parseEvent(l); ok {
				out = append(out, ev)
			}
		}
	}
	return out
}

// waitEvents waits until get returns an event (audit logs are written
// asynchronously).
func waitEvents(t *testing.T, what string, get func() []kubeEvent) []kubeEvent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if evs := get(); len(evs) > 0 {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in the audit log", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// podOf is the first web pod of payments in a cluster, as its admin sees it.
func podOf(t *testing.T, kubectl func(t *testing.T, args ...string) Result) string {
	t.Helper()
	out := strings.Fields(kubectl(t, "get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	if len(out) == 0 {
		t.Fatal("no web pods in payments")
	}
	return strings.TrimPrefix(out[0], "pod/")
}

// One gateway in front of both clusters: `kgate login --print-kubeconfig`
// writes a context per cluster, and plain kubectl works in each, with
// alice's role of each cluster: exec and logs in test (admin), logs but no
// exec in prod (guest), the refusal naming prod and nothing of it reaching
// prod's API server.
func TestMultiClusterGatewayKubectlPerContext(t *testing.T) {
	g, prod := multiGateway(t)
	alice := gwUser(t, g, "alice")
	kc, err := clientcmd.LoadFromFile(filepath.Join(alice.Dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.Contexts) != 2 || kc.Contexts["test"] == nil || kc.Contexts["prod"] == nil {
		t.Fatalf("contexts of the printed kubeconfig: %v", kc.Contexts)
	}
	for _, n := range []string{"test", "prod"} {
		if s := kc.Clusters[kc.Contexts[n].Cluster].Server; s != g.URL+"/clusters/"+n {
			t.Fatalf("context %s: server %s", n, s)
		}
	}
	testPod := podOf(t, MustKubectl)
	prodPod := podOf(t, prod.MustKubectl)
	if testPod == prodPod {
		t.Fatalf("the two clusters have the same pod %s: not independent", testPod)
	}

	// get: each context lists its own cluster's pods.
	for ctx, want := range map[string]string{"test": testPod, "prod": prodPod} {
		r := kubectlCtx(t, alice, ctx, "get", "pods", "-n", "payments", "-o", "name")
		if r.Code != 0 || !strings.Contains(r.Stdout, "pod/"+want) {
			t.Fatalf("kubectl --context %s get pods: want %s: %s", ctx, want, r)
		}
		if l := g.lastAudit(map[string]string{"user": "alice", "verb": "list", "cluster": ctx}); l["decision"] != "allow" {
			t.Fatalf("audit of the list in %s: %v", ctx, l)
		}
	}
	// logs: a guest may, in both.
	for ctx, pod := range map[string]string{"test": testPod, "prod": prodPod} {
		r := kubectlCtx(t, alice, ctx, "logs", "-n", "payments", pod, "-c", "app", "--tail", "1")
		if r.Code != 0 || !strings.Contains(r.Stdout, pod+"/app line") {
			t.Fatalf("kubectl --context %s logs: %s", ctx, r)
		}
	}
	// exec: admin in test.
	marker := fmt.Sprintf("multigw-%d", time.Now().UnixNano())
	r := kubectlCtx(t, alice, "test", "exec", "-n", "payments", testPod, "-c", "app", "--", "echo", marker)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != marker {
		t.Fatalf("kubectl --context test exec: %s", r)
	}
	evs := waitEvents(t, "alice's exec in test", func() []kubeEvent { return testAudit(t, marker) })
	for _, ev := range evs {
		if ev.User.Username != gatewayAccountUser || ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "alice" {
			t.Fatalf("the exec reached test as %s impersonating %+v", ev.User.Username, ev.ImpersonatedUser)
		}
	}
	// exec: a guest in prod, refused by the gateway with the cluster named.
	r = kubectlCtx(t, alice, "prod", "exec", "-n", "payments", prodPod, "-c", "app", "--", "echo", marker+"-prod")
	if r.Code == 0 || !strings.Contains(r.Stderr, `is a guest in project "payments"`) || !strings.Contains(r.Stderr, `cluster "prod"`) ||
		!strings.Contains(r.Stderr, "needs admin") {
		t.Fatalf("kubectl --context prod exec as a guest there: %s", r)
	}
	if l := g.lastAudit(map[string]string{"user": "alice", "verb": "exec", "cluster": "prod"}); l["decision"] != "deny" {
		t.Fatalf("audit of the exec in prod: %v", l)
	}
	time.Sleep(2 * time.Second) // the audit logs are written asynchronously
	if evs := prodAudit(t, prod, marker); len(evs) > 0 {
		t.Fatalf("the refused exec reached prod: %+v", evs)
	}
	if evs := testAudit(t, marker+"-prod"); len(evs) > 0 {
		t.Fatalf("the refused exec in prod reached test: %+v", evs)
	}
	// And what prod saw of alice came through the gateway's prod account,
	// impersonating her: the list above.
	evs = waitEvents(t, "alice's list in prod", func() []kubeEvent {
		var out []kubeEvent
		for _, ev := range prodAudit(t, prod, `"username":"alice"`) {
			if ev.Verb == "list" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" {
				out = append(out, ev)
			}
		}
		return out
	})
	if evs[0].User.Username != gatewayAccountUser {
		t.Fatalf("alice's list reached prod as %s", evs[0].User.Username)
	}
}

// Path tricks on the cluster prefix, each beside its friendly twin. Every
// request names a pod no one has, unique to the case, so both clusters'
// audit logs tell whether it reached them: the friendly ones reach exactly
// their cluster (a 404 from its API server, as alice), the hostile ones
// neither.
func TestMultiClusterGatewayHostilePaths(t *testing.T) {
	g, prod := multiGateway(t)
	alice := gwUser(t, g, "alice")
	tok := alice.token()
	nonce := time.Now().UnixNano()
	type pathCase struct {
		name, method, path string
		want               int
		reaches            string // "test", "prod" or "" (neither)
		bodyHas            string
	}
	var cases []pathCase
	n := 0
	pod := func() string { n++; return fmt.Sprintf("mgw-%d-%d", nonce, n) }
	add := func(c pathCase) { cases = append(cases, c) }
	p := pod()
	add(pathCase{"friendly: test", "GET", "/clusters/test/api/v1/namespaces/payments/pods/" + p, 404, "test", p})
	p = pod()
	add(pathCase{"friendly: prod", "GET", "/clusters/prod/api/v1/namespaces/payments/pods/" + p, 404, "prod", p})
	p = pod()
	add(pathCase{"friendly: exec in test", "POST", "/clusters/test/api/v1/namespaces/payments/pods/" + p + "/exec?command=true&stdout=true", 404, "test", ""})
	p = pod()
	add(pathCase{"dot-dot from prod into test (exec)", "POST", "/clusters/prod/../test/api/v1/namespaces/payments/pods/" + p + "/exec?command=true&stdout=true", 400, "", "canonical"})
	p = pod()
	add(pathCase{"dot-dot out of the prefix", "GET", "/clusters/prod/../../api/v1/namespaces/payments/pods/" + p, 400, "", "canonical"})
	p = pod()
	add(pathCase{"encoded slash in the name", "POST", "/clusters/prod%2F..%2Ftest/api/v1/namespaces/payments/pods/" + p + "/exec?command=true", 400, "", "canonical"})
	p = pod()
	add(pathCase{"encoded slash after the name", "GET", "/clusters/test%2Fapi/v1/namespaces/payments/pods/" + p, 400, "", "canonical"})
	p = pod()
	add(pathCase{"encoded name", "GET", "/clusters/%70rod/api/v1/namespaces/payments/pods/" + p, 400, "", "canonical"})
	p = pod()
	add(pathCase{"upper case name", "GET", "/clusters/PROD/api/v1/namespaces/payments/pods/" + p, 404, "", `no cluster \"PROD\"`})
	p = pod()
	add(pathCase{"unknown cluster", "GET", "/clusters/staging/api/v1/namespaces/payments/pods/" + p, 404, "", `no cluster \"staging\"`})
	p = pod()
	add(pathCase{"empty name", "GET", "/clusters//api/v1/namespaces/payments/pods/" + p, 400, "", "canonical"})
	p = pod()
	add(pathCase{"double prefix prod then test (exec)", "POST", "/clusters/prod/clusters/test/api/v1/namespaces/payments/pods/" + p + "/exec?command=true", 400, "", "one cluster prefix"})
	p = pod()
	add(pathCase{"double prefix, same cluster", "GET", "/clusters/test/clusters/test/api/v1/namespaces/payments/pods/" + p, 400, "", "one cluster prefix"})
	p = pod()
	add(pathCase{"no prefix and no default cluster", "GET", "/api/v1/namespaces/payments/pods/" + p, 404, "", "fronts several clusters"})
	p = pod()
	add(pathCase{"semicolon after the name", "GET", "/clusters/test;prod/api/v1/namespaces/payments/pods/" + p, 400, "", "canonical"})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := hostileCase{method: c.method, path: c.path, token: tok}.send(t, g, "multigw-e2e")
			if res.err != nil || res.status != c.want {
				t.Fatalf("%s %s: %d %v %s, want %d", c.method, c.path, res.status, res.err, res.body, c.want)
			}
			if c.bodyHas != "" && !strings.Contains(res.body, c.bodyHas) {
				t.Fatalf("answer %q lacks %q", res.body, c.bodyHas)
			}
			if c.reaches == "" {
				// The same path as an HTTP/2 :path, exactly as written.
				res := hostileCase{proto: http2Raw, method: c.method, path: c.path, token: tok}.send(t, g, "multigw-e2e")
				if res.err != nil || res.status != c.want {
					t.Fatalf("HTTP/2 %s %s: %d %v %s, want %d", c.method, c.path, res.status, res.err, res.body, c.want)
				}
			}
		})
	}
	// The audit logs, once, after every case: written asynchronously.
	time.Sleep(2 * time.Second)
	for i, c := range cases {
		podName := fmt.Sprintf("mgw-%d-%d", nonce, i+1)
		inTest, inProd := testAudit(t, podName), prodAudit(t, prod, podName)
		switch c.reaches {
		case "test":
			if len(inTest) == 0 || len(inProd) > 0 {
				t.Errorf("%s: %d events in test, %d in prod; want it in test only", c.name, len(inTest), len(inProd))
			}
			for _, ev := range inTest {
				if ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "alice" {
					t.Errorf("%s: reached test not as alice: %+v", c.name, ev)
				}
			}
		case "prod":
			if len(inProd) == 0 || len(inTest) > 0 {
				t.Errorf("%s: %d events in test, %d in prod; want it in prod only", c.name, len(inTest), len(inProd))
			}
			for _, ev := range inProd {
				if ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "alice" {
					t.Errorf("%s: reached prod not as alice: %+v", c.name, ev)
				}
			}
		default:
			if len(inTest)+len(inProd) > 0 {
				t.Errorf("%s: refused, but %d events in test and %d in prod", c.name, len(inTest), len(inProd))
			}
		}
	}
}

// One token, one identity, two clusters with different roles: alice's
// token is good on both prefixes, and on each the gateway decides with that
// cluster's roles. The token used at /clusters/prod for what it may do at
// /clusters/test (exec, over SPDY and WebSocket, and port-forward) is
// refused there; bob, a guest in both, is refused in both.
func TestMultiClusterGatewayRolesDifferPerCluster(t *testing.T) {
	g, prod := multiGateway(t)
	alice := gwUser(t, g, "alice")
	bob := gwUser(t, g, "bob")
	testPod := podOf(t, MustKubectl)
	prodPod := podOf(t, prod.MustKubectl)

	// Upgrades through the prefix: exec over each transport in test.
	for _, tr := range []string{"websocket", "spdy"} {
		cmd := exec.Command(kubectlBin, "--context", "test", "exec", "-n", "payments", testPod, "-c", "app", "--", "sh", "-c", "exit 3")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + filepath.Join(alice.Dir, "kubeconfig")}
		if tr == "spdy" {
			cmd.Env = append(cmd.Env, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false")
		}
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("exec over %s in test: %v (want the command's exit 3)", tr, err)
		}
	}
	// Port-forward through /clusters/test (an admin's) and refused through
	// /clusters/prod (a guest's).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(kubectlBin, "--context", "test", "port-forward", "-n", "payments", "pod/"+testPod, fmt.Sprintf(":%d", port))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + filepath.Join(alice.Dir, "kubeconfig")}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`127\.0\.0\.1:(\d+) ->`).FindStringSubmatch(line)
	if err != nil || m == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("port-forward in test: %q %v", line, err)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+m[1], 5*time.Second)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "via /clusters/test\n")
		got, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if got != "via /clusters/test\n" {
			t.Errorf("port-forward echo: %q", got)
		}
	} else {
		t.Error(err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if l := g.lastAudit(map[string]string{"user": "alice", "subresource": "portforward", "cluster": "test"}); l["decision"] != "allow" {
		t.Errorf("port-forward audit in test: %v", l)
	}

	// The same token at /clusters/prod: upgrades refused before anything
	// reaches prod.
	before := len(prodAudit(t, prod, `"username":"alice"`))
	refusedFrom := time.Now()
	for _, tc := range []hostileCase{
		{method: "POST", path: "/clusters/prod/api/v1/namespaces/payments/pods/" + prodPod + "/exec?command=true&stdout=true",
			hdr: []string{"Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4.channel.k8s.io"}},
		{method: "GET", path: "/clusters/prod/api/v1/namespaces/payments/pods/" + prodPod + "/exec?command=true&stdout=true",
			hdr: []string{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Protocol: v5.channel.k8s.io"}},
		{method: "POST", path: "/clusters/prod/api/v1/namespaces/payments/pods/" + prodPod + "/portforward",
			hdr: []string{"Connection: Upgrade", "Upgrade: SPDY/3.1"}},
		// A test pod's name at prod: still prod's roles.
		{method: "POST", path: "/clusters/prod/api/v1/namespaces/payments/pods/" + testPod + "/exec?command=true&stdout=true",
			hdr: []string{"Connection: Upgrade", "Upgrade: SPDY/3.1"}},
	} {
		tc.token = alice.token()
		res := tc.send(t, g, "multigw-e2e")
		if res.err != nil || res.status != 403 || !strings.Contains(res.body, "prod") {
			t.Errorf("%s %s as alice: %d %v %s, want 403 naming prod", tc.method, tc.path, res.status, res.err, res.body)
		}
	}
	// bob is a guest in both: refused in both.
	for _, ctx := range []string{"test", "prod"} {
		pod := map[string]string{"test": testPod, "prod": prodPod}[ctx]
		if r := kubectlCtx(t, bob, ctx, "exec", "-n", "payments", pod, "-c", "app", "--", "true"); r.Code == 0 || !strings.Contains(r.Stderr, "needs admin") {
			t.Errorf("bob's exec in %s: %s", ctx, r)
		}
	}
	time.Sleep(2 * time.Second)
	for _, ev := range prodAudit(t, prod, `"username":"alice"`)[before:] {
		if ev.ObjectRef != nil && (ev.ObjectRef.Subresource == "exec" || ev.ObjectRef.Subresource == "portforward") {
			t.Errorf("alice's refused upgrade reached prod: %+v", ev)
		}
	}
	for _, ev := range testAudit(t, `"username":"alice"`) {
		if ev.ObjectRef != nil && (ev.ObjectRef.Subresource == "exec" || ev.ObjectRef.Subresource == "portforward") && ev.Received.After(refusedFrom) {
			t.Errorf("alice's refused upgrade at /clusters/prod reached test: %+v", ev)
		}
	}
	for _, ev := range prodAudit(t, prod, `"username":"bob"`) {
		if ev.ObjectRef != nil && ev.ObjectRef.Subresource == "exec" && ev.Received.After(time.Now().Add(-time.Minute)) {
			t.Errorf("bob's refused exec reached prod: %+v", ev)
		}
	}
}

// A multi-cluster gateway with a default cluster serves the unprefixed
// paths there (the CLI's gateway mode and the web console work unchanged),
// and a single-cluster gateway still ignores the prefix: every existing
// gateway test runs against one.
func TestMultiClusterGatewayDefaultCluster(t *testing.T) {
	g, prod := multiGateway(t, "--default-cluster", "prod")
	bob := gwUser(t, g, "bob")
	kc, err := clientcmd.LoadFromFile(filepath.Join(bob.Dir, "kubeconfig"))
	if err != nil || kc.CurrentContext != "prod" {
		t.Fatalf("current context of the printed kubeconfig: %v %v", kc, err)
	}
	prodPod := podOf(t, prod.MustKubectl)
	// kgate itself, through the unprefixed paths: prod's pods.
	r := bob.MustRun("get", "pods", "-n", "payments", "-o", "name")
	if !strings.Contains(r.Stdout, prodPod) {
		t.Fatalf("kgate get pods through the default cluster prod: %s", r)
	}
	if l := g.lastAudit(map[string]string{"user": "bob", "verb": "list"}); l["cluster"] != "prod" {
		t.Fatalf("audit of an unprefixed list: %v", l)
	}
	code, body := g.get("/kgate/v1/clusters", "", nil)
	if code != 200 || !strings.Contains(body, `"clusters":["test","prod"]`) || !strings.Contains(body, `"default":"prod"`) {
		t.Fatalf("/kgate/v1/clusters: %d %s", code, body)
	}
}

// Bad --cluster flags: a usage error (exit 2) naming the flag.
func TestMultiClusterGatewayBadFlags(t *testing.T) {
	u := NewUser(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster", "prod"}, "want NAME=KUBECONFIG"},
		{[]string{"--cluster", "Prod=/nonexistent"}, "not a cluster name"},
		{[]string{"--cluster", "a=/x", "--cluster", "a=/y"}, "named twice"},
		{[]string{"--default-cluster", "prod"}, "needs --cluster"},
	} {
		r := u.Run(append([]string{"serve", "--signing-key-file", "/nonexistent", "--policy", "/nonexistent"}, tc.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("kgate serve %v: want exit 2 with %q: %s", tc.args, tc.want, r)
		}
	}
}
