package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPolicy (testdata/policy.yaml, shared with the gateway's unit tests) is
// written over the seeded directory: alice is in payments-leads, bob in
// team-payments, carol in team-payments and qa, dave in team-search, olga in
// ops; erin is in no group. Tests quote its line numbers: keep it as it is.
var testPolicy = mustReadFile("../../testdata/policy.yaml")

func mustReadFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The operator of the other tests (get, describe, exec, logs) is a super
// admin, so that what kgate shows can be compared with the cluster's truth.
func init() {
	operatorHook = func(t *testing.T) *User {
		t.Helper()
		u := NewUser(t)
		u.UsePolicy(testPolicy)
		u.Login("olga")
		return u
	}
}

// UsePolicy writes a policy file into the user's directory and makes it the
// user's policy source. It returns the file's path.
func (u *User) UsePolicy(policy string) string {
	u.t.Helper()
	path := filepath.Join(u.Dir, "policy.yaml")
	writePolicy(u.t, path, policy)
	u.Setenv("KGATE_POLICY_SOURCE", path)
	return path
}

func writePolicy(t *testing.T, path, policy string) {
	t.Helper()
	// Through a rename, as an administrator's deploy would do it.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// policyUser is a user logged in as name with testPolicy from a file.
func policyUser(t *testing.T, name string) *User {
	t.Helper()
	u := NewUser(t)
	u.UsePolicy(testPolicy)
	u.Login(name)
	return u
}

// wantDenied checks a policy denial: exit 4 and every part in the message.
func wantDenied(t *testing.T, r Result, parts ...string) {
	t.Helper()
	WantCode(t, r, 4)
	if r.Stdout != "" {
		t.Errorf("stdout on a denial: %q", r.Stdout)
	}
	for _, p := range parts {
		if !strings.Contains(r.Stderr, p) {
			t.Errorf("denial message %q does not contain %q", r.Stderr, p)
		}
	}
}

func TestGuestReadsButCannotReadSecrets(t *testing.T) {
	bob := policyUser(t, "bob")
	got := names(bob.MustRun("get", "pods", "-n", "payments", "-o", "name").Stdout)
	want := names(MustKubectl(t, "get", "pods", "-n", "payments", "-o", "name").Stdout)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("guest get pods: %v, kubectl %v", got, want)
	}
	bob.MustRun("describe", "deploy/web", "-n", "payments")
	bob.MustRun("get", "cm", "-n", "payments-staging")

	wantDenied(t, bob.Run("get", "secrets", "-n", "payments"),
		`user "bob" is a guest in project "payments" (namespace "payments"); list secrets needs admin.`,
		"Project admins: group payments-leads")
	wantDenied(t, bob.Run("describe", "secret", "anything", "-n", "payments"), "describe secrets/anything needs admin")
	// A denied name among allowed ones fails the whole command before any request.
	wantDenied(t, bob.Run("get", "pods,secrets", "-n", "payments"), "list secrets needs admin")

	r := bob.Run("can-i", "exec", "pods", "-n", "payments", "--why")
	WantCode(t, r, 4)
	if !strings.HasPrefix(r.Stdout, "no\n") || !strings.Contains(r.Stdout, "exec pods needs admin") {
		t.Errorf("can-i exec: %s", r)
	}
	r = bob.Run("can-i", "get", "pods", "-n", "payments")
	WantCode(t, r, 0)
	if r.Stdout != "yes\n" {
		t.Errorf("can-i get pods: %s", r)
	}
	for _, verb := range []string{"scale", "delete"} {
		WantCode(t, bob.Run("can-i", verb, "deployments", "-n", "payments"), 4)
	}
}

func TestAdminOfOneProjectIsAStrangerInAnother(t *testing.T) {
	alice := policyUser(t, "alice")
	alice.MustRun("get", "secrets", "-n", "payments")
	alice.MustRun("describe", "secrets", "-n", "payments-staging")
	WantCode(t, alice.Run("can-i", "exec", "pods", "-n", "payments"), 0)
	wantDenied(t, alice.Run("get", "pods", "-n", "search-prod"),
		`user "alice" has no role in project "search" (namespace "search-prod"); list pods needs guest.`,
		"Project admins: group team-search")
	wantDenied(t, alice.Run("get", "pods", "-n", "kube-system"),
		`namespace "kube-system" belongs to no project`, "Super admins: group ops")
}

func TestGroupAndUserGrants(t *testing.T) {
	// dave: admin of search through team-search, over a glob.
	dave := policyUser(t, "dave")
	dave.MustRun("get", "secrets", "-n", "search-prod")
	dave.MustRun("get", "secrets", "-n", "search-dev")
	// carol: guest of two projects through two groups.
	carol := policyUser(t, "carol")
	carol.MustRun("get", "pods", "-n", "payments")
	carol.MustRun("get", "pods", "-n", "search-prod")
	wantDenied(t, carol.Run("get", "secrets", "-n", "search-prod"), `user "carol" is a guest in project "search"`)
	// erin: in no group, admin of sandbox by name.
	erin := policyUser(t, "erin")
	erin.MustRun("get", "secrets", "-n", "sandbox")
	wantDenied(t, erin.Run("get", "pods", "-n", "payments"), `user "erin" has no role in project "payments"`)

	var projects []struct {
		Name       string   `json:"name"`
		Role       string   `json:"role"`
		Namespaces []string `json:"namespaces"`
	}
	if err := json.Unmarshal([]byte(carol.MustRun("projects", "-o", "json").Stdout), &projects); err != nil {
		t.Fatal(err)
	}
	if len(projects) != 2 || projects[0].Name != "payments" || projects[0].Role != "guest" || projects[1].Name != "search" {
		t.Errorf("carol's projects: %+v", projects)
	}
	out := dave.MustRun("projects").Stdout
	if !strings.Contains(out, "search") || !strings.Contains(out, "admin") || strings.Contains(out, "payments") {
		t.Errorf("dave's projects:\n%s", out)
	}
}

func TestSuperAdmin(t *testing.T) {
	olga := policyUser(t, "olga")
	olga.MustRun("get", "secrets", "-n", "kube-system")
	got := names(olga.MustRun("get", "pods", "-A", "-o", "name").Stdout)
	want := names(MustKubectl(t, "get", "pods", "-A", "-o", "name").Stdout)
	if !slices.Equal(got, want) {
		t.Errorf("super admin -A: %v, kubectl %v", got, want)
	}
	got = names(olga.MustRun("get", "ns", "-o", "name").Stdout)
	want = names(MustKubectl(t, "get", "ns", "-o", "name").Stdout)
	if !slices.Equal(got, want) {
		t.Errorf("super admin get ns: %v, kubectl %v", got, want)
	}
}

func TestAllNamespacesShowsOnlyMine(t *testing.T) {
	for _, tc := range []struct {
		user string
		ns   []string
	}{
		{"bob", []string{"payments", "payments-staging"}},
		{"dave", []string{"search-dev", "search-prod"}}, // a glob: expanded from the cluster's namespaces
		{"erin", []string{"sandbox"}},
	} {
		u := policyUser(t, tc.user)
		var want []string
		for _, ns := range tc.ns {
			for _, n := range names(MustKubectl(t, "get", "pods", "-n", ns, "-o", "name").Stdout) {
				want = append(want, ns+"/"+n)
			}
		}
		var got []string
		for _, row := range Fields(u.MustRun("get", "pods", "-A", "--no-headers").Stdout) {
			got = append(got, row[0]+"/pod/"+row[1])
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s get pods -A:\n got %v\nwant %v", tc.user, got, want)
		}
		gotNS := names(u.MustRun("get", "namespaces", "-o", "name").Stdout)
		var wantNS []string
		for _, ns := range tc.ns {
			wantNS = append(wantNS, "namespace/"+ns)
		}
		if !slices.Equal(gotNS, wantNS) {
			t.Errorf("%s get namespaces: %v, want %v", tc.user, gotNS, wantNS)
		}
		wantDenied(t, u.Run("get", "namespace", "kube-system"), "kube-system")
	}
	// Secrets across namespaces: only where the user is an admin.
	carol := policyUser(t, "carol")
	wantDenied(t, carol.Run("get", "secrets", "-A"), "needs admin")
}

func TestProjectFlagAndProjectUse(t *testing.T) {
	bob := policyUser(t, "bob")
	want := names(MustKubectl(t, "get", "pods", "-n", "payments", "-o", "name").Stdout)
	if got := names(bob.MustRun("get", "pods", "-p", "payments", "-o", "name").Stdout); !slices.Equal(got, want) {
		t.Errorf("-p payments: %v, want %v", got, want)
	}
	r := bob.Run("get", "pods", "-p", "nope")
	WantCode(t, r, 5)
	if !strings.Contains(r.Stderr, `project "nope" is not in the policy`) {
		t.Errorf("unknown project: %s", r)
	}
	r = bob.MustRun("project", "use", "payments")
	if !strings.Contains(r.Stdout, `Switched to project "payments" (namespace "payments"); your role there: guest.`) {
		t.Errorf("project use: %s", r)
	}
	if got := names(bob.MustRun("get", "pods", "-o", "name").Stdout); !slices.Equal(got, want) {
		t.Errorf("after project use: %v, want %v", got, want)
	}
	out := bob.MustRun("projects").Stdout
	if !strings.Contains(out, "*         payments") {
		t.Errorf("current project not marked:\n%s", out)
	}
	// -n still wins.
	wantDenied(t, bob.Run("get", "pods", "-n", "search-prod"), "search-prod")
	bob.MustRun("project", "use", "--clear")
}

func TestPolicyCheckAndShow(t *testing.T) {
	u := NewUser(t)
	path := u.UsePolicy(testPolicy)
	r := u.MustRun("policy", "check", path)
	if !strings.Contains(r.Stdout, "valid, 3 projects") {
		t.Errorf("check: %s", r)
	}
	bad := filepath.Join(u.Dir, "bad.yaml")
	writePolicy(t, bad, strings.Replace(testPolicy, `"search-*"`, `"search-[*"`, 1))
	r = u.Run("policy", "check", bad)
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, bad+`:10: projects.search.namespaces[0]: invalid glob "search-[*": unclosed '['`) {
		t.Errorf("check of a broken policy: %s", r)
	}
	overlap := filepath.Join(u.Dir, "overlap.yaml")
	writePolicy(t, overlap, testPolicy+"  everything-staging:\n    namespaces: [\"*-staging\"]\n")
	r = u.MustRun("policy", "check", overlap)
	if !strings.Contains(r.Stdout, `overlap: namespace "payments-staging" (for example) is in project "everything-staging" (*-staging) and project "payments" (payments-staging)`) {
		t.Errorf("overlap not reported: %s", r)
	}

	r = u.MustRun("policy", "show")
	if !strings.HasPrefix(r.Stdout, "# source: "+path+"\n# fetched: ") || !strings.Contains(r.Stdout, testPolicy) {
		t.Errorf("show: %s", r)
	}
}

