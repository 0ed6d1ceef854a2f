package webconsole

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

// The console mounted on the real gateway, with a fake API server: the
// browser's requests take the gateway's own path (decision, audit line,
// impersonation, the upgrade proxy).

type memAudit struct {
	mu sync.Mutex
	e  []audit.Entry
}

func (m *memAudit) Log(e audit.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.e = append(m.e, e)
	return nil
}
func (m *memAudit) Close() error { return nil }
func (m *memAudit) all() []audit.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Entry(nil), m.e...)
}

type auth struct{}

func (auth) Authenticate(_ context.Context, user, pw string) (*ldapauth.Identity, error) {
	groups := map[string][]string{"alice": {"payments-leads"}, "bob": {"team-payments"}}[user]
	if pw != "pw" || groups == nil {
		return nil, errs.AuthErrorf("invalid username or password")
	}
	return &ldapauth.Identity{Username: user, DN: "uid=" + user, Groups: groups, Server: "ldap://test"}, nil
}

// apiServer records requests; an exec upgrade gets a 101, a line of
// output and the end of a command that exits 3.
type apiServer struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.reqs = append(a.reqs, r.Clone(context.Background()))
	a.mu.Unlock()
	if r.Header.Get("Upgrade") != "" {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		out := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n")
		out = append(out, wsFrame(append([]byte{1}, "hi\r\n"...), 2, true)...)
		out = append(out, wsFrame(append([]byte{3}, exit3...), 2, true)...)
		_, _ = conn.Write(out)
		_, _ = rw.Reader.ReadByte() // until the client goes
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"kind":"PodList","items":[],"metadata":{"resourceVersion":"1"}}`)
}

func (a *apiServer) last(t *testing.T) *http.Request {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		t.Fatal("nothing reached the API server")
	}
	return a.reqs[len(a.reqs)-1]
}

func TestWithTheRealGateway(t *testing.T) {
	api := &apiServer{}
	us := httptest.NewServer(api)
	t.Cleanup(us.Close)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gateway.NewKey(priv)
	toks, err := gateway.NewTokens("https://gw.example", "", time.Hour, &k, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("policy.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	aud := &memAudit{}
	gw, err := gateway.New(gateway.Options{
		Upstream: &rest.Config{Host: us.URL}, Tokens: toks, Auth: auth{}, Audit: aud,
		Policy: func(context.Context) (*policycache.Loaded, error) {
			return &policycache.Loaded{Policy: pol, Raw: raw, Source: "policy.yaml", SHA256: "x"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.LoadPolicy(context.Background()); err != nil {
		t.Fatal(err)
	}
	gw.SetConsole(New(Options{Gateway: gw}))
	s := httptest.NewTLSServer(gw.Handler())
	t.Cleanup(s.Close)

	// "/" is the console for a browser, the API server's path list for a
	// client with a token.
	if r := do(t, s, "GET", "/", "", nil, nil); !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("/ without a token: %v", r.Header)
	}
	ck, _ := login(t, s, "alice")
	if l := aud.all(); len(l) != 1 || l[0].Verb != "login" || l[0].User != "alice" || l[0].Decision != audit.Allow {
		t.Errorf("the gateway's login audit: %+v", l)
	}
	tok := ck.Value
	if r := do(t, s, "GET", "/", "", map[string]string{"Authorization": "Bearer " + tok}, nil); r.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("/ with a token went to the console")
	}

	// A read: impersonated, no cookie upstream, the gateway's decision id as
	// the Audit-ID.
	r := do(t, s, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods", "", nil, ck)
	if r.StatusCode != 200 {
		t.Fatalf("list: %d %s", r.StatusCode, readAll(r))
	}
	up := api.last(t)
	l := aud.all()
	dec := l[len(l)-1]
	if up.URL.Path != "/api/v1/namespaces/payments/pods" || up.Header.Get("Impersonate-User") != "alice" || up.Header.Get("Cookie") != "" ||
		up.Header.Get(audit.HeaderID) != dec.ID || dec.Verb != "list" || dec.Decision != audit.Allow {
		t.Errorf("upstream %s %v; decision %+v", up.URL, up.Header, dec)
	}
	if strings.Contains(fmt.Sprint(up.Header), tok) {
		t.Errorf("the token reached the API server: %v", up.Header)
	}

	// A terminal: the gateway decides and proxies the upgrade; the console
	// writes the session line under the decision's id.
	u, _ := url.Parse(s.URL)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /kgate/console/k8s/api/v1/namespaces/payments/pods/web-1/exec?container=app&command=sh&stdin=true&stdout=true&tty=true HTTP/1.1\r\n"+
		"Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nOrigin: %s\r\nCookie: %s=%s\r\n\r\n", u.Host, s.URL, ck.Name, ck.Value)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, resp.Body)
	conn.Close()
	var session, decision *audit.Entry
	deadline := time.Now().Add(3 * time.Second)
	for session == nil && time.Now().Before(deadline) {
		for _, e := range aud.all() {
			if e.Client == "web" {
				session = &e
			} else if e.Verb == policy.VerbExec {
				decision = &e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if session == nil || decision == nil {
		t.Fatalf("audit: %+v", aud.all())
	}
	if session.ID != decision.ID || session.ExitCode == nil || *session.ExitCode != 3 || session.Container != "app" || decision.Decision != audit.Allow {
		t.Errorf("session %+v\ndecision %+v", session, decision)
	}
	if got := api.last(t).Header.Get(audit.HeaderID); got != decision.ID {
		t.Errorf("the API server's Audit-ID %q, the decision's %q", got, decision.ID)
	}

	// A guest's terminal: the gateway's 403 with the policy's reason.
	bck, _ := login(t, s, "bob")
	r = do(t, s, "GET", "/kgate/console/k8s/api/v1/namespaces/payments/pods/web-1/exec?command=sh&stdin=true&stdout=true&tty=true", "",
		map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Origin": s.URL, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, bck)
	if body := readAll(r); r.StatusCode != 403 || !strings.Contains(body, `needs admin`) {
		t.Errorf("a guest's exec: %d %s", r.StatusCode, body)
	}
}
