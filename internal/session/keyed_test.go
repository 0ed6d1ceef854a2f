package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gwSample(url, user string) *Session {
	s := sample()
	s.User, s.Issuer, s.Token, s.RefreshToken = user, url, "tok-"+user, "ref-"+user
	return s
}

// TestSessionsSideBySide: logging in to one gateway never logs you out of
// another, nor of the directory; logging out of one leaves the others.
func TestSessionsSideBySide(t *testing.T) {
	st := newStore(t)
	const test, prod = "https://gw-test.example:8443", "https://gw-prod.example:8443"
	if err := st.Save(sample()); err != nil { // direct LDAP login
		t.Fatal(err)
	}
	if err := st.Save(gwSample(test, "alice")); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(gwSample(prod, "alice-prod")); err != nil {
		t.Fatal(err)
	}
	gt, gp, d := GatewayStore(st.Dir, test), GatewayStore(st.Dir, prod), DirectStore(st.Dir)
	gt.Now, gp.Now, d.Now = st.Now, st.Now, st.Now
	if gt.Path() == gp.Path() || gt.Path() == d.Path() || gt.Path() == st.Path() {
		t.Fatalf("paths collide: %s %s %s", gt.Path(), gp.Path(), d.Path())
	}
	for _, c := range []struct {
		st         *Store
		user, want string
	}{{gt, "alice", test}, {gp, "alice-prod", prod}, {d, "alice", "ldaps://ldap.test"}, {st, "alice-prod", prod}} {
		s, err := c.st.Load()
		if err != nil || s.User != c.user || s.Issuer != c.want {
			t.Errorf("%s: %+v, %v", c.st.Path(), s, err)
		}
	}
	// Logging out of prod (the current session) keeps test and the directory.
	if ok, err := st.Delete(); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	_, err := gp.Load()
	authErr(t, gp, err, "not logged in to the gateway "+prod, "kgate login --server "+prod)
	if s, err := gt.Load(); err != nil || s.Issuer != test {
		t.Errorf("test gateway after prod's logout: %+v %v", s, err)
	}
	// With no current session, the direct login still answers.
	if s, err := st.Load(); err != nil || s.Token != "" || s.Issuer != "ldaps://ldap.test" {
		t.Errorf("current after logout: %+v %v", s, err)
	}
	// Logging out of test through its own store leaves the direct login.
	if ok, err := gt.Delete(); !ok || err != nil {
		t.Fatalf("delete test: %v %v", ok, err)
	}
	if _, err := gt.Load(); err == nil {
		t.Error("test still logged in")
	}
	if _, err := d.Load(); err != nil {
		t.Errorf("direct after test's logout: %v", err)
	}
}

// TestKeyedStoreReadsOlderSession: a session saved before sessions were kept
// per issuer (session.json only) serves its own issuer, and no other.
func TestKeyedStoreReadsOlderSession(t *testing.T) {
	st := newStore(t)
	const gw = "https://gw.example"
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := gwSample(gw, "alice")
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	os.Remove(GatewayStore(st.Dir, gw).Path())
	if got, err := GatewayStore(st.Dir, gw).Read(); err != nil || got.Token != s.Token {
		t.Errorf("older session: %+v %v", got, err)
	}
	other := GatewayStore(st.Dir, "https://other.example")
	_, err := other.Read()
	authErr(t, other, err, "not logged in to the gateway https://other.example")
	d := DirectStore(st.Dir)
	_, err = d.Read()
	authErr(t, d, err, "no direct LDAP session")
	// A gateway's session file that others can read is refused like any.
	p := GatewayStore(st.Dir, gw)
	if err := os.WriteFile(p.Path(), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = p.Read()
	authErr(t, p, err, "accessible by others")
}

func TestGatewayFileNameIsSafe(t *testing.T) {
	for _, u := range []string{"https://x/../../etc/passwd", "https://" + strings.Repeat("a", 500), "https://h:1/a b?c"} {
		n := gatewayFileName(u)
		if strings.ContainsAny(n, "/\\ ") || len(n) > 120 || filepath.Base(n) != n {
			t.Errorf("%q -> %q", u, n)
		}
	}
	if gatewayFileName("https://a:1") == gatewayFileName("https://a_1") {
		t.Error("different URLs share a file")
	}
}