// policyServer serves a policy over HTTPS on loopback, with an ETag.
type policyServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	body     string
	requests int
	caFile   string
}

func startPolicyServer(t *testing.T, body string) *policyServer {
	t.Helper()
	ps := &policyServer{body: body}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.requests++
		sum := sha256.Sum256([]byte(ps.body))
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		_, _ = w.Write([]byte(ps.body))
	}))
	t.Cleanup(ps.srv.Close)
	ps.caFile = filepath.Join(t.TempDir(), "policy-ca.pem")
	if err := os.WriteFile(ps.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ps.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ps
}

func (ps *policyServer) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.requests
}

func (ps *policyServer) use(u *User) {
	u.Setenv("KGATE_POLICY_SOURCE", ps.srv.URL+"/policy.yaml")
	u.Setenv("KGATE_POLICY_CAFILE", ps.caFile)
}

func TestPolicyFromHTTPS(t *testing.T) {
	ps := startPolicyServer(t, testPolicy)
	u := NewUser(t)
	ps.use(u)
	u.Login("bob")
	u.MustRun("get", "pods", "-n", "payments")
	wantDenied(t, u.Run("get", "secrets", "-n", "payments"), "needs admin")
	if n := ps.count(); n != 1 {
		t.Errorf("%d requests to the policy server within the TTL, want 1", n)
	}
	// Without the CA, the server is not trusted: no policy, fail closed.
	v := NewUser(t)
	v.Setenv("KGATE_POLICY_SOURCE", ps.srv.URL+"/policy.yaml")
	v.Login("bob")
	r := v.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 6)
	if !strings.Contains(r.Stderr, ps.srv.URL) || !strings.Contains(r.Stderr, "certificate") {
		t.Errorf("untrusted policy server: %s", r)
	}
}

