package ldapauth

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
)

// fakeDir is a directory that answers exact filters, as a real server would
// after parsing them: "(uid=a*)" is a wildcard, "(uid=a\2a)" is not.
type fakeDir struct {
	passwords map[string]string        // DN -> password
	searches  map[string][]*ldap.Entry // filter -> entries
	errs      map[string]error         // "bind:DN" or "search:FILTER" -> error
	log       []string                 // operations, in order
}

func (d *fakeDir) Bind(dn, pw string) error {
	d.log = append(d.log, "bind "+dn)
	if err := d.errs["bind:"+dn]; err != nil {
		return err
	}
	if want, ok := d.passwords[dn]; !ok || want != pw {
		return ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("invalid credentials"))
	}
	return nil
}

func (d *fakeDir) Search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	d.log = append(d.log, "search "+req.BaseDN+" "+req.Filter)
	if err := d.errs["search:"+req.Filter]; err != nil {
		return &ldap.SearchResult{}, err
	}
	res := &ldap.SearchResult{}
	for _, e := range d.searches[req.Filter] {
		if req.SizeLimit > 0 && len(res.Entries) == req.SizeLimit {
			return res, ldap.NewError(ldap.LDAPResultSizeLimitExceeded, errors.New("size limit exceeded"))
		}
		res.Entries = append(res.Entries, e)
	}
	return res, nil
}

func (d *fakeDir) Close() error { return nil }

const (
	reader = "cn=reader,dc=test"
	alice  = "uid=alice,ou=people,dc=test"
	a1     = "uid=a1,ou=people,dc=test"
)

func newFake() *fakeDir {
	return &fakeDir{
		passwords: map[string]string{reader: "reader-pw", alice: "alice-pw", a1: "a1-pw"},
		searches: map[string][]*ldap.Entry{
			"(uid=alice)": {ldap.NewEntry(alice, map[string][]string{
				"uid":      {"alice"},
				"memberOf": {"cn=team-payments,ou=groups,dc=test", "cn=payments-leads,ou=groups,dc=test"},
			})},
			// What an unescaped wildcard would find.
			"(uid=a*)":   {ldap.NewEntry(a1, nil), ldap.NewEntry(alice, nil)},
			"(uid=*)":    {ldap.NewEntry(a1, nil), ldap.NewEntry(alice, nil)},
			"(uid=a1*)":  {ldap.NewEntry(a1, map[string][]string{"uid": {"a1"}})},
			"(uid=twin)": {ldap.NewEntry("uid=twin,ou=a,dc=test", nil), ldap.NewEntry("uid=twin,ou=b,dc=test", nil)},
			"(member=uid=alice,ou=people,dc=test)": {
				ldap.NewEntry("cn=qa,ou=groups,dc=test", map[string][]string{"cn": {"qa"}}),
			},
		},
		errs: map[string]error{},
	}
}

func testConfig() config.LDAP {
	return config.LDAP{
		URLs:   []string{"ldap://127.0.0.1:1389"},
		BindDN: reader, BindPassword: "reader-pw",
		UserBase: "ou=people,dc=test", UserFilter: "(uid=%s)", UsernameAttribute: "uid",
		GroupAttribute: "memberOf", GroupFilter: "(member=%s)", GroupNameAttribute: "cn",
		StartTLS: true, DialTimeout: time.Second, Timeout: time.Second,
	}
}

func newAuth(t *testing.T, cfg config.LDAP, d *fakeDir) *Authenticator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.connect = func(context.Context, server) (conn, error) { return d, nil }
	return a
}

