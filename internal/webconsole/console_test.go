package webconsole

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policy"
)

// fakeGateway is the gateway's side, with real tokens and the tests'
// policy; ServeAPI is the test's to choose.
type fakeGateway struct {
	t      *testing.T
	tokens *gateway.Tokens
	pol    atomic.Pointer[policy.Policy]
	api    func(w http.ResponseWriter, r *http.Request)

	mu      sync.Mutex
	entries []audit.Entry
	logins  int
}

func newFake(t *testing.T, lifetime time.Duration) *fakeGateway {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := gateway.NewKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := gateway.NewTokens("https://gw.example:8443", "", lifetime, &k, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("policy.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGateway{t: t, tokens: toks}
	f.pol.Store(p)
	return f
}

func (f *fakeGateway) ServeAPI(w http.ResponseWriter, r *http.Request) { f.api(w, r) }
func (f *fakeGateway) ServeLogin(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.logins++
	f.mu.Unlock()
	var req gateway.LoginRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	groups := map[string][]string{"alice": {"payments-leads"}, "bob": {"team-payments"}}[req.Username]
	switch {
	case req.Password == "down":
		writeError(w, 503, "ServiceUnavailable", "the gateway cannot reach the LDAP directory; try again later")
	case req.Password == "many":
		w.Header().Set("Retry-After", "42")
		writeError(w, 429, "TooManyRequests", "too many failed logins")
	case req.Password != "pw" || groups == nil:
		writeError(w, 401, "Unauthorized", "invalid username or password")
	default:
		tok, exp, _ := f.tokens.Issue(req.Username, "uid="+req.Username, groups)
		writeJSON(w, 200, gateway.LoginResponse{Token: tok, User: req.Username, Groups: groups, Expires: exp})
	}
}
func (f *fakeGateway) VerifyToken(tok string) (*gateway.Claims, error) { return f.tokens.Verify(tok) }
func (f *fakeGateway) IdentityOf(c *gateway.Claims) policy.Identity {
	return policy.Identity{User: c.Subject, Groups: c.Groups}
}
func (f *fakeGateway) CurrentPolicy() *policy.Policy { return f.pol.Load() }
func (f *fakeGateway) PolicyRequest(r *http.Request) (policy.Request, bool, error) {
	// Enough of the gateway's parser for the paths these tests use.
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	req := policy.Request{Verb: "get", Resource: "pods"}
	if len(parts) >= 4 && parts[2] == "namespaces" {
		req.Namespace = parts[3]
	}
	if len(parts) >= 6 {
		req.Name = parts[5]
	}
	streaming := r.URL.Query().Get("watch") == "1" || r.URL.Query().Get("follow") == "true"
	if len(parts) >= 7 {
		req.Subresource = parts[6]
		if parts[6] == "exec" {
			req.Verb, streaming = policy.VerbExec, true
		}
		if parts[6] == "log" {
			req.Verb = policy.VerbLogs
		}
	}
	return req, streaming, nil
}
func (f *fakeGateway) Issuer() string { return f.tokens.Issuer }
func (f *fakeGateway) AuditLog(e audit.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	return nil
}

// server is the console on a TLS test server.
func server(t *testing.T, f *fakeGateway, recheck time.Duration) *httptest.Server {
	t.Helper()
	c := New(Options{Gateway: f, Recheck: recheck})
	s := httptest.NewTLSServer(c)
	t.Cleanup(s.Close)
	return s
}

func do(t *testing.T, s *httptest.Server, method, path, body string, hdr map[string]string, ck *http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if ck != nil {
		req.AddCookie(ck)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func login(t *testing.T, s *httptest.Server, user string) (*http.Cookie, SessionInfo) {
	t.Helper()
	resp := do(t, s, "POST", "/kgate/console/api/login", fmt.Sprintf(`{"username":%q,"password":"pw"}`, user),
		map[string]string{"Origin": s.URL, "Content-Type": "application/json"}, nil)
	body := readAll(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var si SessionInfo
	_ = json.Unmarshal([]byte(body), &si)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			if strings.Contains(body, c.Value) {
				t.Errorf("the login answer holds the token")
			}
			return c, si
		}
	}
	t.Fatalf("no cookie: %v", resp.Header)
	return nil, si
}

func TestLoginCookieAndErrors(t *testing.T) {
	f := newFake(t, time.Hour)
	s := server(t, f, 0)
	ck, si := login(t, s, "alice")
	if si.User != "alice" || si.CSRF == "" || len(si.Projects) != 1 || si.Projects[0].Project != "payments" || si.Projects[0].Role != policy.RoleAdmin {
		t.Errorf("session info: %+v", si)
	}
	resp := do(t, s, "POST", "/kgate/console/api/login", `{"username":"alice","password":"pw"}`,
		map[string]string{"Origin": s.URL, "Content-Type": "application/json"}, nil)
	raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/kgate/console/", "Max-Age="} {
		if !strings.Contains(raw, attr) {
			t.Errorf("cookie without %s: %s", attr, raw)
		}
	}
	_ = ck

	cases := []struct {
		name, body string
		hdr        map[string]string
		code       int
		want       string
	}{
		{"wrong password", `{"username":"alice","password":"x"}`, nil, 401, "invalid username or password"},
		{"directory down", `{"username":"alice","password":"down"}`, nil, 503, "LDAP directory"},
		{"rate-limited", `{"username":"alice","password":"many"}`, nil, 429, "too many"},
		{"another origin", `{}`, map[string]string{"Origin": "https://evil.example"}, 403, "gateway's own page"},
		{"another port", `{}`, map[string]string{"Origin": strings.Replace(s.URL, ":", ":1", 2)}, 403, "gateway's own page"},
		{"no origin", `{}`, map[string]string{"Origin": ""}, 403, "gateway's own page"},
		{"a form", `username=a`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "JSON"},
		{"not JSON", `{`, nil, 400, "not valid JSON"},
		{"too large", `{"username":"` + strings.Repeat("a", maxLoginBody) + `"}`, nil, 413, "too large"},
	}
	before := f.logins
	for _, tc := range cases {
		hdr := map[string]string{"Origin": s.URL, "Content-Type": "application/json"}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		resp := do(t, s, "POST", "/kgate/console/api/login", tc.body, hdr, nil)
		if body := readAll(resp); resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
		if tc.code == 429 && resp.Header.Get("Retry-After") != "42" {
			t.Errorf("Retry-After not passed on: %v", resp.Header)
		}
	}
	// Refused requests never reach the directory.
	if n := f.logins - before; n != 3 {
		t.Errorf("%d logins reached the gateway, want 3", n)
	}
	if r := do(t, s, "GET", "/kgate/console/api/login", "", nil, nil); r.StatusCode != 405 {
		t.Errorf("GET login: %d", r.StatusCode)
	}
}

func TestSessionLogoutCSRF(t *testing.T) {
	f := newFake(t, time.Hour)
	s := server(t, f, 0)
	ck, si := login(t, s, "bob")
	if r := do(t, s, "GET", "/kgate/console/api/session", "", nil, ck); r.StatusCode != 200 {
		t.Fatalf("session: %d", r.StatusCode)
	}
	if r := do(t, s, "GET", "/kgate/console/api/session", "", nil, nil); r.StatusCode != 401 {
		t.Errorf("session without a cookie: %d", r.StatusCode)
	}
	// The guest's access: no exec, with the policy's reason.
	r := do(t, s, "GET", "/kgate/console/api/access?namespace=payments&pod=web-1", "", nil, ck)
	var acc Access
	_ = json.Unmarshal([]byte(readAll(r)), &acc)
	if acc.Role != policy.RoleGuest || acc.Exec.Allowed || !strings.Contains(acc.Exec.Reason, "needs admin") {
		t.Errorf("access: %+v", acc)
	}
	json := map[string]string{"Origin": s.URL, "Content-Type": "application/json"}
	if r := do(t, s, "POST", "/kgate/console/api/logout", "{}", json, ck); r.StatusCode != 403 {
		t.Errorf("logout without the CSRF value: %d", r.StatusCode)
	}
	withCSRF := map[string]string{"Origin": s.URL, "Content-Type": "application/json", csrfHeader: si.CSRF}
	if r := do(t, s, "POST", "/kgate/console/api/logout", "{}", map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json", csrfHeader: si.CSRF}, ck); r.StatusCode != 403 {
		t.Errorf("logout from another origin: %d", r.StatusCode)
	}
	r = do(t, s, "POST", "/kgate/console/api/logout", "{}", withCSRF, ck)
	if r.StatusCode != 204 || !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ""), "Max-Age=0") {
		t.Errorf("logout: %d %v", r.StatusCode, r.Header)
	}
}