func TestPolicyFromConfigMap(t *testing.T) {
	name := "kgate-policy-" + randomSuffix(t)
	file := filepath.Join(t.TempDir(), "policy.yaml")
	writePolicy(t, file, testPolicy)
	MustKubectl(t, "create", "configmap", name, "-n", "default", "--from-file=policy.yaml="+file)
	t.Cleanup(func() { Kubectl(t, "delete", "configmap", name, "-n", "default", "--ignore-not-found") })

	u := NewUser(t)
	u.Setenv("KGATE_POLICY_SOURCE", "configmap://default/"+name)
	u.Login("dave")
	u.MustRun("get", "secrets", "-n", "search-prod")
	wantDenied(t, u.Run("get", "pods", "-n", "payments"), `user "dave" has no role in project "payments"`)
	if r := u.MustRun("policy", "show"); !strings.Contains(r.Stdout, "# source: configmap://default/"+name) {
		t.Errorf("show: %s", r)
	}
}

func TestTTLRefreshPicksUpAChange(t *testing.T) {
	u := NewUser(t)
	path := u.UsePolicy(testPolicy)
	u.Setenv("KGATE_POLICY_TTL", "2s")
	u.Login("erin")
	wantDenied(t, u.Run("get", "pods", "-n", "payments"), "erin")
	writePolicy(t, path, strings.Replace(testPolicy, "guests: {groups: [team-payments]}", "guests: {groups: [team-payments], users: [erin]}", 1))
	// Within the TTL the cached copy decides.
	wantDenied(t, u.Run("get", "pods", "-n", "payments"), "erin")
	time.Sleep(2200 * time.Millisecond)
	u.MustRun("get", "pods", "-n", "payments")
}

