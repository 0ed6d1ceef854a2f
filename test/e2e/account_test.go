package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The gateway's account in the e2e suite: deploy/rbac.yaml applied as it
// is (ServiceAccount kgate-system/kgate-gateway and its ClusterRole), and a
// token minted for it. Every gateway the suite starts runs with only those
// rights, never the admin kubeconfig.
const (
	gatewayAccountNS   = "kgate-system"
	gatewayAccountName = "kgate-gateway"
	gatewayAccountUser = "system:serviceaccount:" + gatewayAccountNS + ":" + gatewayAccountName
)

var (
	accountOnce sync.Mutex
	accountKC   string    // the account's kubeconfig, once made
	suiteStart  time.Time // when the suite first started a gateway
	// probeCreds are the credential ids (kube-apiserver's audit
	// user.extra) of the tests' own probes as a gateway account.
	probeCreds = map[string]bool{}
)

// addProbeCred marks a credential id as a test's own probe.
func addProbeCred(id string) {
	accountOnce.Lock()
	defer accountOnce.Unlock()
	probeCreds[id] = true
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwtID is a ServiceAccount token's jti.
func jwtID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ JTI string }
	if err := json.Unmarshal(b, &c); err != nil || c.JTI == "" {
		t.Fatalf("no jti in the token: %s", b)
	}
	return c.JTI
}

