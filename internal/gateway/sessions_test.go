package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policy"
)

// fakeDirectory is the directory as the service account sees it.
type fakeDirectory struct {
	mu     sync.Mutex
	groups map[string][]string
	down   bool
	calls  int
}

func (d *fakeDirectory) Lookup(_ context.Context, user string) (*ldapauth.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.down {
		return nil, errs.UnavailableErrorf("ldap://ldap.test: connection refused")
	}
	g, ok := d.groups[strings.ToLower(user)]
	if !ok {
		return nil, errs.AuthErrorf("user %q is no longer in the directory, or is disabled", user)
	}
	return &ldapauth.Identity{Username: user, DN: "uid=" + user, Groups: g, Server: "ldaps://ldap.test"}, nil
}

func newSessionFixture(t *testing.T) (*fixture, *fakeDirectory, LockStore) {
	f := newFixture(t)
	dir := &fakeDirectory{groups: map[string][]string{}}
	for u, g := range f.auth.groups {
		dir.groups[u] = g
	}
	locks := NewMemoryLocks()
	f.g.o.Directory, f.g.o.Locks = dir, locks
	locks.(interface{ Notify(func(*LockSet)) }).Notify(f.g.EnforceLocks)
	return f, dir, locks
}

func (f *fixture) post(t *testing.T, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) login(t *testing.T, user string) LoginResponse {
	t.Helper()
	code, body := f.post(t, LoginPath, "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, user+"-pw"))
	if code != 200 {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	var lr LoginResponse
	_ = json.Unmarshal([]byte(body), &lr)
	if lr.RefreshToken == "" || !lr.SessionExpires.After(lr.Expires) {
		t.Fatalf("login gave no session: %s", body)
	}
	return lr
}

func (f *fixture) refresh(t *testing.T, rt string) (int, LoginResponse, string) {
	t.Helper()
	b, _ := json.Marshal(RefreshRequest{RefreshToken: rt})
	code, body := f.post(t, RefreshPath, "", string(b))
	var lr LoginResponse
	if code == 200 {
		_ = json.Unmarshal([]byte(body), &lr)
	}
	return code, lr, body
}

func TestRefreshRereadsTheDirectory(t *testing.T) {
	f, dir, _ := newSessionFixture(t)
	f.tok.Lifetime = 5 * time.Minute
	lr := f.login(t, "bob")
	if got := lr.Expires.Sub(*f.now); got != 5*time.Minute {
		t.Errorf("access token lasts %s", got)
	}
	if got := lr.SessionExpires.Sub(*f.now); got != DefaultRefreshLifetime {
		t.Errorf("session lasts %s", got)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/namespaces/payments/pods", lr.Token, nil); resp.StatusCode != 200 {
		t.Fatalf("bob reads payments: %d", resp.StatusCode)
	}
	// Removed from team-payments: the next token no longer carries it.
	dir.groups["bob"] = []string{"qa"}
	*f.now = f.now.Add(4 * time.Minute)
	calls := dir.calls
	code, nr, body := f.refresh(t, lr.RefreshToken)
	if code != 200 || strings.Join(nr.Groups, ",") != "qa" || nr.Token == lr.Token {
		t.Fatalf("refresh: %d %s", code, body)
	}
	if dir.calls != calls+1 {
		t.Errorf("a refresh asked the directory %d times", dir.calls-calls)
	}
	if resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", nr.Token, nil); resp.StatusCode != 403 {
		t.Errorf("bob out of team-payments reads payments: %d %s", resp.StatusCode, body)
	}
	// The access token never outlives the session.
	*f.now = lr.SessionExpires.Add(-time.Minute)
	if _, nr, _ := f.refresh(t, lr.RefreshToken); !nr.Expires.Equal(lr.SessionExpires) {
		t.Errorf("a token near the session's end expires at %s, the session at %s", nr.Expires, lr.SessionExpires)
	}
	*f.now = lr.SessionExpires.Add(time.Minute)
	if code, _, _ := f.refresh(t, lr.RefreshToken); code != 401 {
		t.Errorf("refresh past the session's end: %d", code)
	}
}

func TestRefreshRefusals(t *testing.T) {
	f, dir, _ := newSessionFixture(t)
	lr := f.login(t, "alice")
	// The two kinds of token do not pass for each other.
	if code, _, _ := f.refresh(t, lr.Token); code != 401 {
		t.Errorf("an access token as refresh credential: %d", code)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/namespaces/payments/pods", lr.RefreshToken, nil); resp.StatusCode != 401 {
		t.Errorf("a refresh credential as access token: %d", resp.StatusCode)
	}
	for _, body := range []string{"", "{", `{"refreshToken":""}`, `{"refreshToken":"x","extra":1}`, `{"refreshToken":"not.a.jwt"}`} {
		if code, _ := f.post(t, RefreshPath, "", body); code != 400 && code != 401 {
			t.Errorf("refresh with %q: %d", body, code)
		}
	}
	if resp, _ := f.do(t, "GET", RefreshPath, "", nil); resp.StatusCode != 405 {
		t.Errorf("GET refresh: %d", resp.StatusCode)
	}
	// Directory down: 503, so the CLI keeps its valid token.
	dir.down = true
	if code, _, _ := f.refresh(t, lr.RefreshToken); code != 503 {
		t.Errorf("refresh with the directory down: %d", code)
	}
	dir.down = false
	// Gone from the directory: 401 (exit 3).
	delete(dir.groups, "alice")
	code, _, body := f.refresh(t, lr.RefreshToken)
	if code != 401 || !strings.Contains(body, "no longer in the directory") {
		t.Errorf("refresh of a deleted user: %d %s", code, body)
	}
	if e := f.audit.last(); e.Verb != "refresh" || e.Decision != "deny" || e.User != "alice" {
		t.Errorf("audit %+v", e)
	}
}

func TestLogoutRevokesSession(t *testing.T) {
	f, _, _ := newSessionFixture(t)
	lr := f.login(t, "alice")
	other := f.login(t, "alice")
	b, _ := json.Marshal(RefreshRequest{RefreshToken: lr.RefreshToken})
	if code, body := f.post(t, LogoutPath, "", string(b)); code != 200 {
		t.Fatalf("logout: %d %s", code, body)
	}
	if code, _, _ := f.refresh(t, lr.RefreshToken); code != 401 {
		t.Errorf("refresh after logout: %d", code)
	}
	if resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", lr.Token, nil); resp.StatusCode != 401 || !strings.Contains(body, "session was ended") {
		t.Errorf("the session's access token after logout: %d %s", resp.StatusCode, body)
	}
	// Another session of the same user is not touched.
	if code, _, _ := f.refresh(t, other.RefreshToken); code != 200 {
		t.Errorf("another session after logout: %d", code)
	}
	if e := f.audit.last(); e.Verb != "refresh" {
		t.Errorf("audit %+v", e)
	}
}