func TestSourceDownStaleThenFailClosed(t *testing.T) {
	ps := startPolicyServer(t, testPolicy)
	u := NewUser(t)
	ps.use(u)
	u.Setenv("KGATE_POLICY_TTL", "1s")
	u.Setenv("KGATE_POLICY_MAXSTALE", "4s")
	u.Login("bob")
	u.MustRun("get", "pods", "-n", "payments")
	ps.srv.Close()
	time.Sleep(1200 * time.Millisecond)
	r := u.MustRun("get", "pods", "-n", "payments")
	// The warning names the cluster the copy is for (several clusters: no
	// copy answers for another).
	if !strings.Contains(r.Stderr, "warning: policy source "+ps.srv.URL+"/policy.yaml (cluster context kgate-local ") ||
		!strings.Contains(r.Stderr, ") is unreachable") ||
		!strings.Contains(r.Stderr, "using the copy cached") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("stale copy without a one-line warning: %s", r)
	}
	time.Sleep(3 * time.Second)
	r = u.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 6)
	if !strings.Contains(r.Stderr, ps.srv.URL) || !strings.Contains(r.Stderr, "older than max-stale") {
		t.Errorf("fail closed: %s", r)
	}
}

func cacheFile(t *testing.T, u *User) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(u.Dir, "cache", "policy-*.cache"))
	if len(files) != 1 {
		t.Fatalf("policy cache files: %v", files)
	}
	return files[0]
}

