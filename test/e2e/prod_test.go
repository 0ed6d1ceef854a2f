package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ProdCluster is the local environment's second, independent cluster,
// "prod" (test/env/up.sh --cluster prod): its own etcd, API server,
// controllers, kwok nodes, node agent and certificates, the same seed
// workloads, the one slapd shared with the first cluster ("test", the one
// KUBECONFIG names).
type ProdCluster struct {
	Name       string // "prod"
	EnvDir     string // $KGATE_ENV_DIR/prod
	Kubeconfig string // admin (system:masters), context "prod"
	URL        string // https://127.0.0.1:$KGATE_PROD_APISERVER_PORT
	CAFile     string // the cluster's own CA
	AuditLog   string // its kube-apiserver audit log
	NodeLogDir string // its node agent's pod logs
}

var (
	prodOnce sync.Once
	prodEnv  *ProdCluster
	prodErr  error
)

// RequireProd returns the second cluster, starting it (test/env/up.sh
// --cluster prod, about 20 s) when it is not up. The ports are the
// KGATE_PROD_*_PORT variables of the test's environment (see test/env/lib.sh).
// KGATE_E2E_START_PROD=0 makes a missing cluster fail the test instead.
func RequireProd(t *testing.T) *ProdCluster {
	t.Helper()
	prodOnce.Do(func() { prodEnv, prodErr = startProd() })
	if prodErr != nil {
		t.Fatalf("the second cluster (prod): %v", prodErr)
	}
	return prodEnv
}

func startProd() (*ProdCluster, error) {
	dir := os.Getenv("KGATE_PROD_ENV_DIR")
	if dir == "" {
		dir = filepath.Join(envDir, "prod")
	}
	p := &ProdCluster{
		Name:       "prod",
		EnvDir:     dir,
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		CAFile:     filepath.Join(dir, "pki", "ca.crt"),
		AuditLog:   filepath.Join(dir, "logs", "kube-audit.log"),
		NodeLogDir: filepath.Join(dir, "pod-logs"),
	}
	if !p.ready() {
		if os.Getenv("KGATE_E2E_START_PROD") == "0" {
			return nil, fmt.Errorf("not running and KGATE_E2E_START_PROD=0: start it with KGATE_ENV_CLUSTERS=2 make env-up")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "../env/up.sh", "--cluster", "prod")
		cmd.Env = append(os.Environ(), "KGATE_ENV_DIR="+envDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("test/env/up.sh --cluster prod: %v\n%s", err, out)
		}
		if !p.ready() {
			return nil, fmt.Errorf("started, but not ready:\n%s", out)
		}
	}
	out, err := exec.Command(kubectlBin, "--kubeconfig", p.Kubeconfig, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").Output()
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("reading the server of %s: %v", p.Kubeconfig, err)
	}
	p.URL = string(out)
	return p, nil
}

func (p *ProdCluster) ready() bool {
	if _, err := os.Stat(p.Kubeconfig); err != nil {
		return false
	}
	out, err := exec.Command(kubectlBin, "--kubeconfig", p.Kubeconfig, "--request-timeout=5s", "get", "--raw", "/readyz").Output()
	return err == nil && strings.TrimSpace(string(out)) == "ok"
}

// Kubectl runs the same-source kubectl as the second cluster's admin.
func (p *ProdCluster) Kubectl(t *testing.T, args ...string) Result {
	t.Helper()
	return run(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + p.Kubeconfig}, "", kubectlBin, args...)
}

// MustKubectl runs kubectl against the second cluster and fails the test
// unless it exits 0.
func (p *ProdCluster) MustKubectl(t *testing.T, args ...string) Result {
	t.Helper()
	r := p.Kubectl(t, args...)
	if r.Code != 0 {
		t.Fatalf("kubectl (prod) %s: %s", strings.Join(args, " "), r)
	}
	return r
}

var prodAccountKC string // the gateway account's kubeconfig in prod, once made

