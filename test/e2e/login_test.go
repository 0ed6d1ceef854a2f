package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// whoamiInfo is `kgate whoami -o json`.
type whoamiInfo struct {
	User             string    `json:"user"`
	DN               string    `json:"dn"`
	Groups           []string  `json:"groups"`
	Issuer           string    `json:"issuer"`
	Issued           time.Time `json:"issued"`
	Expires          time.Time `json:"expires"`
	ExpiresInSeconds int64     `json:"expiresInSeconds"`
}

func whoami(t *testing.T, u *User) whoamiInfo {
	t.Helper()
	r := u.MustRun("whoami", "-o", "json")
	var info whoamiInfo
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("whoami -o json: %v\n%s", err, r)
	}
	return info
}

func loginStdin(u *User, name, password string, extra ...string) Result {
	u.t.Helper()
	return u.RunStdin(password+"\n", append([]string{"login", "--username", name, "--password-stdin"}, extra...)...)
}

func sessionPath(u *User) string { return filepath.Join(u.Dir, "config", "session.json") }

func wantStderr(t *testing.T, r Result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Stderr, p) {
			t.Errorf("stderr lacks %q:\n%s", p, r)
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// stallingListener accepts connections and never says a word; it counts them.
func stallingListener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// foreignCA writes a CA certificate that did not sign slapd's certificate.
func foreignCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "some-other-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoginStartTLS(t *testing.T) {
	d := Directory(t)
	u := NewUser(t)
	u.UseLDAP()
	r := loginStdin(u, "alice", Password(t, "alice"))
	WantCode(t, r, 0)
	wantStderr(t, r, "Logged in as alice")
	info := whoami(t, u)
	if info.User != "alice" || info.DN != "uid=alice,"+d.UserBase || info.Issuer != d.StartTLSURL ||
		!reflect.DeepEqual(info.Groups, []string{"payments-leads"}) {
		t.Errorf("whoami = %+v", info)
	}
	if left := time.Duration(info.ExpiresInSeconds) * time.Second; left < 7*time.Hour+55*time.Minute || left > 8*time.Hour {
		t.Errorf("session lasts %s, want the default 8h", left)
	}
	// The table for people, and YAML.
	r = u.MustRun("whoami")
	for _, want := range []string{"Username", "alice", "[payments-leads]", d.StartTLSURL, "left)"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("whoami lacks %q:\n%s", want, r.Stdout)
		}
	}
	if r := u.MustRun("whoami", "-o", "yaml"); !strings.Contains(r.Stdout, "user: alice\n") {
		t.Errorf("whoami -o yaml:\n%s", r.Stdout)
	}
}