// gatewayKubeconfig applies deploy/namespace.yaml and deploy/rbac.yaml and
// returns a kubeconfig with a token for the gateway's ServiceAccount.
func gatewayKubeconfig(t *testing.T) string {
	t.Helper()
	accountOnce.Lock()
	defer accountOnce.Unlock()
	if accountKC != "" {
		return accountKC
	}
	suiteStart = time.Now().Add(-time.Second)
	MustKubectl(t, "apply", "-f", "../../deploy/namespace.yaml", "-f", "../../deploy/rbac.yaml")
	tok := strings.TrimSpace(MustKubectl(t, "create", "token", gatewayAccountName, "-n", gatewayAccountNS, "--duration", "6h").Stdout)
	if tok == "" {
		t.Fatal("no token for the gateway's ServiceAccount")
	}
	dir, err := os.MkdirTemp("", "kgate-e2e-gateway-account-")
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	writeFile(t, kc, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: gw, user: {token: %q}}]
contexts: [{name: gw, context: {cluster: local, user: gw}}]
current-context: gw
`, os.Getenv("KGATE_APISERVER_URL"), filepath.Join(envDir, "pki", "ca.crt"), tok))
	// The account may impersonate (that is its job) but has no rights of
	// its own to users' objects. The test asks with a token of its own,
	// whose requests the invariant below leaves out.
	probe := strings.TrimSpace(MustKubectl(t, "create", "token", gatewayAccountName, "-n", gatewayAccountNS, "--duration", "10m").Stdout)
	probeCreds["JTI="+jwtID(t, probe)] = true
	probeKC := filepath.Join(dir, "probe.kubeconfig")
	writeFile(t, probeKC, strings.Replace(string(mustRead(t, kc)), tok, probe, 1))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + probeKC}
	if r := run(t, env, "", kubectlBin, "get", "pods", "-n", "payments"); r.Code == 0 || !strings.Contains(r.Stderr, "forbidden") {
		t.Fatalf("the gateway's account may read pods itself: %s", r)
	}
	if r := run(t, env, "", kubectlBin, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); r.Stdout != gatewayAccountUser {
		t.Fatalf("the gateway's token is %s", r)
	}
	accountKC = kc
	return kc
}

// gatewayAccountViolations are the kube-apiserver audit events since the
// suite began, made by a gateway's account (the ServiceAccount or the
// certificate accounts of TestGatewayWithTheDeployRBAC), that carry no
// impersonatedUser, other than the gateway's own documented calls: listing
// and watching namespace names (which it filters for a project member),
// reading its policy ConfigMap, and reading, watching and updating its locks
// ConfigMap.
func gatewayAccountViolations(path string, since time.Time) ([]string, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	var bad []string
	seen := 0
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, gatewayAccountUser) && !strings.Contains(l, `"username":"kgate-gateway-e2e-`) {
			continue
		}
		ev, ok := parseEvent(l)
		if !ok || ev.Received.Before(since) {
			continue
		}
		if ev.User.Username != gatewayAccountUser && !strings.HasPrefix(ev.User.Username, "kgate-gateway-e2e-") {
			continue
		}
		if slices.ContainsFunc(ev.User.Extra["authentication.kubernetes.io/credential-id"], func(id string) bool { return probeCreds[id] }) {
			continue // a test's own probe of the account's rights
		}
		seen++
		if ev.ImpersonatedUser != nil && ev.ImpersonatedUser.Username != "" {
			continue
		}
		if ev.ResponseStatus.Code == 403 && strings.Contains(ev.ResponseStatus.Message, `User "`+ev.User.Username+`" cannot impersonate`) {
			// The API server refused the impersonation itself (a restarted
			// one whose authorizer has not caught up): nothing was done, as
			// the gateway or anyone.
			continue
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "namespaces" && ev.ObjectRef.Name == "" && ev.ObjectRef.APIGroup == "" &&
			(ev.Verb == "list" || ev.Verb == "watch") {
			continue // the gateway's own, documented call
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && ev.ObjectRef.Namespace == gatewayAccountNS && ev.ObjectRef.Name == "kgate-policy" && ev.Verb == "get" {
			continue // its policy, from deploy/rbac.yaml's one ConfigMap
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && ev.ObjectRef.APIGroup == "" &&
			(ev.ObjectRef.Namespace == gatewayAccountNS && ev.ObjectRef.Name == "kgate-locks" ||
				ev.ObjectRef.Namespace == "default" && strings.HasPrefix(ev.ObjectRef.Name, "kgate-locks-e2e-")) &&
			slices.Contains([]string{"get", "list", "watch", "update"}, ev.Verb) {
			continue // locks and revoked sessions: its one locks ConfigMap
		}
		bad = append(bad, l)
	}
	return bad, seen, nil
}

// TestMain's check, after every test: see gatewayAccountViolations.
func checkGatewayAccount() error {
	accountOnce.Lock()
	defer accountOnce.Unlock()
	if accountKC == "" {
		return nil // no gateway ran
	}
	defer os.RemoveAll(filepath.Dir(accountKC))
	path := os.Getenv("KGATE_AUDIT_LOG")
	if path == "" {
		path = filepath.Join(envDir, "logs", "kube-audit.log")
	}
	// The API server writes its audit log asynchronously.
	time.Sleep(2 * time.Second)
	logs := [][2]string{{"test", path}}
	if prodAccountKC != "" { // a gateway fronted the second cluster too
		defer os.RemoveAll(filepath.Dir(prodAccountKC))
		logs = append(logs, [2]string{"prod", prodEnv.AuditLog})
	}
	for _, l := range logs {
		bad, seen, err := gatewayAccountViolations(l[1], suiteStart)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			if len(bad) > 20 {
				bad = bad[:20]
			}
			return fmt.Errorf("cluster %s: %d kube-apiserver audit events made by the gateway's account carry no impersonatedUser:\n%s", l[0], len(bad), strings.Join(bad, "\n"))
		}
		fmt.Fprintf(os.Stderr, "e2e: cluster %s: %d kube-apiserver audit events by the gateway's account, every one impersonated or a documented namespace listing\n", l[0], seen)
	}
	return nil
}

// kubeEvent is what the suite reads of a kube-apiserver audit event.
type kubeEvent struct {
	AuditID    string    `json:"auditID"`
	Verb       string    `json:"verb"`
	RequestURI string    `json:"requestURI"`
	Received   time.Time `json:"requestReceivedTimestamp"`
	User       struct {
		Username string              `json:"username"`
		Groups   []string            `json:"groups"`
		Extra    map[string][]string `json:"extra"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"responseStatus"`
}

func parseEvent(line string) (kubeEvent, bool) {
	var ev kubeEvent
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &ev) != nil {
		return ev, false
	}
	return ev, true
}