func TestLocks(t *testing.T) {
	f, _, _ := newSessionFixture(t)
	olga := f.login(t, "olga") // Ops: super admin
	alice := f.login(t, "alice")
	lockBody := `{"target":"user","name":"Alice","reason":"laptop stolen","ttl":"2h"}`
	// Only super admins.
	if code, body := f.post(t, LocksPath, alice.Token, lockBody); code != 403 || !strings.Contains(body, "not a super admin") {
		t.Errorf("alice locks: %d %s", code, body)
	}
	if resp, _ := f.do(t, "GET", LocksPath, alice.Token, nil); resp.StatusCode != 403 {
		t.Errorf("alice lists locks: %d", resp.StatusCode)
	}
	if code, _ := f.post(t, LocksPath, "", lockBody); code != 401 {
		t.Errorf("anonymous lock: %d", code)
	}
	for _, bad := range []string{`{"target":"user","name":"alice"}`, `{"target":"pod","name":"x","reason":"r"}`,
		`{"target":"user","name":"","reason":"r"}`, `{"target":"user","name":"a","reason":"r","ttl":"-1h"}`, `{"target":"user","name":"a/b","reason":"r"}`} {
		if code, _ := f.post(t, LocksPath, olga.Token, bad); code != 400 {
			t.Errorf("lock %s: %d", bad, code)
		}
	}
	if code, body := f.post(t, LocksPath, olga.Token, lockBody); code != 200 {
		t.Fatalf("olga locks alice: %d %s", code, body)
	}
	if e := f.audit.last(); e.Verb != "lock" || e.User != "olga" || e.Name != "user/alice" || e.Decision != "allow" {
		t.Errorf("audit of the lock %+v", e)
	}
	resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", alice.Token, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "laptop stolen") || !strings.Contains(body, `"reason":"Forbidden"`) {
		t.Errorf("locked alice: %d %s", resp.StatusCode, body)
	}
	if code, _, body := f.refresh(t, alice.RefreshToken); code != 403 || !strings.Contains(body, "laptop stolen") {
		t.Errorf("locked alice refreshes: %d %s", code, body)
	}
	if code, body := f.post(t, LoginPath, "", `{"username":"alice","password":"alice-pw"}`); code != 403 {
		t.Errorf("locked alice logs in: %d %s", code, body)
	}
	resp, body = f.do(t, "GET", LocksPath, olga.Token, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"alice"`) || !strings.Contains(body, `"by":"olga"`) {
		t.Errorf("lock list: %d %s", resp.StatusCode, body)
	}
	// A group lock reaches every member.
	if code, _ := f.post(t, LocksPath, olga.Token, `{"target":"group","name":"team-payments","reason":"incident 42"}`); code != 200 {
		t.Fatal("group lock")
	}
	if resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), nil); resp.StatusCode != 403 || !strings.Contains(body, "incident 42") {
		t.Errorf("bob in a locked group: %d %s", resp.StatusCode, body)
	}
	// The ttl runs out.
	*f.now = f.now.Add(3 * time.Hour)
	olga = f.login(t, "olga")
	if code, _, _ := f.refresh(t, alice.RefreshToken); code != 200 {
		t.Errorf("alice after her lock's ttl: %d", code)
	}
	// Unlock.
	if resp, _ := f.do(t, "DELETE", LocksPath+"/group/team-payments", olga.Token, nil); resp.StatusCode != 200 {
		t.Errorf("unlock: %d", resp.StatusCode)
	}
	if e := f.audit.last(); e.Verb != "unlock" || e.Name != "group/team-payments" {
		t.Errorf("audit of the unlock %+v", e)
	}
	if resp, _ := f.do(t, "DELETE", LocksPath+"/group/team-payments", olga.Token, nil); resp.StatusCode != 404 {
		t.Errorf("second unlock: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), nil); resp.StatusCode != 200 {
		t.Errorf("bob after the unlock: %d", resp.StatusCode)
	}
}

func TestLockEndsRunningExec(t *testing.T) {
	f, _, locks := newSessionFixture(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/namespaces/payments/pods/web-1/exec?command=sh HTTP/1.1\r\nHost: gw\r\n"+
		"Authorization: Bearer %s\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n", f.token(t, "alice"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// bob's lock leaves alice's session alone.
	_ = locks.Lock(context.Background(), Lock{Target: LockUser, Name: "bob", Reason: "r", By: "olga"})
	fmt.Fprint(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatalf("exec ended by another user's lock: %v", err)
	}
	start := time.Now()
	_ = locks.Lock(context.Background(), Lock{Target: LockGroup, Name: "payments-leads", Reason: "r", By: "olga"})
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the exec session goes on after the lock")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the exec session ended %s after the lock", d)
	}
}

func TestLockSetCheck(t *testing.T) {
	now := time.Now()
	s := parseLockSet(map[string]string{
		"user.bob":             `{"target":"user","name":"bob","reason":"r","by":"o"}`,
		"group.qa":             fmt.Sprintf(`{"target":"group","name":"qa","reason":"r","by":"o","expires":%q}`, now.Add(-time.Minute).Format(time.RFC3339)),
		"user.mallory":         `not json`,
		"session.abc":          fmt.Sprintf(`{"user":"carol","expires":%q}`, now.Add(time.Hour).Format(time.RFC3339)),
		dataKey("user", "Ünï"): `{"target":"user","name":"ünï","reason":"r","by":"o"}`,
	}, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		id     policy.Identity
		sid    string
		locked bool
	}{
		{policy.Identity{User: "BOB"}, "", true},
		{policy.Identity{User: "x", Groups: []string{"qa"}}, "", false}, // expired
		{policy.Identity{User: "mallory"}, "", true},                    // unreadable: still locks
		{policy.Identity{User: "carol"}, "abc", true},
		{policy.Identity{User: "carol"}, "def", false},
		{policy.Identity{User: "ünï"}, "", true},
	} {
		l, msg := s.Check(c.id, c.sid, now)
		if got := l != nil || msg != ""; got != c.locked {
			t.Errorf("%+v %q: locked %v, want %v", c.id, c.sid, got, c.locked)
		}
	}
	if n := len(s.List(now)); n != 3 {
		t.Errorf("List: %d locks, want 3 (bob, mallory, ünï)", n)
	}
	d := map[string]string{"group.qa": `{"expires":"2000-01-01T00:00:00Z"}`, "user.bob": `{}`}
	if !prune(d, now) || len(d) != 1 {
		t.Errorf("prune left %v", d)
	}
}