func TestBrokenPolicyNeverReplacesTheGoodCache(t *testing.T) {
	u := NewUser(t)
	path := u.UsePolicy(testPolicy)
	u.Setenv("KGATE_POLICY_TTL", "1s")
	u.Login("bob")
	u.MustRun("get", "pods", "-n", "payments")
	before, err := os.ReadFile(cacheFile(t, u))
	if err != nil {
		t.Fatal(err)
	}
	// Someone publishes a broken policy that would make bob an admin.
	writePolicy(t, path, strings.Replace(testPolicy, "guests: {groups: [team-payments]}", "guests: {groups: [team-payments]}\n    owners: [bob]", 1))
	time.Sleep(1200 * time.Millisecond)
	r := u.MustRun("get", "pods", "-n", "payments")
	if !strings.Contains(r.Stderr, "serves an invalid policy") || !strings.Contains(r.Stderr, path+":9: projects.payments.owners: unknown field") {
		t.Errorf("no warning naming file, line and field: %s", r)
	}
	wantDenied(t, u.Run("get", "secrets", "-n", "payments"), "guest")
	after, _ := os.ReadFile(cacheFile(t, u))
	if string(before) != string(after) {
		t.Error("the broken policy changed the cache")
	}

	// Without a good copy, the error itself.
	v := NewUser(t)
	v.UsePolicy(strings.Replace(testPolicy, `"search-*"`, `"search-[*"`, 1))
	v.Login("bob")
	r = v.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 1)
	if !strings.Contains(r.Stderr, `policy.yaml:10: projects.search.namespaces[0]: invalid glob "search-[*": unclosed '['`) {
		t.Errorf("broken policy, no cache: %s", r)
	}
	if files, _ := filepath.Glob(filepath.Join(v.Dir, "cache", "policy-*.cache")); len(files) != 0 {
		t.Errorf("a broken policy was cached: %v", files)
	}
}

