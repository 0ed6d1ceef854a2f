package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ldapAdmin runs ldapmodify, ldapadd or ldapdelete as the directory's
// admin against the local slapd (the instance kgate is configured with).
func ldapAdmin(t *testing.T, tool, ldif string, args ...string) {
	t.Helper()
	d := Directory(t)
	admin, pw := os.Getenv("KGATE_SLAPD_ADMIN_DN"), os.Getenv("KGATE_SLAPD_ADMIN_PASSWORD")
	if admin == "" || pw == "" {
		t.Fatal("KGATE_SLAPD_ADMIN_DN / _PASSWORD are not set: source ldap.env")
	}
	cmd := exec.Command(tool, append([]string{"-x", "-ZZ", "-H", d.StartTLSURL, "-D", admin, "-w", pw}, args...)...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+d.CAFile)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// tempLDAPUser adds a user of the test's own in the groups given, so that
// changing or deleting it leaves the seeded users alone; it returns the
// uid, password and DN.
func tempLDAPUser(t *testing.T, groups ...string) (string, string, string) {
	t.Helper()
	d := Directory(t)
	uid := "lk" + randomSuffix(t)
	pw := "pw-" + randomSuffix(t)
	dn := "uid=" + uid + "," + d.UserBase
	ldapAdmin(t, "ldapadd", "dn: "+dn+"\nobjectClass: inetOrgPerson\nuid: "+uid+"\ncn: "+uid+"\nsn: "+uid+"\nuserPassword: "+pw+"\n")
	t.Cleanup(func() {
		for _, g := range groups {
			cmd := exec.Command("ldapmodify", "-x", "-ZZ", "-H", d.StartTLSURL, "-D", os.Getenv("KGATE_SLAPD_ADMIN_DN"), "-w", os.Getenv("KGATE_SLAPD_ADMIN_PASSWORD"), "-c")
			cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+d.CAFile)
			cmd.Stdin = strings.NewReader("dn: cn=" + g + "," + d.GroupBase + "\nchangetype: modify\ndelete: member\nmember: " + dn + "\n")
			_ = cmd.Run()
		}
		cmd := exec.Command("ldapdelete", "-x", "-ZZ", "-H", d.StartTLSURL, "-D", os.Getenv("KGATE_SLAPD_ADMIN_DN"), "-w", os.Getenv("KGATE_SLAPD_ADMIN_PASSWORD"), dn)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+d.CAFile)
		_ = cmd.Run()
	})
	for _, g := range groups {
		ldapAdmin(t, "ldapmodify", "dn: cn="+g+","+d.GroupBase+"\nchangetype: modify\nadd: member\nmember: "+dn+"\n")
	}
	return uid, pw, dn
}

// clearLocks empties the suite's locks ConfigMap when the test ends, so a
// test that failed half-way leaves no one locked for the next.
func clearLocks(t *testing.T, g *gw) {
	ns, name, _ := strings.Cut(g.Locks, "/")
	t.Cleanup(func() { Kubectl(t, "patch", "configmap", name, "-n", ns, "--type", "merge", "-p", `{"data":null}`) })
}

