package e2e

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kgate/kgate/internal/gateway"
)

// gw is a `kgate serve` started by a test on loopback, with its own CA and
// serving certificate (test/tools/cmd/certs), its own Ed25519 signing key,
// a policy file, the local slapd and, as the cluster credentials it
// forwards with, a token of deploy/rbac.yaml's ServiceAccount (see
// gatewayKubeconfig): least privilege, as deployed.
type gw struct {
	t      *testing.T
	URL    string
	CAFile string
	Policy string // the policy file
	Proc   *Proc
	key    gateway.Key
	dir    string
	// Locks is the NAMESPACE/NAME of its locks ConfigMap.
	Locks string
}

type gwOptions struct {
	policy string
	args   []string
	env    map[string]string
	// peer, when set, is a gateway whose certificates, signing key, policy
	// file and locks ConfigMap this one shares: another replica.
	peer *gw
}

// startGateway starts a gateway and waits until it listens.
func startGateway(t *testing.T, o gwOptions) *gw {
	t.Helper()
	var g *gw
	if o.peer != nil {
		p := o.peer
		g = &gw{t: t, CAFile: p.CAFile, Policy: p.Policy, key: p.key, dir: p.dir, Locks: p.Locks}
	} else {
		g = newGatewayFiles(t, o)
	}
	srv := NewUser(t)
	srv.UseLDAP()
	// The gateway's own credentials: deploy/rbac.yaml's account, no more.
	srv.Setenv("KUBECONFIG", gatewayKubeconfig(t))
	for k, v := range o.env {
		srv.Setenv(k, v)
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0",
		"--tls-cert-file", filepath.Join(g.dir, "tls", "tls.crt"), "--tls-private-key-file", filepath.Join(g.dir, "tls", "tls.key"),
		"--signing-key-file", filepath.Join(g.dir, "signing.pem"), "--policy", g.Policy}, o.args...)
	if !slices.Contains(args, "--locks") {
		args = append(args, "--locks", g.Locks)
	}
	p := srv.Start(args...)
	g.Proc = p
	re := regexp.MustCompile(`"msg":"serving","address":"([0-9.:]+)"`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			g.URL = "https://" + m[1]
			return g
		}
		if _, done := p.Wait(100 * time.Millisecond); done {
			break
		}
	}
	t.Fatalf("the gateway did not start:\n%s", p.Output())
	return nil
}