func TestTornCacheIsRefetched(t *testing.T) {
	u := NewUser(t)
	path := u.UsePolicy(testPolicy)
	u.Login("erin")
	wantDenied(t, u.Run("get", "pods", "-n", "payments"), "erin")
	// The source changes; the TTL (5m) has not passed, so only a refetch sees it.
	writePolicy(t, path, strings.Replace(testPolicy, "guests: {groups: [team-payments]}", "guests: {groups: [team-payments], users: [erin]}", 1))
	cf := cacheFile(t, u)
	b, _ := os.ReadFile(cf)
	i := strings.Index(string(b), "team-payments")
	b[i] = 'T' // a flipped byte, as a torn write or a disk error leaves it
	if err := os.WriteFile(cf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := u.MustRun("get", "pods", "-n", "payments")
	if !strings.Contains(r.Stderr, "ignoring the policy cache") || !strings.Contains(r.Stderr, "sha256") {
		t.Errorf("torn cache not reported: %s", r)
	}
	// With the source gone, a torn cache is no fallback.
	b, _ = os.ReadFile(cf)
	b[len(b)-1] ^= 1
	_ = os.WriteFile(cf, b, 0o600)
	_ = os.Remove(path)
	WantCode(t, u.Run("get", "pods", "-n", "payments"), 6)
}

// kubeAudit returns the kube-apiserver audit events whose auditID or request
// URI contains any of the strings.
func kubeAudit(t *testing.T, needles ...string) []map[string]any {
	t.Helper()
	path := os.Getenv("KGATE_AUDIT_LOG")
	if path == "" {
		path = filepath.Join(envDir, "logs", "kube-audit.log")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("kube-apiserver audit log: %v", err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, n := range needles {
			if strings.Contains(line, n) {
				var ev map[string]any
				if json.Unmarshal([]byte(line), &ev) == nil {
					out = append(out, ev)
				}
				break
			}
		}
	}
	return out
}

type kgateAudit struct {
	ID        string   `json:"id"`
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	Project   string   `json:"project"`
	Namespace string   `json:"namespace"`
	Verb      string   `json:"verb"`
	Resource  string   `json:"resource"`
	Decision  string   `json:"decision"`
	Reason    string   `json:"reason"`
}

func kgateAuditLog(t *testing.T, u *User) []kgateAudit {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(u.Dir, "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []kgateAudit
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e kgateAudit
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func TestAuditIDJoinsKubeAuditLog(t *testing.T) {
	bob := policyUser(t, "bob")
	bob.MustRun("get", "pods", "-n", "payments")
	log := kgateAuditLog(t, bob)
	e := log[len(log)-1]
	if e.User != "bob" || e.Decision != "allow" || e.Project != "payments" || e.Namespace != "payments" ||
		e.Verb != "list" || e.Resource != "pods" || !slices.Equal(e.Groups, []string{"team-payments"}) {
		t.Errorf("audit entry: %+v", e)
	}
	evs := kubeAudit(t, `"auditID":"`+e.ID+`"`)
	if len(evs) == 0 {
		t.Fatalf("audit id %s is not in kube-apiserver's audit log", e.ID)
	}
	if uri, _ := evs[0]["requestURI"].(string); !strings.HasPrefix(uri, "/api/v1/namespaces/payments/pods") {
		t.Errorf("the audit id is on %q", uri)
	}
	// describe's requests (kubectl's describers) carry it too.
	bob.MustRun("describe", "deploy/web", "-n", "payments")
	log = kgateAuditLog(t, bob)
	if evs := kubeAudit(t, `"auditID":"`+log[len(log)-1].ID+`"`); len(evs) == 0 {
		t.Error("describe's audit id is not in kube-apiserver's audit log")
	}
	// Nothing secret in the log.
	b, _ := os.ReadFile(filepath.Join(bob.Dir, "state", "audit.log"))
	if strings.Contains(string(b), Password(t, "bob")) {
		t.Error("the audit log holds the password")
	}
}

func TestDeniedRequestNeverReachesTheAPIServer(t *testing.T) {
	ns := "kgate-denied-" + randomSuffix(t)
	bob := policyUser(t, "bob")
	for _, args := range [][]string{
		{"get", "pods", "-n", ns},
		{"get", "pod", "web", "-n", ns},
		{"describe", "pods", "-n", ns},
		{"get", "pods", "-n", ns, "-w"},
	} {
		wantDenied(t, bob.Run(args...), `namespace "`+ns+`" belongs to no project`)
	}
	log := kgateAuditLog(t, bob)
	denied := 0
	for _, e := range log {
		if e.Namespace == ns {
			if e.Decision != "deny" {
				t.Errorf("decision: %+v", e)
			}
			denied++
			if evs := kubeAudit(t, e.ID); len(evs) != 0 {
				t.Errorf("a denied decision's id reached the API server: %v", evs)
			}
		}
	}
	if denied != 4 {
		t.Errorf("%d denials logged, want 4", denied)
	}
	// A super admin's request to the same namespace does show up, so the
	// audit log is being written and searched the right way; and every
	// request to that namespace is one of hers.
	olga := policyUser(t, "olga")
	olga.MustRun("get", "pods", "-n", ns)
	olgaIDs := map[string]bool{}
	for _, e := range kgateAuditLog(t, olga) {
		olgaIDs[e.ID] = true
	}
	deadline := time.Now().Add(5 * time.Second)
	var evs []map[string]any
	for len(evs) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		evs = kubeAudit(t, "/namespaces/"+ns+"/")
	}
	if len(evs) == 0 {
		t.Fatal("the control request is not in kube-apiserver's audit log")
	}
	for _, ev := range evs {
		if id, _ := ev["auditID"].(string); !olgaIDs[id] {
			t.Errorf("a request to %s that is not olga's reached the API server: %v", ns, ev)
		}
	}
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