func TestLoginLDAPS(t *testing.T) {
	d := Directory(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", d.LDAPSURL)
	WantCode(t, loginStdin(u, "bob", Password(t, "bob")), 0)
	if info := whoami(t, u); info.User != "bob" || info.Issuer != d.LDAPSURL || !reflect.DeepEqual(info.Groups, []string{"team-payments"}) {
		t.Errorf("whoami = %+v", info)
	}
}

// TestLoginConfigFile uses nothing but a config file like the README's example.
func TestLoginConfigFile(t *testing.T) {
	d := Directory(t)
	u := NewUser(t)
	pwFile := filepath.Join(u.Dir, "reader.password")
	if err := os.WriteFile(pwFile, []byte(d.BindPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`ldap:
  urls:
    - ldap://%s
    - %s
  caFile: %s
  bindDN: %s
  bindPasswordFile: %s
  userBase: %s
  userFilter: (uid=%%s)
  groupBase: %s
  groupFilter: (member=%%s)
  dialTimeout: 2s
  timeout: 5s
session:
  lifetime: 3h
`, closedPort(t), d.LDAPSURL, d.CAFile, d.BindDN, pwFile, d.UserBase, d.GroupBase)
	cfgFile := filepath.Join(u.Dir, "config", "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	WantCode(t, loginStdin(u, "dave", Password(t, "dave")), 0)
	info := whoami(t, u)
	if info.User != "dave" || info.Issuer != d.LDAPSURL || !reflect.DeepEqual(info.Groups, []string{"team-search"}) {
		t.Errorf("whoami = %+v", info)
	}
	if left := time.Duration(info.ExpiresInSeconds) * time.Second; left > 3*time.Hour || left < 2*time.Hour+55*time.Minute {
		t.Errorf("session lasts %s, want session.lifetime 3h", left)
	}
}

func TestGroupsFromMemberOf(t *testing.T) {
	for user, want := range map[string][]string{
		"carol": {"qa", "team-payments"},
		"olga":  {"ops"},
		"erin":  {},
	} {
		u := NewUser(t)
		u.Login(user)
		if got := whoami(t, u).Groups; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: groups %v, want %v", user, got, want)
		}
	}
}

func TestGroupsFromGroupSearch(t *testing.T) {
	d := Directory(t)
	for user, want := range map[string][]string{
		"carol": {"qa", "team-payments"},
		"alice": {"payments-leads"},
		"erin":  {},
	} {
		u := NewUser(t)
		u.UseLDAP()
		u.Setenv("KGATE_LDAP_GROUPBASE", d.GroupBase)
		// An attribute nobody has: the groups can only come from the search.
		u.Setenv("KGATE_LDAP_GROUPATTRIBUTE", "description")
		WantCode(t, loginStdin(u, user, Password(t, user)), 0)
		if got := whoami(t, u).Groups; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: groups %v, want %v", user, got, want)
		}
	}
}

func TestCanonicalUsername(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	WantCode(t, loginStdin(u, "CAROL", Password(t, "carol")), 0)
	if got := whoami(t, u).User; got != "carol" {
		t.Errorf("user %q, want the directory's uid carol", got)
	}
}

// TestBadCredentialsLookAlike: a wrong password, an unknown user and a
// username that matches two entries give the same message, exit 3, and no session.
func TestBadCredentialsLookAlike(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	wrong := loginStdin(u, "alice", "not-"+Password(t, "alice"))
	WantCode(t, wrong, 3)
	wantStderr(t, wrong, "invalid username or password")
	for _, c := range []struct{ user, pw string }{
		{"nobody", Password(t, "alice")},
		{"dup", Password(t, "dup")},
	} {
		r := loginStdin(u, c.user, c.pw)
		WantCode(t, r, 3)
		if r.Stderr != wrong.Stderr {
			t.Errorf("%s: message %q differs from the wrong password's %q", c.user, r.Stderr, wrong.Stderr)
		}
	}
	if _, err := os.Stat(sessionPath(u)); !os.IsNotExist(err) {
		t.Errorf("a failed login left a session: %v", err)
	}
	WantCode(t, u.Run("whoami"), 3)
}

// TestFilterInjection: without escaping, each of these usernames would match
// exactly the user whose password is given, and log them in.
func TestFilterInjection(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	for _, c := range []struct{ user, pw string }{
		{"al*", Password(t, "alice")},
		{"*)(uid=*", Password(t, "alice")},
		{"a*", Password(t, "alice")},
		{"a1*", Password(t, "a1")},
		{"*", Password(t, "bob")},
		{"bo*)(objectClass=*", Password(t, "bob")},
		{`b\6fb`, Password(t, "bob")},
	} {
		r := loginStdin(u, c.user, c.pw)
		WantCode(t, r, 3)
		wantStderr(t, r, "invalid username or password")
		if _, err := os.Stat(sessionPath(u)); !os.IsNotExist(err) {
			t.Fatalf("username %q logged somebody in", c.user)
		}
	}
}

func TestEmptyPasswordSendsNothing(t *testing.T) {
	addr, accepted := stallingListener(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", "ldap://"+addr)

	r := loginStdin(u, "alice", "")
	WantCode(t, r, 3)
	wantStderr(t, r, "no password")

	u.Setenv("KGATE_PASSWORD", "")
	r = u.Run("login", "--username", "alice")
	WantCode(t, r, 3)
	wantStderr(t, r, "empty password")

	if n := accepted.Load(); n != 0 {
		t.Errorf("kgate connected %d times for an empty password", n)
	}
}

func TestLDAPDown(t *testing.T) {
	a, b := closedPort(t), closedPort(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", "ldap://"+a+",ldaps://"+b)
	start := time.Now()
	r := loginStdin(u, "alice", Password(t, "alice"))
	WantCode(t, r, 6)
	wantStderr(t, r, "cannot reach any LDAP server", "ldap://"+a, "ldaps://"+b, "connection refused")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s for refused connections", took)
	}
}

func TestLDAPTimeout(t *testing.T) {
	addr, _ := stallingListener(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", "ldap://"+addr+",ldaps://"+addr)
	u.Setenv("KGATE_LDAP_TIMEOUT", "1s")
	u.Setenv("KGATE_LDAP_DIALTIMEOUT", "1s")
	start := time.Now()
	r := loginStdin(u, "alice", Password(t, "alice"))
	took := time.Since(start)
	WantCode(t, r, 6)
	wantStderr(t, r, "ldap://"+addr+": no answer to StartTLS within 1s", "ldaps://"+addr+": no TLS handshake within 1s")
	if took > 5*time.Second {
		t.Errorf("took %s with two servers and 1s timeouts", took)
	}
}

func TestFailover(t *testing.T) {
	d := Directory(t)
	down, _ := stallingListener(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_TIMEOUT", "1s")
	// --ldap-url, repeated, wins over the environment.
	r := u.RunStdin(Password(t, "alice")+"\n", "login", "-u", "alice", "--password-stdin",
		"--ldap-url", "ldap://"+closedPort(t), "--ldap-url", "ldap://"+down, "--ldap-url", d.LDAPSURL)
	WantCode(t, r, 0)
	if info := whoami(t, u); info.Issuer != d.LDAPSURL {
		t.Errorf("issuer %s, want %s", info.Issuer, d.LDAPSURL)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	d := Directory(t)
	ca := foreignCA(t)
	for _, url := range []string{d.StartTLSURL, d.LDAPSURL} {
		u := NewUser(t)
		u.UseLDAP()
		u.Setenv("KGATE_LDAP_URLS", url)
		u.Setenv("KGATE_LDAP_CAFILE", ca)
		r := loginStdin(u, "alice", Password(t, "alice"))
		WantCode(t, r, 1)
		wantStderr(t, r, "the certificate of LDAP server "+url+" is not signed by a trusted CA", "ldap.caFile is "+ca)
	}
}

func TestPlaintext(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_STARTTLS", "false")
	r := loginStdin(u, "alice", Password(t, "alice"))
	WantCode(t, r, 1)
	wantStderr(t, r, "without TLS", "ldap.insecure")

	// Allowed only when the config says insecure: true, with a warning each time.
	u.Setenv("KGATE_LDAP_INSECURE", "true")
	for range 2 {
		r = loginStdin(u, "alice", Password(t, "alice"))
		WantCode(t, r, 0)
		wantStderr(t, r, "warning: sending the password to", "without TLS")
	}
}

// TestServerRequiresTLS runs against the slapd with olcSecurity: simple_bind=128.
func TestServerRequiresTLS(t *testing.T) {
	d := Directory(t)
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", d.TLSOnlyURL)
	WantCode(t, loginStdin(u, "carol", Password(t, "carol")), 0)
	if info := whoami(t, u); info.Issuer != d.TLSOnlyURL {
		t.Errorf("issuer %s", info.Issuer)
	}

	u = NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_LDAP_URLS", d.TLSOnlyURL)
	u.Setenv("KGATE_LDAP_STARTTLS", "false")
	u.Setenv("KGATE_LDAP_INSECURE", "true")
	r := loginStdin(u, "carol", Password(t, "carol"))
	WantCode(t, r, 1)
	wantStderr(t, r, "refused the bind without TLS (confidentiality required)")
}

func TestSessionExpiry(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	u.Setenv("KGATE_SESSION_LIFETIME", "2s")
	WantCode(t, loginStdin(u, "alice", Password(t, "alice")), 0)
	u.MustRun("whoami")
	time.Sleep(2100 * time.Millisecond)
	r := u.Run("whoami")
	WantCode(t, r, 3)
	wantStderr(t, r, "expired", sessionPath(u), "kgate login")
}

func TestMinTTL(t *testing.T) {
	u := NewUser(t)
	u.Login("alice")
	u.MustRun("whoami", "--min-ttl", "1h")
	r := u.Run("whoami", "--min-ttl", "9h")
	WantCode(t, r, 3)
	wantStderr(t, r, "less than --min-ttl 9h", "kgate login")
}

func TestLooseSessionFile(t *testing.T) {
	u := NewUser(t)
	u.Login("alice")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o606} {
		if err := os.Chmod(sessionPath(u), mode); err != nil {
			t.Fatal(err)
		}
		r := u.Run("whoami")
		WantCode(t, r, 3)
		wantStderr(t, r, "accessible by others", "chmod 600 "+sessionPath(u))
	}
	if err := os.Chmod(sessionPath(u), 0o600); err != nil {
		t.Fatal(err)
	}
	u.MustRun("whoami")
}

func TestCorruptSession(t *testing.T) {
	u := NewUser(t)
	u.Login("alice")
	if err := os.WriteFile(sessionPath(u), []byte("{\"user\": \"alice\", \"expi"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := u.Run("whoami")
	WantCode(t, r, 3)
	wantStderr(t, r, "corrupt", sessionPath(u), "kgate login")
	// logout clears it; login writes a good one.
	u.MustRun("logout")
	u.Login("alice")
	u.MustRun("whoami")
}

func TestSessionFileModes(t *testing.T) {
	u := NewUser(t)
	// A config dir that does not exist yet is created 0700.
	dir := filepath.Join(u.Dir, "fresh", "kgate")
	u.Setenv("KGATE_CONFIG_DIR", dir)
	u.Login("alice")
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "session.json"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
}

func TestLogout(t *testing.T) {
	u := NewUser(t)
	u.Login("alice")
	r := u.MustRun("logout")
	wantStderr(t, r, "Logged out alice.")
	r = u.Run("whoami")
	WantCode(t, r, 3)
	wantStderr(t, r, "not logged in", "kgate login")
	wantStderr(t, u.MustRun("logout"), "Not logged in.")
}

func TestNoPromptWithoutTerminal(t *testing.T) {
	u := NewUser(t)
	u.UseLDAP()
	r := u.Run("login")
	WantCode(t, r, 3)
	wantStderr(t, r, "stdin is not a terminal", "--username", "KGATE_USERNAME")

	r = u.Run("login", "--username", "alice")
	WantCode(t, r, 3)
	wantStderr(t, r, "stdin is not a terminal", "--password-stdin", "KGATE_PASSWORD")

	r = u.RunStdin(Password(t, "alice")+"\n", "login", "--password-stdin")
	WantCode(t, r, 3)
	wantStderr(t, r, "--username", "KGATE_USERNAME")
	if strings.Contains(r.Stderr+r.Stdout, "Password") || strings.Contains(r.Stderr+r.Stdout, "Username:") {
		t.Errorf("prompted:\n%s", r)
	}

	// KGATE_USERNAME and KGATE_PASSWORD are enough.
	u.Setenv("KGATE_USERNAME", "bob")
	u.Setenv("KGATE_PASSWORD", Password(t, "bob"))
	WantCode(t, u.Run("login"), 0)
	if got := whoami(t, u).User; got != "bob" {
		t.Errorf("user %q", got)
	}
}

// TestPromptOnTerminal runs kgate login on a pseudo-terminal (util-linux
// script): it asks for the username, then for the password without echo.
func TestPromptOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script (util-linux) is not installed")
	}
	u := NewUser(t)
	u.UseLDAP()
	cmd := exec.Command(script, "-q", "-e", "-c", "'"+strings.ReplaceAll(kgateBin, "'", `'\''`)+"' login", "/dev/null")
	cmd.Env = u.Env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := pr.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := strings.Contains(out.String(), s)
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no %q on the terminal; got %q", s, out.String())
	}
	password := Password(t, "erin")
	waitFor("Username: ")
	fmt.Fprint(stdin, "erin\n")
	waitFor("Password for erin: ")
	fmt.Fprint(stdin, password+"\n")
	waitFor("Logged in as erin")
	stdin.Close()
	err = cmd.Wait()
	pw.Close()
	if err != nil {
		t.Fatalf("kgate login on a terminal: %v\n%s", err, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(out.String(), password) {
		t.Errorf("the password was echoed:\n%q", out.String())
	}
	if got := whoami(t, u).User; got != "erin" {
		t.Errorf("user %q", got)
	}
}

// TestPasswordNeverWritten logs in every way there is, fails some, turns
// verbosity up, and then looks for the passwords in every file kgate could
// have written (home, config, cache and state dirs) and in all its output.
func TestPasswordNeverWritten(t *testing.T) {
	d := Directory(t)
	u := NewUser(t)
	u.UseLDAP()
	alice, bob, wrong := Password(t, "alice"), Password(t, "bob"), "Wr0ng-"+Password(t, "carol")
	var results []Result
	add := func(r Result) { results = append(results, r) }

	add(loginStdin(u, "alice", alice, "-v", "10"))
	add(loginStdin(u, "carol", wrong, "-v", "10"))
	add(loginStdin(u, "a*", alice))
	add(u.Run("whoami", "-o", "json"))
	add(u.Run("whoami", "-o", "yaml"))
	add(u.Run("whoami"))
	u.Setenv("KGATE_USERNAME", "bob")
	u.Setenv("KGATE_PASSWORD", bob)
	add(u.Run("login", "-v", "10"))
	add(u.Run("login", "--ldap-url", "ldap://"+closedPort(t)))
	add(u.Run("login", "--ldap-url", d.LDAPSURL, "--ldap-ca-file", foreignCA(t)))
	add(u.Run("whoami"))
	add(u.Run("logout"))
	add(u.Run("login"))

	secrets := []string{alice, bob, wrong}
	for _, r := range results {
		for _, s := range secrets {
			if strings.Contains(r.Stdout+r.Stderr, s) {
				t.Errorf("a password appears in kgate's output:\n%s", r)
			}
		}
	}
	files := 0
	err := filepath.WalkDir(u.Dir, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains a password", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Error("no files at all: the session was not written where this test looks")
	}
}