// newGatewayFiles makes a gateway's CA, serving certificate, signing key,
// policy file and locks ConfigMap name.
func newGatewayFiles(t *testing.T, o gwOptions) *gw {
	t.Helper()
	certsBin := filepath.Join(os.Getenv("KGATE_TOOLS_BIN"), "certs")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ca", "--out", filepath.Join(dir, "ca"), "--cn", "kgate-e2e-gateway-ca"},
		{"leaf", "--ca", filepath.Join(dir, "ca"), "--cn", "kgate-gateway", "--ip", "127.0.0.1", "--dns", "localhost", "--out", filepath.Join(dir, "tls")},
	} {
		if out, err := exec.Command(certsBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("certs %v: %v\n%s", args, err, out)
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyFile := filepath.Join(dir, "signing.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := gateway.NewKey(priv)
	if o.policy == "" {
		o.policy = testPolicy
	}
	policyFile := filepath.Join(dir, "policy.yaml")
	writePolicy(t, policyFile, o.policy)
	// Every gateway of the suite shares deploy/rbac.yaml's locks ConfigMap:
	// the account may touch no other. Tests that lock clear it after.
	return &gw{t: t, CAFile: filepath.Join(dir, "tls", "ca.crt"), Policy: policyFile, key: key, dir: dir, Locks: "kgate-system/kgate-locks"}
}

// auditLines are the gateway's audit lines (JSON on stdout) so far.
func (g *gw) auditLines() []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(g.Proc.Output(), "\n") {
		if !strings.HasPrefix(l, "{") || !strings.Contains(l, `"decision"`) {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// lastAudit is the gateway's latest audit line that has all of the given
// field values.
func (g *gw) lastAudit(match map[string]string) map[string]any {
	g.t.Helper()
	lines := g.auditLines()
	for i := len(lines) - 1; i >= 0; i-- {
		ok := true
		for k, v := range match {
			if fmt.Sprint(lines[i][k]) != v {
				ok = false
				break
			}
		}
		if ok {
			return lines[i]
		}
	}
	g.t.Fatalf("no gateway audit line with %v:\n%s", match, g.Proc.Output())
	return nil
}

// client is an HTTPS client that trusts the gateway.
func (g *gw) client() *http.Client {
	ca, err := os.ReadFile(g.CAFile)
	if err != nil {
		g.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// get sends a GET with a bearer token and extra headers.
func (g *gw) get(path, token string, hdr map[string]string) (int, string) {
	g.t.Helper()
	req, _ := http.NewRequest("GET", g.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := g.client().Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gwUser logs name in through the gateway. The user has no cluster
// credentials at all (KUBECONFIG names no file) and no LDAP settings: the
// gateway is all they talk to. Their kubectl kubeconfig is Dir/kubeconfig.
func gwUser(t *testing.T, g *gw, name string) *User {
	t.Helper()
	u := NewUser(t)
	u.Setenv("KUBECONFIG", filepath.Join(u.Dir, "no-such-kubeconfig"))
	r := u.RunStdin(Password(t, name)+"\n", "login", "--server", g.URL, "--certificate-authority", g.CAFile,
		"-u", name, "--password-stdin", "--print-kubeconfig")
	if r.Code != 0 {
		t.Fatalf("login through the gateway as %s: %s", name, r)
	}
	if err := os.WriteFile(filepath.Join(u.Dir, "kubeconfig"), []byte(r.Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// token is the user's gateway token, from the session.
func (u *User) token() string {
	u.t.Helper()
	b, err := os.ReadFile(sessionPath(u))
	if err != nil {
		u.t.Fatal(err)
	}
	var s struct{ Token string }
	_ = json.Unmarshal(b, &s)
	return s.Token
}

// gwKubectl runs the same-source kubectl with the kubeconfig the user's
// gateway login printed.
func gwKubectl(t *testing.T, u *User, args ...string) Result {
	t.Helper()
	return run(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + filepath.Join(u.Dir, "kubeconfig")}, "", kubectlBin, args...)
}

var rbacOnce sync.Mutex
var rbacApplied bool

// ensureRBAC applies testPolicy's RBAC rendering to the cluster, as an
// administrator would before users go through the gateway: impersonated
// users need it to be allowed anything at all.
func ensureRBAC(t *testing.T) {
	t.Helper()
	rbacOnce.Lock()
	defer rbacOnce.Unlock()
	if rbacApplied {
		return
	}
	admin := NewUser(t)
	file := filepath.Join(admin.Dir, "policy.yaml")
	writePolicy(t, file, testPolicy)
	r := admin.MustRun("policy", "rbac", file, "--apply")
	if !strings.Contains(r.Stdout, "rolebinding.rbac.authorization.k8s.io/kgate-guest serverside-applied (namespace payments)") {
		t.Fatalf("policy rbac --apply: %s", r)
	}
	rbacApplied = true
}

// sharedGateway is a gateway with testPolicy, after the RBAC rendering is
// applied. Each test starts its own (a second): one test's gateway never
// sees another's requests.
func sharedGateway(t *testing.T) *gw {
	t.Helper()
	ensureRBAC(t)
	return startGateway(t, gwOptions{})
}

func TestGatewayLoginAndCommands(t *testing.T) {
	g := sharedGateway(t)
	alice := gwUser(t, g, "alice")
	info := whoami(t, alice)
	if info.User != "alice" || info.Issuer != g.URL || !slices.Contains(info.Groups, "payments-leads") {
		t.Errorf("whoami: %+v", info)
	}

	// get, describe: what the cluster has.
	got := names(alice.MustRun("get", "pods", "-n", "payments", "-o", "name").Stdout)
	want := names(MustKubectl(t, "get", "pods", "-n", "payments", "-o", "name").Stdout)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("get pods through the gateway: %v, cluster %v", got, want)
	}
	if r := alice.MustRun("describe", "deploy/web", "-n", "payments"); !strings.Contains(r.Stdout, "Name:") || !strings.Contains(r.Stdout, "web") {
		t.Errorf("describe: %s", r)
	}
	alice.MustRun("get", "secrets", "-n", "payments")
	pod := webPod(t, alice)

	// logs, and a followed log that arrives line by line.
	if r := alice.MustRun("logs", "-n", "payments", pod, "--tail", "1"); !strings.Contains(r.Stdout, pod+"/app line") {
		t.Errorf("logs: %s", r)
	}
	f := alice.Start("logs", "-f", "-n", "payments", pod, "--tail", "1")
	if !f.WaitFor(pod+"/app line", 10*time.Second) {
		t.Fatalf("logs -f: %s", f.Output())
	}
	n := strings.Count(f.Output(), "\n")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(f.Output(), "\n") < n+2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if c := strings.Count(f.Output(), "\n"); c < n+2 {
		t.Errorf("logs -f through the gateway: no new lines streamed in 10s:\n%s", f.Output())
	}
	f.Stop()

	// exec over both transports, exit codes and stdin.
	for _, transport := range []string{"websocket", "spdy"} {
		r := alice.Run("exec", "-n", "payments", "deploy/web", "--transport", transport, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
		if r.Code != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
			t.Errorf("exec over %s: %s", transport, r)
		}
	}
	if r := alice.RunStdin("hello\nworld\n", "exec", "-i", "-n", "payments", pod, "--", "cat"); r.Code != 0 || r.Stdout != "hello\nworld\n" {
		t.Errorf("exec -i: %s", r)
	}
	execLine := g.lastAudit(map[string]string{"user": "alice", "verb": "exec"})

	// scale and delete, on a deployment of the test's own (no other test
	// sees its pods come and go).
	dep := "gw-e2e-" + randomSuffix(t)
	MustKubectl(t, "create", "deployment", dep, "-n", "payments-staging", "--image", "registry.local/gw:1", "--replicas", "0")
	t.Cleanup(func() { Kubectl(t, "delete", "deployment", dep, "-n", "payments-staging", "--ignore-not-found") })
	alice.MustRun("scale", "deploy/"+dep, "-n", "payments-staging", "--replicas", "1", "--yes")
	if r := MustKubectl(t, "get", "deploy/"+dep, "-n", "payments-staging", "-o", "jsonpath={.spec.replicas}"); r.Stdout != "1" {
		t.Errorf("replicas after scale: %s", r.Stdout)
	}
	if r := gwKubectl(t, alice, "scale", "deploy/"+dep, "-n", "payments-staging", "--replicas", "0"); r.Code != 0 {
		t.Errorf("kubectl scale: %s", r)
	}
	if r := MustKubectl(t, "get", "deploy/"+dep, "-n", "payments-staging", "-o", "jsonpath={.spec.replicas}"); r.Stdout != "0" {
		t.Errorf("replicas after kubectl scale: %s", r.Stdout)
	}
	alice.MustRun("delete", "deployment", dep, "-n", "payments-staging", "--yes")
	if r := Kubectl(t, "get", "deployment", dep, "-n", "payments-staging"); r.Code == 0 {
		t.Errorf("deployment %s still there", dep)
	}
	cm := "gw-e2e-" + randomSuffix(t)

	// The API server's audit log shows alice, impersonated by the gateway's
	// own account, under the gateway's decision id; the CLI's decision id
	// is the gateway line's clientAuditID.
	id := fmt.Sprint(execLine["id"])
	cliIDs := map[string]bool{}
	for _, e := range kgateAuditLog(t, alice) {
		if e.Verb == "exec" && e.Decision == "allow" {
			cliIDs[e.ID] = true
		}
	}
	if cid := fmt.Sprint(execLine["clientAuditID"]); !cliIDs[cid] || cid == id {
		t.Errorf("the gateway's exec line %v does not join the CLI's exec decisions %v", execLine, cliIDs)
	}
	evs := waitKubeAudit(t, `"auditID":"`+id+`"`)
	for _, ev := range evs {
		imp, _ := ev["impersonatedUser"].(map[string]any)
		user, _ := ev["user"].(map[string]any)
		if imp == nil || imp["username"] != "alice" || user["username"] == "alice" {
			t.Errorf("kube audit event of %s: user %v, impersonatedUser %v", id, user, imp)
		}
		if groups, _ := imp["groups"].([]any); !slices.Contains(groups, any("payments-leads")) {
			t.Errorf("impersonated groups %v", imp["groups"])
		}
	}
	if l := g.lastAudit(map[string]string{"user": "alice", "verb": "exec"}); !strings.HasPrefix(fmt.Sprint(l["client"]), "127.0.0.1:") {
		t.Errorf("gateway audit line without the client address: %v", l)
	}

	// Plain kubectl with the printed kubeconfig.
	kgot := names(gwKubectl(t, alice, "get", "pods", "-n", "payments", "-o", "name").Stdout)
	if !slices.Equal(kgot, want) {
		t.Errorf("kubectl get pods through the gateway: %v, want %v", kgot, want)
	}
	if r := gwKubectl(t, alice, "logs", "-n", "payments", pod, "-c", "app", "--tail", "1"); r.Code != 0 || !strings.Contains(r.Stdout, "line") {
		t.Errorf("kubectl logs: %s", r)
	}
	if r := gwKubectl(t, alice, "exec", "-n", "payments", pod, "-c", "app", "--", "sh", "-c", "echo kubectl-exec; exit 5"); r.Code != 5 || r.Stdout != "kubectl-exec\n" {
		t.Errorf("kubectl exec: %s", r)
	}
	MustKubectl(t, "create", "configmap", cm, "-n", "payments", "--from-literal=a=b")
	if r := gwKubectl(t, alice, "delete", "configmap", cm, "-n", "payments"); r.Code != 0 {
		t.Errorf("kubectl delete: %s", r)
	}
	if r := gwKubectl(t, alice, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); r.Stdout != "alice" {
		t.Errorf("kubectl auth whoami: %s", r)
	}
}

func TestGatewayPortForward(t *testing.T) {
	g := sharedGateway(t)
	alice := gwUser(t, g, "alice")
	// The node agent dials 127.0.0.1:<pod port>: an echo server stands in for
	// the container.
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
	pod := webPod(t, alice)
	cmd := exec.Command(kubectlBin, "port-forward", "-n", "payments", "pod/"+pod, fmt.Sprintf(":%d", port))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + filepath.Join(alice.Dir, "kubeconfig")}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`127\.0\.0\.1:(\d+) ->`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("port-forward: %q %v", line, err)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+m[1], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "through the gateway\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "through the gateway\n" {
		t.Errorf("port-forward echo: %q %v", got, err)
	}
	if l := g.lastAudit(map[string]string{"user": "alice", "subresource": "portforward"}); l["decision"] != "allow" {
		t.Errorf("port-forward audit: %v", l)
	}
}

func TestGatewayGuestExecRefused(t *testing.T) {
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	pod := webPod(t, bob)
	// kubectl has no policy of its own: the gateway refuses, with the reason.
	r := gwKubectl(t, bob, "exec", "-n", "payments", pod, "-c", "app", "--", "true")
	if r.Code == 0 || !strings.Contains(r.Stderr, `user "bob" is a guest in project "payments" (namespace "payments"); exec pods/`+pod+` (exec) needs admin. Project admins: group payments-leads`) {
		t.Errorf("kubectl exec as a guest: %s", r)
	}
	if l := g.lastAudit(map[string]string{"user": "bob", "verb": "exec"}); l["decision"] != "deny" {
		t.Errorf("audit: %v", l)
	}
	// The raw answer is a Kubernetes Status 403.
	code, body := g.get("/api/v1/namespaces/payments/secrets", bob.token(), nil)
	var st struct {
		Kind, Status, Reason, Message string
		Code                          int
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 403 || st.Kind != "Status" || st.Reason != "Forbidden" || st.Code != 403 ||
		!strings.Contains(st.Message, "list secrets needs admin") {
		t.Errorf("403 body: %d %s", code, body)
	}
	// kgate checks first, with the gateway's own policy.
	wantDenied(t, bob.Run("exec", "-n", "payments", pod, "--", "true"), "exec pods/"+pod+" (exec) needs admin")
	// kubectl get pods -A: cluster-wide lists are for super admins.
	r = gwKubectl(t, bob, "get", "pods", "-A")
	if r.Code == 0 || !strings.Contains(r.Stderr, "reserved to super admins") {
		t.Errorf("kubectl get pods -A as bob: %s", r)
	}
}

// A client whose cached policy still allows exec: the gateway decides with
// the current one and refuses; kgate exits 4 with the gateway's reason.
func TestGatewayDecidesEvenWhenTheClientAllows(t *testing.T) {
	ensureRBAC(t)
	bobAdmin := strings.Replace(testPolicy, "admins: {groups: [payments-leads]}", "admins: {groups: [payments-leads], users: [bob]}", 1)
	g := startGateway(t, gwOptions{policy: bobAdmin, env: map[string]string{"KGATE_POLICY_TTL": "1s"}})
	bob := gwUser(t, g, "bob")
	WantCode(t, bob.Run("can-i", "exec", "pods", "-n", "payments"), 0) // the client caches the policy (TTL 5m)
	writePolicy(t, g.Policy, testPolicy)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(g.Proc.Output(), `"msg":"policy loaded"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not pick up the new policy:\n%s", g.Proc.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := bob.Run("exec", "-n", "payments", "deploy/web", "--", "true")
	WantCode(t, r, 4)
	if !strings.Contains(r.Stderr, `user "bob" is a guest in project "payments"`) || !strings.Contains(r.Stderr, "needs admin") {
		t.Errorf("the gateway's reason is not shown: %s", r)
	}
	if l := g.lastAudit(map[string]string{"user": "bob", "verb": "exec"}); l["decision"] != "deny" {
		t.Errorf("gateway audit: %v", l)
	}
}

// With the RBAC rendering applied, going around the gateway with an
// impersonating admin kubeconfig gets the same answers from the cluster.
func TestGatewayRBACRefusesWhatThePolicyRefuses(t *testing.T) {
	ensureRBAC(t)
	pod := strings.TrimPrefix(names(MustKubectl(t, "get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)[0], "pod/")
	bob := []string{"--as", "bob", "--as-group", "team-payments"}
	alice := []string{"--as", "alice", "--as-group", "payments-leads"}
	refused := func(args ...string) {
		t.Helper()
		r := Kubectl(t, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "forbidden") {
			t.Errorf("kubectl %v: want forbidden by the cluster, got %s", args, r)
		}
	}
	allowed := func(args ...string) {
		t.Helper()
		if r := Kubectl(t, args...); r.Code != 0 {
			t.Errorf("kubectl %v: %s", args, r)
		}
	}
	refused(append(bob, "exec", "-n", "payments", pod, "-c", "app", "--", "true")...)
	refused(append(bob, "get", "secrets", "-n", "payments")...)
	refused(append(bob, "scale", "deploy/web", "-n", "payments", "--replicas", "2")...)
	refused(append(bob, "delete", "pod", pod, "-n", "payments", "--dry-run=server")...)
	refused(append(bob, "get", "pods", "-n", "kube-system")...)
	refused(append(bob, "get", "pods", "-A")...)
	refused(append(alice, "get", "pods", "-n", "search-prod")...)
	refused(append(alice, "delete", "namespace", "payments", "--dry-run=server")...)
	refused(append(alice, "create", "rolebinding", "x", "-n", "payments", "--clusterrole", "kgate-admin", "--user", "bob", "--dry-run=server")...)
	allowed(append(bob, "get", "pods", "-n", "payments")...)
	allowed(append(bob, "logs", "-n", "payments", pod, "-c", "app", "--tail", "1")...)
	allowed(append(alice, "get", "secrets", "-n", "payments")...)
	allowed(append(alice, "exec", "-n", "payments", pod, "-c", "app", "--", "true")...)
	allowed("--as", "dave", "--as-group", "team-search", "get", "secrets", "-n", "search-prod")
	allowed("--as", "olga", "--as-group", "ops", "get", "pods", "-A")
}

func TestGatewayRefusesBadTokens(t *testing.T) {
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	good := bob.token()
	path := "/api/v1/namespaces/payments/pods"
	if code, body := g.get(path, good, nil); code != 200 {
		t.Fatalf("good token: %d %s", code, body)
	}
	parts := strings.Split(good, ".")
	claims := map[string]any{}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(b, &claims)
	iss := fmt.Sprint(claims["iss"])

	sign := func(key gateway.Key, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(key.Method, c)
		tok.Header["kid"] = key.ID
		s, err := tok.SignedString(key.Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "aud": "kgate", "sub": "olga", "groups": []string{"ops"},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	// The gateway's own key, to show what is refused is refused for the
	// reason tested and not for a mistake in the test.
	if code, body := g.get(path, sign(g.key, base()), nil); code != 200 {
		t.Fatalf("a token signed with the gateway's key: %d %s", code, body)
	}
	expired := base()
	expired["iat"], expired["nbf"], expired["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	wrongIss := base()
	wrongIss["iss"] = "https://evil.example.com"
	wrongAud := base()
	wrongAud["aud"] = "kubernetes"
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := gateway.NewKey(otherPriv)
	other.ID = g.key.ID // claims to be the gateway's key
	hdrNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + g.key.ID + `"}`))
	cb, _ := json.Marshal(base())
	body := base64.RawURLEncoding.EncodeToString(cb)
	forgedClaims := map[string]any{}
	for k, v := range claims {
		forgedClaims[k] = v
	}
	forgedClaims["groups"] = []string{"ops"}
	fb, _ := json.Marshal(forgedClaims)

	for name, tok := range map[string]string{
		"expired":      sign(g.key, expired),
		"wrong key":    sign(other, base()),
		"alg none":     hdrNone + "." + body + ".",
		"forged":       parts[0] + "." + base64.RawURLEncoding.EncodeToString(fb) + "." + parts[2],
		"other issuer": sign(g.key, wrongIss),
		"other aud":    sign(g.key, wrongAud),
		"garbage":      "abc",
	} {
		code, resp := g.get(path, tok, nil)
		if code != 401 || !strings.Contains(resp, `"reason":"Unauthorized"`) {
			t.Errorf("%s token: %d %s", name, code, resp)
		}
	}
	if code, _ := g.get(path, "", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	// kubectl with a forged token in its kubeconfig (the written one has
	// none: it asks `kgate credential`).
	forgedTok := parts[0] + "." + base64.RawURLEncoding.EncodeToString(fb) + "." + parts[2]
	kc, err := gateway.Kubeconfig(g.URL, forgedTok, mustReadBytes(t, g.CAFile), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bob.Dir, "kubeconfig"), kc, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := gwKubectl(t, bob, "get", "pods", "-n", "payments"); r.Code == 0 || !strings.Contains(r.Stderr, "You must be logged in to the server") {
		t.Errorf("kubectl with a forged token: %s", r)
	}
}

func TestGatewayStripsClientImpersonation(t *testing.T) {
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	id := "7e57e2e0-" + randomSuffix(t)[:4] + "-4000-8000-" + randomSuffix(t) + randomSuffix(t)[:4]
	code, body := g.get("/api/v1/namespaces/payments/pods", bob.token(), map[string]string{
		"Impersonate-User": "system:admin", "Impersonate-Group": "system:masters", "Audit-ID": id,
	})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// The client's Audit-ID is a field of the gateway's line; the API
	// server gets the gateway's own.
	l := g.lastAudit(map[string]string{"clientAuditID": id})
	if l["user"] != "bob" || l["decision"] != "allow" || l["id"] == id {
		t.Errorf("gateway audit: %v", l)
	}
	for _, ev := range waitKubeAudit(t, `"auditID":"`+fmt.Sprint(l["id"])+`"`) {
		imp, _ := ev["impersonatedUser"].(map[string]any)
		if imp == nil || imp["username"] != "bob" || strings.Contains(fmt.Sprint(imp["groups"]), "system:masters") {
			t.Errorf("the API server saw %v", imp)
		}
	}
	if evs := kubeAudit(t, `"auditID":"`+id+`"`); len(evs) != 0 {
		t.Errorf("the client's audit id reached the API server: %v", evs)
	}
	if !strings.Contains(g.Proc.Output(), "removed the client's own impersonation headers") {
		t.Error("the stripped headers are not logged")
	}
	// kubectl --as: still bob, and bob may not read secrets.
	r := gwKubectl(t, bob, "--as", "system:admin", "--as-group", "system:masters", "get", "secrets", "-n", "payments")
	if r.Code == 0 || !strings.Contains(r.Stderr, `user "bob" is a guest`) {
		t.Errorf("kubectl --as system:admin: %s", r)
	}
}

func TestGatewayNamespacesAndDiscovery(t *testing.T) {
	g := sharedGateway(t)
	dave := gwUser(t, g, "dave")
	// A glob project: kgate lists the namespaces (the gateway filters them)
	// and then each one.
	if got := names(dave.MustRun("get", "namespaces", "-o", "name").Stdout); !slices.Equal(got, []string{"namespace/search-dev", "namespace/search-prod"}) {
		t.Errorf("dave's namespaces: %v", got)
	}
	if got := names(gwKubectl(t, dave, "get", "namespaces", "-o", "name").Stdout); !slices.Equal(got, []string{"namespace/search-dev", "namespace/search-prod"}) {
		t.Errorf("kubectl get ns as dave: %v", got)
	}
	var want []string
	for _, ns := range []string{"search-dev", "search-prod"} {
		for _, n := range names(MustKubectl(t, "get", "pods", "-n", ns, "-o", "name").Stdout) {
			want = append(want, ns+"/"+n)
		}
	}
	var got []string
	for _, row := range Fields(dave.MustRun("get", "pods", "-A", "--no-headers").Stdout) {
		got = append(got, row[0]+"/pod/"+row[1])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("dave get pods -A: %v, want %v", got, want)
	}
	// Discovery is open to any logged-in user, even one with one namespace.
	erin := gwUser(t, g, "erin")
	if r := gwKubectl(t, erin, "api-resources", "--api-group", "apps", "-o", "name"); r.Code != 0 || !strings.Contains(r.Stdout, "deployments.apps") {
		t.Errorf("kubectl api-resources as erin: %s", r)
	}
	if r := gwKubectl(t, erin, "version", "-o", "json"); r.Code != 0 || !strings.Contains(r.Stdout, "serverVersion") {
		t.Errorf("kubectl version as erin: %s", r)
	}
	// A super admin lists across all namespaces.
	olga := gwUser(t, g, "olga")
	if got := names(gwKubectl(t, olga, "get", "pods", "-A", "-o", "name").Stdout); !slices.Equal(got, names(MustKubectl(t, "get", "pods", "-A", "-o", "name").Stdout)) {
		t.Errorf("olga get pods -A: %v", got)
	}
}

func TestGatewayHealthAndMetrics(t *testing.T) {
	g := sharedGateway(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := g.get(p, "", nil); code != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	bob := gwUser(t, g, "bob")
	bob.MustRun("get", "pods", "-n", "payments")
	_, body := g.get("/metrics", "", nil)
	for _, m := range []string{`kgate_gateway_requests_total{code="200",verb="list"}`, `kgate_gateway_decisions_total{decision="allow",kind="resource"}`,
		`kgate_gateway_logins_total{result="ok"} 1`, "kgate_gateway_request_duration_seconds_bucket", "process_resident_memory_bytes"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestGatewayLoginRateLimit(t *testing.T) {
	g := startGateway(t, gwOptions{args: []string{"--login-failure-limit", "2", "--login-failure-window", "1h"}})
	u := NewUser(t)
	login := func(name, pw string) Result {
		return u.RunStdin(pw+"\n", "login", "--server", g.URL, "--certificate-authority", g.CAFile, "-u", name, "--password-stdin")
	}
	for i := 0; i < 2; i++ {
		r := login("erin", "wrong")
		WantCode(t, r, 3)
		wantStderr(t, r, "invalid username or password")
	}
	// The right password, too late: refused before the directory is asked.
	r := login("erin", Password(t, "erin"))
	WantCode(t, r, 3)
	wantStderr(t, r, `too many failed logins for user "erin" from 127.0.0.1 (the limit is 2 per 1h0m0s)`, "Wait before you try again")
	if !strings.Contains(g.Proc.Output(), `"msg":"login rate-limited","user":"erin","client":"127.0.0.1","limit":2,"window":"1h0m0s","scope":"user-address"`) {
		t.Errorf("the limit is not logged:\n%s", g.Proc.Output())
	}
	// Only that user from that address waits: another user from the same
	// address logs in (the per-address allowance is four times larger).
	r = login("alice", Password(t, "alice"))
	WantCode(t, r, 0)
	if l := g.lastAudit(map[string]string{"user": "erin", "verb": "login"}); l["decision"] != "deny" {
		t.Errorf("audit: %v", l)
	}
	if strings.Contains(g.Proc.Output(), Password(t, "erin")) || strings.Contains(g.Proc.Output(), "wrong") {
		t.Error("a password is in the gateway's output")
	}
}

func TestGatewayGracefulShutdown(t *testing.T) {
	ensureRBAC(t)
	g := startGateway(t, gwOptions{args: []string{"--shutdown-grace", "6s"}})
	alice := gwUser(t, g, "alice")
	pod := webPod(t, alice)
	cmd := exec.Command(kgateBin, "exec", "-i", "-n", "payments", pod, "--", "cat")
	cmd.Env = alice.Env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	defer func() { _ = cmd.Process.Kill() }()
	out := bufio.NewReader(stdout)
	echo := func(s string) error {
		if _, err := fmt.Fprintln(stdin, s); err != nil {
			return err
		}
		type res struct {
			l   string
			err error
		}
		ch := make(chan res, 1)
		go func() { l, err := out.ReadString('\n'); ch <- res{l, err} }()
		select {
		case r := <-ch:
			if r.err != nil || r.l != s+"\n" {
				return fmt.Errorf("read %q, %v", r.l, r.err)
			}
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no echo of %q in 10s", s)
		}
	}
	if err := echo("before"); err != nil {
		t.Fatalf("exec through the gateway: %v (%s)", err, stderr.String())
	}
	sigterm := time.Now()
	if err := g.Proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !g.Proc.WaitFor(`"msg":"shutting down"`, 5*time.Second) {
		t.Fatalf("no shutdown:\n%s", g.Proc.Output())
	}
	// New connections are refused; the running session goes on.
	r := alice.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 6)
	for i := 0; i < 3; i++ {
		time.Sleep(time.Second)
		if err := echo(fmt.Sprintf("during-%d", i)); err != nil {
			t.Fatalf("the exec session did not survive the shutdown signal: %v", err)
		}
	}
	go func() { _ = cmd.Wait(); done <- cmd.ProcessState.ExitCode() }()
	select {
	case <-done:
		if d := time.Since(sigterm); d < 5*time.Second {
			t.Errorf("the exec session ended %s after SIGTERM, before the 6s grace", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the exec session was not cut at the end of the grace period")
	}
	code, ok := g.Proc.Wait(10 * time.Second)
	if !ok || code != 0 {
		t.Errorf("gateway exit %d (ended: %v):\n%s", code, ok, g.Proc.Output())
	}
	if !strings.Contains(g.Proc.Output(), "shutdown grace period over: cutting the requests still running") {
		t.Errorf("the cut is not logged:\n%s", g.Proc.Output())
	}
}

// waitKubeAudit waits until kube-apiserver's audit log has events matching
// needle (it is written asynchronously) and returns them.
func waitKubeAudit(t *testing.T, needle string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := kubeAudit(t, needle)
		if len(evs) > 0 || time.Now().After(deadline) {
			if len(evs) == 0 {
				t.Fatalf("%s is not in kube-apiserver's audit log", needle)
			}
			return evs
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The gateway with only the rights deploy/rbac.yaml gives it (impersonate
// users and groups, list namespaces), under an account of its own: what a
// real deployment runs with. The API server's audit log names that account
// as the one impersonating, and the LDAP user as the one acting.
func TestGatewayWithTheDeployRBAC(t *testing.T) {
	ensureRBAC(t)
	account := "kgate-gateway-e2e-" + randomSuffix(t)
	dir := t.TempDir()
	certsBin := filepath.Join(os.Getenv("KGATE_TOOLS_BIN"), "certs")
	if out, err := exec.Command(certsBin, "leaf", "--ca", filepath.Join(envDir, "pki"), "--cn", account, "--usage", "client",
		"--name", "gw", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	kc := filepath.Join(dir, "kubeconfig")
	writeFile(t, kc, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: gw, user: {client-certificate: %q, client-key: %q}}]
contexts: [{name: gw, context: {cluster: local, user: gw}}]
current-context: gw
`, os.Getenv("KGATE_APISERVER_URL"), filepath.Join(dir, "ca.crt"), filepath.Join(dir, "gw.crt"), filepath.Join(dir, "gw.key")))

	// deploy/rbac.yaml's ClusterRole, bound to this account.
	b, err := os.ReadFile("../../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role string
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(doc, "\nkind: ClusterRole\n") {
			role = strings.Replace(doc, "name: kgate-gateway\n", "name: "+account+"\n", 1)
		}
	}
	if role == "" {
		t.Fatal("no ClusterRole in deploy/rbac.yaml")
	}
	roleFile := filepath.Join(dir, "role.yaml")
	writeFile(t, roleFile, role)
	MustKubectl(t, "apply", "-f", roleFile)
	t.Cleanup(func() { Kubectl(t, "delete", "clusterrole", account, "--ignore-not-found") })
	MustKubectl(t, "create", "clusterrolebinding", account, "--clusterrole", account, "--user", account)
	t.Cleanup(func() { Kubectl(t, "delete", "clusterrolebinding", account, "--ignore-not-found") })
	// Without the binding, the account may do nothing at all. Asked with a
	// certificate of its own, which the suite's invariant (every request of
	// a gateway's account is impersonated) leaves out.
	if out, err := exec.Command(certsBin, "leaf", "--ca", filepath.Join(envDir, "pki"), "--cn", account, "--usage", "client",
		"--name", "probe", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	block, _ := pem.Decode(mustRead(t, filepath.Join(dir, "probe.crt")))
	if block == nil {
		t.Fatal("no probe certificate")
	}
	sum := sha256.Sum256(block.Bytes)
	addProbeCred("X509SHA256=" + hex.EncodeToString(sum[:]))
	probeKC := filepath.Join(dir, "probe.kubeconfig")
	writeFile(t, probeKC, strings.ReplaceAll(string(mustRead(t, kc)), "gw.", "probe."))
	if r := run(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + probeKC}, "", kubectlBin, "get", "pods", "-n", "payments"); r.Code == 0 {
		t.Fatalf("the gateway's account may read pods itself: %s", r)
	}

	// deploy/rbac.yaml's Role for the locks ConfigMap, for this test's own
	// ConfigMap in default, which (as deploy/ ships it) exists beforehand:
	// the gateway may not create it.
	locks := "kgate-locks-e2e-" + randomSuffix(t)
	var locksRole string
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(doc, "\nkind: Role\n") && strings.Contains(doc, "name: kgate-gateway-locks\n") {
			locksRole = strings.NewReplacer("name: kgate-gateway-locks\n", "name: "+account+"\n", "namespace: kgate-system\n", "namespace: default\n",
				`resourceNames: ["kgate-locks"]`, `resourceNames: ["`+locks+`"]`).Replace(doc)
		}
	}
	if locksRole == "" || !strings.Contains(locksRole, locks) {
		t.Fatalf("no Role for the locks ConfigMap in deploy/rbac.yaml:\n%s", locksRole)
	}
	writeFile(t, roleFile, locksRole)
	MustKubectl(t, "apply", "-f", roleFile)
	t.Cleanup(func() { Kubectl(t, "delete", "role", account, "-n", "default", "--ignore-not-found") })
	MustKubectl(t, "create", "rolebinding", account, "-n", "default", "--role", account, "--user", account)
	t.Cleanup(func() { Kubectl(t, "delete", "rolebinding", account, "-n", "default", "--ignore-not-found") })
	MustKubectl(t, "create", "configmap", locks, "-n", "default")
	t.Cleanup(func() { Kubectl(t, "delete", "configmap", locks, "-n", "default", "--ignore-not-found") })

	g := startGateway(t, gwOptions{env: map[string]string{"KUBECONFIG": kc}, args: []string{"--locks", "default/" + locks}})
	alice := gwUser(t, g, "alice")
	if r := alice.Run("exec", "-n", "payments", "deploy/web", "--", "sh", "-c", "exit 7"); r.Code != 7 {
		t.Errorf("exec: %s", r)
	}
	// Locks work with those rights: update and watch of that one ConfigMap.
	olga := gwUser(t, g, "olga")
	olga.MustRun("lock", "user", "alice", "--reason", "e2e: deploy rights")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := alice.Run("get", "pods", "-n", "payments")
		if r.Code == 4 && strings.Contains(r.Stderr, "e2e: deploy rights") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice not locked out 5s after the lock: %s", r)
		}
	}
	olga.MustRun("unlock", "user", "alice")
	for deadline := time.Now().Add(5 * time.Second); alice.Run("get", "pods", "-n", "payments").Code != 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("alice still locked out 5s after the unlock")
		}
	}
	id := fmt.Sprint(g.lastAudit(map[string]string{"user": "alice", "verb": "exec"})["id"])
	for _, ev := range waitKubeAudit(t, `"auditID":"`+id+`"`) {
		user, _ := ev["user"].(map[string]any)
		imp, _ := ev["impersonatedUser"].(map[string]any)
		if user["username"] != account || imp["username"] != "alice" {
			t.Errorf("kube audit: user %v, impersonatedUser %v", user, imp)
		}
	}
	dave := gwUser(t, g, "dave")
	if got := names(dave.MustRun("get", "namespaces", "-o", "name").Stdout); !slices.Equal(got, []string{"namespace/search-dev", "namespace/search-prod"}) {
		t.Errorf("dave's namespaces: %v", got)
	}
	dave.MustRun("get", "pods", "-A")
	bob := gwUser(t, g, "bob")
	bob.MustRun("logs", "-n", "payments", "deploy/web", "--tail", "1")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustReadBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