func TestK8sProxy(t *testing.T) {
	f := newFake(t, time.Hour)
	var got *http.Request
	f.api = func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.WriteHeader(200)
	}
	s := server(t, f, 0)
	ck, _ := login(t, s, "bob")
	r := do(t, s, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods?limit=5", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.URL}, ck)
	if r.StatusCode != 200 || got == nil {
		t.Fatalf("list: %d", r.StatusCode)
	}
	if got.URL.Path != "/api/v1/namespaces/payments/pods" || got.URL.RawQuery != "limit=5" || got.RequestURI != "/api/v1/namespaces/payments/pods?limit=5" {
		t.Errorf("forwarded %s %q", got.URL, got.RequestURI)
	}
	if got.Header.Get("Authorization") != "Bearer "+ck.Value || got.Header.Get("Cookie") != "" || got.Header.Get("Origin") != "" {
		t.Errorf("forwarded headers: %v", got.Header)
	}
	if id, ok := audit.IDFrom(got.Context()); !ok || id == "" {
		t.Errorf("no audit id in the context")
	}
	got = nil
	for _, tc := range []struct {
		method string
		hdr    map[string]string
		ck     *http.Cookie
		code   int
	}{
		{"DELETE", nil, ck, 405},
		{"POST", map[string]string{"Origin": s.URL}, ck, 405},
		{"GET", nil, nil, 401},
		{"GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, ck, 403},
		{"GET", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "https://evil.example"}, ck, 403},
		{"GET", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, ck, 403},
		// Same origin, but not an exec: the console opens no other upgrade.
		{"GET", map[string]string{"Upgrade": "SPDY/3.1", "Connection": "Upgrade", "Origin": s.URL}, ck, 403},
	} {
		r := do(t, s, tc.method, "/kgate/console/k8s/api/v1/namespaces/payments/pods/web-1", "", tc.hdr, tc.ck)
		if r.StatusCode != tc.code || got != nil {
			t.Errorf("%s %v: %d (forwarded: %v)", tc.method, tc.hdr, r.StatusCode, got != nil)
		}
	}
	// An expired token: 401, and the cookie is dropped.
	f2 := newFake(t, time.Second)
	f2.api = f.api
	s2 := server(t, f2, 0)
	ck2, _ := login(t, s2, "bob")
	time.Sleep(1100 * time.Millisecond)
	r = do(t, s2, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods", "", nil, ck2)
	if r.StatusCode != 401 || !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ""), "Max-Age=0") {
		t.Errorf("expired: %d %v", r.StatusCode, r.Header)
	}
}