func kindOf(err error) errs.Kind {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

func TestAuthenticateMemberOf(t *testing.T) {
	d := newFake()
	// The server matches case-insensitively; the session gets the entry's uid.
	d.searches["(uid=ALICE)"] = d.searches["(uid=alice)"]
	id, err := newAuth(t, testConfig(), d).Authenticate(context.Background(), "ALICE", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	want := &Identity{Username: "alice", DN: alice, Groups: []string{"payments-leads", "team-payments"}, Server: "ldap://127.0.0.1:1389"}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("identity = %+v, want %+v", id, want)
	}
}

func TestAuthenticateGroupSearch(t *testing.T) {
	d := newFake()
	cfg := testConfig()
	cfg.GroupBase = "ou=groups,dc=test"
	id, err := newAuth(t, cfg, d).Authenticate(context.Background(), "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(id.Groups, []string{"qa"}) {
		t.Errorf("groups = %v, want [qa]", id.Groups)
	}
	// Back to the service account before the group search.
	wantLog := []string{"bind " + reader, "search ou=people,dc=test (uid=alice)", "bind " + alice, "bind " + reader,
		"search ou=groups,dc=test (member=uid=alice,ou=people,dc=test)"}
	if !reflect.DeepEqual(d.log, wantLog) {
		t.Errorf("operations:\n got %q\nwant %q", d.log, wantLog)
	}
}

func TestInvalidCredentialsLookAlike(t *testing.T) {
	cases := map[string]struct{ user, pw string }{
		"wrong password":      {"alice", "nope"},
		"unknown user":        {"nobody", "alice-pw"},
		"several entries":     {"twin", "x"},
		"wildcard":            {"a*", "a1-pw"},
		"filter injection":    {"*)(uid=*", "alice-pw"},
		"injection, prefix":   {"a1*", "a1-pw"},
		"wildcard, all":       {"*", "alice-pw"},
		"nul byte":            {"alice\x00", "alice-pw"},
		"closing parenthesis": {"alice)", "alice-pw"},
	}
	var first string
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := newFake()
			_, err := newAuth(t, testConfig(), d).Authenticate(context.Background(), c.user, c.pw)
			if kindOf(err) != errs.KindAuth {
				t.Fatalf("err = %v (kind %d), want an auth error", err, kindOf(err))
			}
			if first == "" {
				first = err.Error()
			} else if err.Error() != first {
				t.Errorf("message %q differs from %q: it must not reveal which", err, first)
			}
			for _, op := range d.log {
				if strings.HasPrefix(op, "search ") && strings.ContainsAny(strings.TrimPrefix(op, "search ou=people,dc=test (uid="), "*") {
					t.Errorf("unescaped wildcard sent: %s", op)
				}
			}
		})
	}
}

func TestEscapedFilter(t *testing.T) {
	d := newFake()
	_, _ = newAuth(t, testConfig(), d).Authenticate(context.Background(), "*)(uid=*", "x")
	want := `search ou=people,dc=test (uid=\2a\29\28uid=\2a)`
	if len(d.log) < 2 || d.log[1] != want {
		t.Errorf("operations = %q, want the second to be %q", d.log, want)
	}
}

func TestEmptyPasswordSendsNothing(t *testing.T) {
	a, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	a.connect = func(context.Context, server) (conn, error) {
		t.Fatal("connected for an empty password")
		return nil, nil
	}
	_, err = a.Authenticate(context.Background(), "alice", "")
	if kindOf(err) != errs.KindAuth || !strings.Contains(err.Error(), "empty password") {
		t.Errorf("err = %v, want an auth error about the empty password", err)
	}
}

func TestFailover(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://down.test", "ldaps://slow.test", "ldap://up.test"}
	d := newFake()
	a := newAuth(t, cfg, d)
	var tried []string
	a.connect = func(_ context.Context, s server) (conn, error) {
		tried = append(tried, s.url)
		switch s.url {
		case "ldap://down.test":
			return nil, a.dialError(s, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, time.Second)
		case "ldaps://slow.test":
			return nil, a.dialError(s, context.DeadlineExceeded, time.Second)
		}
		return d, nil
	}
	id, err := a.Authenticate(context.Background(), "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if id.Server != "ldap://up.test" || len(tried) != 3 {
		t.Errorf("server = %s after trying %v", id.Server, tried)
	}
}

func TestNoFailoverOnWrongPassword(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://one.test", "ldap://two.test"}
	d := newFake()
	a := newAuth(t, cfg, d)
	n := 0
	a.connect = func(context.Context, server) (conn, error) { n++; return d, nil }
	if _, err := a.Authenticate(context.Background(), "alice", "wrong"); kindOf(err) != errs.KindAuth {
		t.Fatalf("err = %v, want auth", err)
	}
	if n != 1 {
		t.Errorf("connected %d times, want 1", n)
	}
}