// GatewayKubeconfig applies deploy/namespace.yaml and deploy/rbac.yaml in the
// second cluster and returns a kubeconfig with a token for the gateway's
// ServiceAccount there: the credentials a gateway fronting prod runs with.
// TestMain then checks prod's audit log for the gateway invariant as well.
func (p *ProdCluster) GatewayKubeconfig(t *testing.T) string {
	t.Helper()
	gatewayKubeconfig(t) // sets suiteStart; the invariant's check runs for both
	accountOnce.Lock()
	defer accountOnce.Unlock()
	if prodAccountKC != "" {
		return prodAccountKC
	}
	p.MustKubectl(t, "apply", "-f", "../../deploy/namespace.yaml", "-f", "../../deploy/rbac.yaml")
	tok := strings.TrimSpace(p.MustKubectl(t, "create", "token", gatewayAccountName, "-n", gatewayAccountNS, "--duration", "6h").Stdout)
	if tok == "" {
		t.Fatal("no token for the gateway's ServiceAccount in prod")
	}
	dir, err := os.MkdirTemp("", "kgate-e2e-gateway-account-prod-")
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	writeFile(t, kc, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: gw, user: {token: %q}}]
contexts: [{name: gw, context: {cluster: prod, user: gw}}]
current-context: gw
`, p.URL, p.CAFile, tok))
	probe := strings.TrimSpace(p.MustKubectl(t, "create", "token", gatewayAccountName, "-n", gatewayAccountNS, "--duration", "10m").Stdout)
	probeCreds["JTI="+jwtID(t, probe)] = true
	probeKC := filepath.Join(dir, "probe.kubeconfig")
	writeFile(t, probeKC, strings.Replace(string(mustRead(t, kc)), tok, probe, 1))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + probeKC}
	if r := run(t, env, "", kubectlBin, "get", "pods", "-n", "payments"); r.Code == 0 || !strings.Contains(r.Stderr, "forbidden") {
		t.Fatalf("the gateway's account in prod may read pods itself: %s", r)
	}
	prodAccountKC = kc
	return kc
}

// TestProdClusterIsIndependent: the second cluster is its own cluster (own
// CA, own objects, own audit log), seeded like the first.
func TestProdClusterIsIndependent(t *testing.T) {
	prod := RequireProd(t)
	if prod.URL == os.Getenv("KGATE_APISERVER_URL") {
		t.Fatalf("prod's API server is the test cluster's: %s", prod.URL)
	}
	testUID := strings.TrimSpace(MustKubectl(t, "get", "ns", "payments", "-o", "jsonpath={.metadata.uid}").Stdout)
	prodUID := strings.TrimSpace(prod.MustKubectl(t, "get", "ns", "payments", "-o", "jsonpath={.metadata.uid}").Stdout)
	if testUID == "" || testUID == prodUID {
		t.Fatalf("namespace payments: test uid %q, prod uid %q: want two different objects", testUID, prodUID)
	}
	// A marker made in prod exists only there, and prod's audit log has it.
	name := fmt.Sprintf("e2e-prod-only-%d", time.Now().UnixNano())
	prod.MustKubectl(t, "create", "configmap", name, "-n", "sandbox")
	t.Cleanup(func() { prod.Kubectl(t, "delete", "configmap", name, "-n", "sandbox", "--ignore-not-found") })
	if r := Kubectl(t, "get", "configmap", name, "-n", "sandbox"); r.Code == 0 {
		t.Fatalf("a ConfigMap made in prod is in test: %s", r)
	}
	// The admin credentials of one are no good in the other (own CAs).
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + prod.Kubeconfig}
	if r := run(t, env, "", kubectlBin, "--server", os.Getenv("KGATE_APISERVER_URL"), "get", "ns"); r.Code == 0 {
		t.Fatalf("prod's admin credentials work on the test cluster: %s", r)
	}
	waitAudit(t, prod.AuditLog, name)
	b, _ := os.ReadFile(os.Getenv("KGATE_AUDIT_LOG"))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, name) && strings.Contains(l, `"verb":"create"`) {
			t.Fatalf("the test cluster's audit log has prod's create of %s: %s", name, l)
		}
	}
	// Both contexts, named after the clusters.
	kc := os.Getenv("KGATE_CLUSTERS_KUBECONFIG")
	if kc == "" {
		kc = filepath.Join(envDir, "clusters.kubeconfig")
	}
	env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + kc}
	r := run(t, env, "", kubectlBin, "config", "get-contexts", "-o", "name")
	if Fields(r.Stdout) == nil || !strings.Contains(r.Stdout, "test\n") || !strings.Contains(r.Stdout, "prod\n") {
		t.Fatalf("contexts of %s: %s", kc, r)
	}
	if r := run(t, env, "", kubectlBin, "--context", "prod", "get", "configmap", name, "-n", "sandbox"); r.Code != 0 {
		t.Fatalf("context prod does not reach prod: %s", r)
	}
}

// waitAudit waits until the audit log at path mentions s.
func waitAudit(t *testing.T, path, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never mentions %q", path, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