// gwLogin logs name in through g with password pw and writes the kubeconfig
// the login prints to Dir/kubeconfig.
func gwLogin(t *testing.T, g *gw, name, pw string) *User {
	t.Helper()
	u := NewUser(t)
	u.Setenv("KUBECONFIG", filepath.Join(u.Dir, "no-such-kubeconfig"))
	r := u.RunStdin(pw+"\n", "login", "--server", g.URL, "--certificate-authority", g.CAFile,
		"-u", name, "--password-stdin", "--print-kubeconfig")
	if r.Code != 0 {
		t.Fatalf("login through the gateway as %s: %s", name, r)
	}
	if err := os.WriteFile(filepath.Join(u.Dir, "kubeconfig"), []byte(r.Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// savedSession is the part of a session file the tests look at.
type savedSession struct {
	Token, RefreshToken string
	Groups              []string
	TokenExpires        time.Time
}

func (u *User) session() savedSession {
	u.t.Helper()
	b, err := os.ReadFile(sessionPath(u))
	if err != nil {
		u.t.Fatal(err)
	}
	var s savedSession
	_ = json.Unmarshal(b, &s)
	return s
}

// untilRefreshDue sleeps until the user's access token is in its second
// half (the CLI refreshes then), plus a margin.
func untilRefreshDue(u *User, lifetime time.Duration) {
	s := u.session()
	// The gateway counts from its second-truncated clock, the CLI from when
	// it got the token: a second of margin covers both.
	time.Sleep(time.Until(s.TokenExpires.Add(-lifetime/2)) + time.Second)
}

func TestGatewayRefreshFollowsTheDirectory(t *testing.T) {
	ensureRBAC(t)
	const life = 4 * time.Second
	g := startGateway(t, gwOptions{args: []string{"--token-lifetime", life.String()}})
	uid, pw, dn := tempLDAPUser(t, "team-payments")
	u := gwLogin(t, g, uid, pw)
	first := u.session()
	if first.RefreshToken == "" || time.Until(first.TokenExpires) > life {
		t.Fatalf("the login gave no short token and refresh credential: %+v", first)
	}
	kc, err := os.ReadFile(filepath.Join(u.Dir, "kubeconfig"))
	if err != nil || !strings.Contains(string(kc), "client.authentication.k8s.io/v1") || strings.Contains(string(kc), first.Token) {
		t.Fatalf("the kubeconfig has no exec credential plugin, or holds the token:\n%s", kc)
	}
	u.MustRun("get", "pods", "-n", "payments")
	if r := gwKubectl(t, u, "get", "pods", "-n", "payments"); r.Code != 0 {
		t.Fatalf("kubectl with the written kubeconfig: %s", r)
	}

	// Refreshes go on past the first token's life.
	time.Sleep(time.Until(first.TokenExpires) + time.Second)
	u.MustRun("get", "pods", "-n", "payments")
	if r := gwKubectl(t, u, "get", "pods", "-n", "payments"); r.Code != 0 {
		t.Fatalf("kubectl after the first token expired: %s", r)
	}
	if s := u.session(); s.Token == first.Token {
		t.Error("the token was not refreshed")
	}
	g.lastAudit(map[string]string{"user": uid, "verb": "refresh", "decision": "allow"})

	// Out of team-payments: within one refresh, no payments, through
	// kgate and through kubectl.
	ldapAdmin(t, "ldapmodify", "dn: cn=team-payments,"+Directory(t).GroupBase+"\nchangetype: modify\ndelete: member\nmember: "+dn+"\n")
	untilRefreshDue(u, life)
	WantCode(t, u.Run("get", "pods", "-n", "payments"), 4)
	if s := u.session(); strings.Contains(strings.Join(s.Groups, ","), "team-payments") {
		t.Errorf("the refreshed session still has team-payments: %v", s.Groups)
	}
	if r := gwKubectl(t, u, "get", "pods", "-n", "payments"); r.Code == 0 || !strings.Contains(r.Stderr, "Forbidden") {
		t.Errorf("kubectl after the group removal: %s", r)
	}

	// Gone from the directory: the next refresh fails, exit 3.
	ldapAdmin(t, "ldapdelete", "", dn)
	untilRefreshDue(u, life)
	r := u.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 3)
	if !strings.Contains(r.Stderr, "no longer in the directory") {
		t.Errorf("the message of a deleted user: %s", r)
	}
	if r := gwKubectl(t, u, "get", "pods", "-n", "payments"); r.Code == 0 {
		t.Errorf("kubectl for a deleted user: %s", r)
	}
	g.lastAudit(map[string]string{"user": uid, "verb": "refresh", "decision": "deny"})
}

func TestGatewayLocksOnTwoReplicas(t *testing.T) {
	ensureRBAC(t)
	a := startGateway(t, gwOptions{})
	b := startGateway(t, gwOptions{peer: a})
	clearLocks(t, a)
	aliceA := gwLogin(t, a, "alice", Password(t, "alice"))
	aliceB := gwLogin(t, b, "alice", Password(t, "alice"))
	olga := gwLogin(t, a, "olga", Password(t, "olga"))
	dave := gwLogin(t, b, "dave", Password(t, "dave"))
	pod := webPod(t, aliceA)

	// Only super admins lock.
	r := dave.Run("lock", "user", "alice", "--reason", "dave tries")
	WantCode(t, r, 4)
	WantCode(t, dave.Run("lock", "list"), 4)
	WantCode(t, olga.Run("lock", "user", "alice"), 2) // no reason

	// A running exec and a followed log through each replica.
	procs := map[string]*Proc{}
	for name, u := range map[string]*User{"A": aliceA, "B": aliceB} {
		ex := u.Start("exec", "-n", "payments", pod, "--", "sh", "-c", "echo started; sleep 120")
		if !ex.WaitFor("started", 10*time.Second) {
			t.Fatalf("exec did not start: %s", ex.Output())
		}
		lf := u.Start("logs", "-f", "-n", "payments", pod, "--tail", "1")
		if !lf.WaitFor(pod+"/app line", 10*time.Second) {
			t.Fatalf("logs -f did not start: %s", lf.Output())
		}
		procs["exec (replica "+name+")"], procs["logs -f (replica "+name+")"] = ex, lf
	}
	start := time.Now()
	r = olga.MustRun("lock", "user", "alice", "--reason", "e2e: laptop stolen", "--ttl", "1h")
	if !strings.Contains(r.Stderr, "Locked user alice") {
		t.Errorf("lock: %s", r)
	}
	for name, p := range procs {
		code, done := p.Wait(5*time.Second - time.Since(start))
		if !done {
			t.Errorf("%s still runs 5s after the lock:\n%s", name, p.Output())
			continue
		}
		// exec and logs -f alike: exit 4, the lock's reason said.
		if code != 4 || !strings.Contains(p.Output(), "e2e: laptop stolen") {
			t.Errorf("%s ended with %d after the lock:\n%s", name, code, p.Output())
		}
		out := strings.Split(strings.TrimSpace(p.Output()), "\n")
		t.Logf("%s ended %s after the lock (exit %d): %s", name, time.Since(start).Round(10*time.Millisecond), code, out[len(out)-1])
	}
	// New requests: 403 with the reason, on both replicas, kubectl too.
	for _, u := range []*User{aliceA, aliceB} {
		r := u.Run("get", "pods", "-n", "payments")
		WantCode(t, r, 4)
		if !strings.Contains(r.Stderr, "e2e: laptop stolen") {
			t.Errorf("the refusal does not name the reason: %s", r)
		}
	}
	// kubectl's discovery is refused first; it prints only "Forbidden".
	if r := gwKubectl(t, aliceB, "get", "pods", "-n", "payments"); r.Code == 0 || !strings.Contains(r.Stderr, "Forbidden") {
		t.Errorf("kubectl of locked alice: %s", r)
	}
	r = olga.MustRun("lock", "list")
	if !strings.Contains(r.Stdout, "alice") || !strings.Contains(r.Stdout, "olga") || !strings.Contains(r.Stdout, "laptop stolen") {
		t.Errorf("lock list: %s", r)
	}
	a.lastAudit(map[string]string{"user": "olga", "verb": "lock", "name": "user/alice", "decision": "allow"})
	b.lastAudit(map[string]string{"user": "alice", "decision": "deny"})

	// Unlock restores access on both replicas.
	olga.MustRun("unlock", "user", "alice")
	a.lastAudit(map[string]string{"user": "olga", "verb": "unlock", "name": "user/alice"})
	deadline := time.Now().Add(5 * time.Second)
	for _, u := range []*User{aliceA, aliceB} {
		for {
			r := u.Run("get", "pods", "-n", "payments")
			if r.Code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still refused 5s after the unlock: %s", r)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	WantCode(t, olga.Run("unlock", "user", "alice"), 5)

	// A group lock reaches its members.
	olga.MustRun("lock", "group", "payments-leads", "--reason", "e2e: incident")
	time.Sleep(time.Second)
	WantCode(t, aliceB.Run("get", "pods", "-n", "payments"), 4)
	olga.MustRun("unlock", "group", "payments-leads")
}

func TestGatewayLogoutRevokes(t *testing.T) {
	ensureRBAC(t)
	a := startGateway(t, gwOptions{})
	b := startGateway(t, gwOptions{peer: a})
	alice := gwLogin(t, a, "alice", Password(t, "alice"))
	s := alice.session()
	alice.MustRun("get", "pods", "-n", "payments")
	r := alice.MustRun("logout")
	if !strings.Contains(r.Stderr, "Logged out alice") {
		t.Errorf("logout: %s", r)
	}
	a.lastAudit(map[string]string{"user": "alice", "verb": "logout"})
	time.Sleep(time.Second) // the watch brings the revocation to b
	// The old refresh credential and access token are refused by both replicas.
	for _, g := range []*gw{a, b} {
		body, _ := json.Marshal(map[string]string{"refreshToken": s.RefreshToken})
		resp, err := g.client().Post(g.URL+"/kgate/v1/refresh", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: refresh with the logged-out credential: %d %s", g.URL, resp.StatusCode, msg)
		}
		if code, body := g.get("/api/v1/namespaces/payments/pods", s.Token, nil); code != 401 {
			t.Errorf("%s: the logged-out access token: %d %s", g.URL, code, body)
		}
	}
}

// flakyLDAP forwards TCP to the directory until it is cut.
type flakyLDAP struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	down  bool
}

func newFlakyLDAP(t *testing.T, target string) *flakyLDAP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flakyLDAP{ln: ln}
	t.Cleanup(func() { ln.Close(); f.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			if f.down {
				f.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				f.mu.Unlock()
				c.Close()
				continue
			}
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return f
}

func (f *flakyLDAP) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func TestGatewayRefreshDuringLDAPOutage(t *testing.T) {
	ensureRBAC(t)
	d := Directory(t)
	target := strings.TrimPrefix(d.StartTLSURL, "ldap://")
	ldap := newFlakyLDAP(t, target)
	const life = 6 * time.Second
	g := startGateway(t, gwOptions{args: []string{"--token-lifetime", life.String()},
		env: map[string]string{"KGATE_LDAP_URLS": "ldap://" + ldap.ln.Addr().String(), "KGATE_LDAP_DIALTIMEOUT": "1s", "KGATE_LDAP_TIMEOUT": "2s"}})
	alice := gwLogin(t, g, "alice", Password(t, "alice"))
	s := alice.session()
	alice.MustRun("get", "pods", "-n", "payments")

	ldap.cut()
	untilRefreshDue(alice, life)
	r := alice.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "cannot refresh") {
		t.Errorf("no warning about the failed refresh: %s", r)
	}
	if alice.session().Token != s.Token {
		t.Error("the token changed without the directory")
	}
	time.Sleep(time.Until(s.TokenExpires) + 500*time.Millisecond)
	r = alice.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 6)
	if r := gwKubectl(t, alice, "get", "pods", "-n", "payments"); r.Code == 0 {
		t.Errorf("kubectl after the token expired with the directory down: %s", r)
	}
}

func TestDirectSessionRereadsGroups(t *testing.T) {
	uid, pw, dn := tempLDAPUser(t, "team-payments")
	d := Directory(t)
	ldap := newFlakyLDAP(t, strings.TrimPrefix(d.StartTLSURL, "ldap://"))
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", "ldap://"+ldap.ln.Addr().String())
	u.Setenv("KGATE_LDAP_DIALTIMEOUT", "1s")
	u.Setenv("KGATE_SESSION_REFRESHINTERVAL", "1s")
	policyFile := filepath.Join(u.Dir, "policy.yaml")
	writePolicy(t, policyFile, testPolicy)
	u.Setenv("KGATE_POLICY_SOURCE", policyFile)
	if r := u.RunStdin(pw+"\n", "login", "--username", uid, "--password-stdin"); r.Code != 0 {
		t.Fatalf("login: %s", r)
	}
	u.MustRun("get", "pods", "-n", "payments")

	ldapAdmin(t, "ldapmodify", "dn: cn=team-payments,"+d.GroupBase+"\nchangetype: modify\ndelete: member\nmember: "+dn+"\n")
	// Older than the interval: the groups are read again.
	time.Sleep(1100 * time.Millisecond)
	WantCode(t, u.Run("get", "pods", "-n", "payments"), 4)

	// The directory down: kept with a warning, not ended.
	ldapAdmin(t, "ldapmodify", "dn: cn=team-payments,"+d.GroupBase+"\nchangetype: modify\nadd: member\nmember: "+dn+"\n")
	ldap.cut()
	time.Sleep(1100 * time.Millisecond)
	r := u.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 4) // the groups of the last refresh, without team-payments
	if !strings.Contains(r.Stderr, "keeping the session's groups") {
		t.Errorf("no warning with the directory down: %s", r)
	}

	// Gone from the directory: exit 3.
	u.Setenv("KGATE_LDAP_URLS", d.StartTLSURL)
	ldapAdmin(t, "ldapdelete", "", dn)
	r = u.Run("get", "pods", "-n", "payments")
	WantCode(t, r, 3)
	if !strings.Contains(r.Stderr, "no longer in the directory") {
		t.Errorf("deleted user: %s", r)
	}
}

// TestGatewayRefreshLatency reports (it does not judge) what a refresh
// costs against the real slapd: one service-account bind and one search.
func TestGatewayRefreshLatency(t *testing.T) {
	ensureRBAC(t)
	g := startGateway(t, gwOptions{})
	alice := gwLogin(t, g, "alice", Password(t, "alice"))
	body, _ := json.Marshal(map[string]string{"refreshToken": alice.session().RefreshToken})
	c := g.client()
	var ds []time.Duration
	for range 30 {
		start := time.Now()
		resp, err := c.Post(g.URL+"/kgate/v1/refresh", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("refresh: %s", resp.Status)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	t.Logf("refresh through the gateway, 30 runs: p50 %s, p90 %s, max %s", ds[15].Round(10*time.Microsecond),
		ds[27].Round(10*time.Microsecond), ds[29].Round(10*time.Microsecond))
}