func TestAllDown(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://one.test:389", "ldaps://two.test:636"}
	a := newAuth(t, cfg, newFake())
	a.connect = func(_ context.Context, s server) (conn, error) {
		if s.scheme == "ldaps" {
			return nil, a.dialError(s, os.ErrDeadlineExceeded, 2*time.Second)
		}
		return nil, a.dialError(s, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, time.Second)
	}
	_, err := a.Authenticate(context.Background(), "alice", "alice-pw")
	if kindOf(err) != errs.KindUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	for _, want := range []string{"ldap://one.test:389: connection refused", "ldaps://two.test:636: timed out connecting after 2s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestUntrustedCertificate(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldaps://one.test"}
	cfg.CAFile = writeCA(t)
	a := newAuth(t, cfg, newFake())
	a.connect = func(_ context.Context, s server) (conn, error) {
		return nil, a.tlsError(s, x509.UnknownAuthorityError{}, time.Second)
	}
	_, err := a.Authenticate(context.Background(), "alice", "alice-pw")
	if kindOf(err) != errs.KindGeneric || !strings.Contains(err.Error(), "not signed by a trusted CA") {
		t.Fatalf("err = %v, want a generic error about the CA", err)
	}
	var e *errs.Error
	errors.As(err, &e)
	if !strings.Contains(e.Hint, cfg.CAFile) {
		t.Errorf("hint %q does not name the CA file %s", e.Hint, cfg.CAFile)
	}
}

func TestServiceAccountRefused(t *testing.T) {
	cfg := testConfig()
	cfg.BindPassword = "wrong"
	_, err := newAuth(t, cfg, newFake()).Authenticate(context.Background(), "alice", "alice-pw")
	if kindOf(err) != errs.KindGeneric || !strings.Contains(err.Error(), "service account") {
		t.Errorf("err = %v, want a configuration error about the service account", err)
	}
}

func TestConnectionLostFailsOver(t *testing.T) {
	cfg := testConfig()
	cfg.URLs = []string{"ldap://one.test", "ldap://two.test"}
	bad, good := newFake(), newFake()
	bad.errs["search:(uid=alice)"] = ldap.NewError(ldap.ErrorNetwork, errors.New("ldap: connection closed"))
	a := newAuth(t, cfg, nil)
	a.connect = func(_ context.Context, s server) (conn, error) {
		if s.url == "ldap://one.test" {
			return bad, nil
		}
		return good, nil
	}
	id, err := a.Authenticate(context.Background(), "alice", "alice-pw")
	if err != nil || id.Server != "ldap://two.test" {
		t.Errorf("id, err = %+v, %v; want a login at the second server", id, err)
	}
}

func TestNewRejects(t *testing.T) {
	cases := map[string]struct {
		mod  func(*config.LDAP)
		want string
	}{
		"no urls":           {func(c *config.LDAP) { c.URLs = nil }, "no LDAP server"},
		"bad scheme":        {func(c *config.LDAP) { c.URLs = []string{"http://x"} }, "scheme must be ldap or ldaps"},
		"plaintext":         {func(c *config.LDAP) { c.StartTLS = false }, "without TLS"},
		"no user base":      {func(c *config.LDAP) { c.UserBase = "" }, "ldap.userBase"},
		"filter without %s": {func(c *config.LDAP) { c.UserFilter = "(uid=alice)" }, "no %s"},
		"missing CA file":   {func(c *config.LDAP) { c.CAFile = "/nonexistent/ca.crt" }, "/nonexistent/ca.crt"},
		"no bind password":  {func(c *config.LDAP) { c.BindPassword = "" }, "no bind password"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			c.mod(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	cfg := testConfig()
	cfg.StartTLS, cfg.Insecure = false, true
	if _, err := New(cfg); err != nil {
		t.Errorf("insecure: true must allow plaintext: %v", err)
	}
}

func TestBindPasswordFile(t *testing.T) {
	cfg := testConfig()
	cfg.BindPassword = ""
	cfg.BindPasswordFile = filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(cfg.BindPasswordFile, []byte("reader-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newAuth(t, cfg, newFake()).Authenticate(context.Background(), "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
}

func TestGroupName(t *testing.T) {
	for dn, want := range map[string]string{
		"cn=team-payments,ou=groups,dc=test": "team-payments",
		"CN=Ops,OU=Groups,DC=test":           "Ops",
		`cn=a\,b,ou=groups,dc=test`:          "a,b",
		"ou=weird,dc=test":                   "weird",
		"not a dn":                           "not a dn",
	} {
		if got := groupName(dn, "cn"); got != want {
			t.Errorf("groupName(%q) = %q, want %q", dn, got, want)
		}
	}
}

func writeCA(t *testing.T) string {
	t.Helper()
	// Any PEM certificate will do for New; this one is Go's own test root.
	const pem = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----
`
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, []byte(pem), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