// A followed log ends when the token expires, and when the policy stops
// allowing it.
func TestStreamsEnd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		revoke   bool
	}{{"token expiry", 2 * time.Second, false}, {"policy change", time.Hour, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.lifetime)
			f.api = func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
			s := server(t, f, 100*time.Millisecond)
			ck, _ := login(t, s, "bob")
			if tc.revoke {
				go func() {
					time.Sleep(500 * time.Millisecond)
					p, _ := policy.Parse("p.yaml", []byte("version: 1\nprojects:\n  other:\n    namespaces: [other]\n    guests: {users: [bob]}\n"))
					f.pol.Store(p)
				}()
			}
			start := time.Now()
			r := do(t, s, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods/web-1/log?follow=true", "", nil, ck)
			_, _ = io.Copy(io.Discard, r.Body)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the stream lasted %s", d)
			}
		})
	}
}

// wsFrame is a server's unmasked binary frame.
func wsFrame(payload []byte, opcode byte, fin bool) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch n := len(payload); {
	case n < 126:
		h = []byte{b0, byte(n)}
	case n < 1<<16:
		h = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = make([]byte, 10)
		h[0], h[1] = b0, 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	return append(h, payload...)
}

const exit3 = `{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`

func TestFrameWatcher(t *testing.T) {
	upgrade := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"
	big := bytes.Repeat([]byte("x"), 70000)
	stream := []byte(upgrade)
	stream = append(stream, wsFrame(append([]byte{1}, "hello"...), 2, true)...)
	stream = append(stream, wsFrame(append([]byte{1}, big...), 2, true)...)
	stream = append(stream, wsFrame([]byte("ping"), 9, true)...)
	stream = append(stream, wsFrame(append([]byte{3}, exit3[:20]...), 2, false)...)
	stream = append(stream, wsFrame([]byte(exit3[20:]), 0, true)...)
	for _, chunk := range []int{1, 3, 7, 1000, len(stream)} {
		var f frameWatcher
		for i := 0; i < len(stream); i += chunk {
			f.feed(stream[min(i, len(stream)):min(i+chunk, len(stream))])
		}
		if f.status != 101 || f.exit == nil || *f.exit != 3 {
			t.Errorf("chunks of %d: status %d exit %v", chunk, f.status, f.exit)
		}
	}
	// base64.channel.k8s.io: text frames, an ASCII channel, base64 data.
	var f frameWatcher
	f.feed([]byte(upgrade))
	f.feed(wsFrame([]byte("3"+base64.StdEncoding.EncodeToString([]byte(`{"status":"Success"}`))), 1, true))
	if f.exit == nil || *f.exit != 0 {
		t.Errorf("base64: %v", f.exit)
	}
	// A refused upgrade: no frames are read.
	var g frameWatcher
	g.feed([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"))
	if g.status != 404 || g.exit != nil {
		t.Errorf("404: %d %v", g.status, g.exit)
	}
	// An error without a code.
	var e frameWatcher
	e.feed([]byte(upgrade))
	e.feed(wsFrame(append([]byte{3}, `{"status":"Failure","message":"container not found"}`...), 2, true))
	if e.exit != nil || e.message != "container not found" {
		t.Errorf("error: %v %q", e.exit, e.message)
	}
}

// A terminal session through the console: one audit line with the exit
// code, the container, the command, start and end, client "web", under the
// id the gateway decided with.
func TestTerminalSessionAudit(t *testing.T) {
	f := newFake(t, time.Hour)
	var decidedID string
	f.api = func(w http.ResponseWriter, r *http.Request) {
		decidedID, _ = audit.IDFrom(r.Context())
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_ = rw
		out := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		out = append(out, wsFrame(append([]byte{1}, "$ "...), 2, true)...)
		out = append(out, wsFrame(append([]byte{3}, exit3...), 2, true)...)
		_, _ = conn.Write(out[:10])
		_, _ = conn.Write(out[10:])
	}
	s := server(t, f, 0)
	ck, _ := login(t, s, "alice")
	resp := do(t, s, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods/web-1/exec?container=app&command=sh&stdin=true&stdout=true&tty=true", "",
		map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Origin": s.URL, "Sec-WebSocket-Key": "x", "Sec-WebSocket-Version": "13"}, ck)
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	deadline := time.Now().Add(2 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.entries)
		f.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.entries) != 1 {
		t.Fatalf("audit lines: %+v", f.entries)
	}
	e := f.entries[0]
	if e.ID != decidedID || e.User != "alice" || e.Client != "web" || e.Name != "web-1" || e.Namespace != "payments" || e.Container != "app" ||
		fmt.Sprint(e.Command) != "[sh]" || e.ExitCode == nil || *e.ExitCode != 3 || e.Start == nil || e.End == nil || e.Project != "payments" ||
		!strings.Contains(e.Reason, "exit code 3") {
		t.Errorf("session line: %+v", e)
	}
}

func TestIndexAndAssets(t *testing.T) {
	f := newFake(t, time.Hour)
	s := server(t, f, 0)
	r := do(t, s, "GET", "/", "", nil, nil)
	body := readAll(r)
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self';") || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", r.Header)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "onload=") {
		t.Errorf("an inline script in the page: %s", body)
	}
	_, built := indexPage()
	if built != (r.StatusCode == 200) || (!built && !strings.Contains(body, "make build")) {
		t.Errorf("built %v: %d %s", built, r.StatusCode, body)
	}
	if r := do(t, s, "GET", "/kgate/console/assets/", "", nil, nil); r.StatusCode != 404 {
		t.Errorf("a directory listing: %d", r.StatusCode)
	}
	if r := do(t, s, "GET", "/kgate/console/nope", "", nil, nil); r.StatusCode != 404 {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
	if !built {
		t.Log("the front end is not built (make web): bundle size not checked")
		return
	}
	// The embedded bundle, compressed, stays small.
	total := 0
	_ = fs.WalkDir(distFS(), "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(distFS(), p)
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		total += buf.Len()
		if r := do(t, s, "GET", "/kgate/console/"+p, "", map[string]string{"Accept-Encoding": "identity"}, nil); r.StatusCode != 200 ||
			!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || readAll(r) != string(b) {
			t.Errorf("%s: %d %v", p, r.StatusCode, r.Header)
		}
		if strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".css") {
			r := do(t, s, "GET", "/kgate/console/"+p, "", map[string]string{"Accept-Encoding": "br, gzip"}, nil)
			zr, err := gzip.NewReader(r.Body)
			if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("%s gzipped: %v %v", p, err, r.Header)
			}
			if got, _ := io.ReadAll(zr); string(got) != string(b) {
				t.Errorf("%s: the gzipped body differs", p)
			}
		}
		return nil
	})
	t.Logf("embedded bundle: %d KiB gzip", total/1024)
	if total > 600<<10 {
		t.Errorf("the bundle is %d KiB compressed, want < 600", total/1024)
	}
}
