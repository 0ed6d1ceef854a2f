package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rawRequest writes an HTTP/1.1 request as it is (header names and lines
// exactly as given) and reads the answer's status line and body.
func rawRequest(t *testing.T, addr, head string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	return resp, string(body)
}

func TestConnectionOptionsRefused(t *testing.T) {
	f := newFixture(t)
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	bob, alice := f.token(t, "bob"), f.token(t, "alice")
	pods := "GET /api/v1/namespaces/payments/pods HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + bob + "\r\n"
	exec := "POST /api/v1/namespaces/payments/pods/web-1/exec?command=sh HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + alice + "\r\nContent-Length: 0\r\n"
	wsExec := "GET /api/v1/namespaces/payments/pods/web-1/exec?command=sh HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + alice + "\r\n"
	for name, head := range map[string]string{
		"the issue's":          pods + "Connection: Impersonate-User, Impersonate-Group\r\n\r\n",
		"lower case":           pods + "connection: impersonate-user\r\n\r\n",
		"upper case":           pods + "CONNECTION: IMPERSONATE-GROUP\r\n\r\n",
		"second line":          pods + "Connection: keep-alive\r\nConnection: Impersonate-User\r\n\r\n",
		"after close":          pods + "Connection: close,Impersonate-User\r\n\r\n",
		"empty items":          pods + "Connection: , ,Impersonate-User,\r\n\r\n",
		"audit id":             pods + "Connection: Audit-ID\r\n\r\n",
		"authorization":        pods + "Connection: Authorization\r\n\r\n",
		"forwarded for":        pods + "Connection: X-Forwarded-For\r\n\r\n",
		"watch":                "GET /api/v1/namespaces/payments/pods?watch=true HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + bob + "\r\nConnection: Impersonate-User\r\n\r\n",
		"namespace list":       "GET /api/v1/namespaces HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + bob + "\r\nConnection: Impersonate-User\r\n\r\n",
		"spdy upgrade":         exec + "Connection: Upgrade, Impersonate-User, Impersonate-Group\r\nUpgrade: SPDY/3.1\r\n\r\n",
		"spdy two lines":       exec + "Connection: Upgrade\r\nConnection: impersonate-user\r\nUpgrade: SPDY/3.1\r\n\r\n",
		"websocket upgrade":    wsExec + "Connection: Upgrade,Impersonate-User\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		"no token, bad option": "GET /api/v1/namespaces/payments/pods HTTP/1.1\r\nHost: gw\r\nConnection: Impersonate-User\r\n\r\n",
		"login":                "POST /kgate/v1/login HTTP/1.1\r\nHost: gw\r\nConnection: Content-Type\r\nContent-Length: 2\r\n\r\n{}",
		"policy":               "GET /kgate/v1/policy HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + bob + "\r\nConnection: Authorization\r\n\r\n",
		"healthz":              "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: x-anything\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := f.up.count()
			resp, body := rawRequest(t, addr, head)
			var st metav1.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil || resp.StatusCode != 400 || st.Kind != "Status" ||
				st.Reason != metav1.StatusReasonBadRequest || !strings.Contains(st.Message, "only close, keep-alive and Upgrade are allowed") {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
			if f.up.count() != before {
				t.Error("the request reached the API server")
			}
		})
	}
	// What a client has a use for passes, impersonated.
	for _, c := range []string{"Connection: keep-alive\r\n", "Connection: close\r\n", "connection: Keep-Alive, CLOSE\r\nConnection: keep-alive\r\n"} {
		resp, body := rawRequest(t, addr, pods+c+"Impersonate-User: system:admin\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d %s", c, resp.StatusCode, body)
		}
		if r := f.up.last(t); r.Header.Get("Impersonate-User") != "bob" || !slices.Equal(r.Header.Values("Impersonate-Group"), []string{"team-payments"}) {
			t.Errorf("%q: forwarded %v", c, r.Header)
		}
	}
	resp, _ := rawRequest(t, addr, exec+"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
	if resp.StatusCode != 101 || f.up.last(t).Header.Get("Impersonate-User") != "alice" {
		t.Errorf("a plain upgrade: %d %v", resp.StatusCode, f.up.last(t).Header)
	}
}

// Beneath the Connection check: every forwarding path sets the
// impersonation on the outbound request, whatever the inbound one names as
// hop-by-hop, so that removing the check would not reopen the hole.
func TestImpersonationOnTheOutboundRequest(t *testing.T) {
	f := newFixture(t)
	fw := &forwarding{id: "0f1e2d3c-0000-4000-8000-00000000000a", user: "bob", groups: []string{"team-payments"}}
	serve := func(h http.Handler, fw *forwarding) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("Impersonate-User", "system:admin") // as if the client's were left
			r.Header.Set("Audit-ID", "client-chosen")
			if fw != nil {
				r = r.WithContext(withForwarding(r.Context(), fw))
			}
			h.ServeHTTP(&recorder{ResponseWriter: w, g: f.g, start: time.Now()}, r)
		}))
		t.Cleanup(s.Close)
		return s
	}
	hop := "Connection: Impersonate-User, Impersonate-Group, Audit-ID\r\n"
	check := func(t *testing.T, wantUser string) {
		t.Helper()
		r := f.up.last(t)
		if r.Header.Get("Impersonate-User") != wantUser || r.Header.Get("Audit-ID") != fw.id {
			t.Errorf("the API server got Impersonate-User %q, Audit-ID %q: %v", r.Header.Get("Impersonate-User"), r.Header.Get("Audit-ID"), r.Header)
		}
		if wantUser != "" && !slices.Equal(r.Header.Values("Impersonate-Group"), fw.groups) {
			t.Errorf("groups %v", r.Header.Values("Impersonate-Group"))
		}
	}
	t.Run("reverse proxy", func(t *testing.T) {
		s := serve(f.g.proxy, fw)
		if resp, body := rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "GET /api/v1/namespaces/payments/pods HTTP/1.1\r\nHost: x\r\n"+hop+"\r\n"); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		check(t, "bob")
	})
	t.Run("watch", func(t *testing.T) {
		s := serve(f.g.proxy, fw)
		rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "GET /api/v1/namespaces/payments/pods?watch=true HTTP/1.1\r\nHost: x\r\n"+hop+"\r\n")
		check(t, "bob")
	})
	for _, up := range []string{"SPDY/3.1", "websocket"} {
		t.Run("upgrade "+up, func(t *testing.T) {
			s := serve(f.g.upgrades, fw)
			resp, _ := rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "POST /api/v1/namespaces/payments/pods/web-1/exec HTTP/1.1\r\nHost: x\r\n"+
				"Connection: Upgrade, Impersonate-User, Impersonate-Group\r\nUpgrade: "+up+"\r\nContent-Length: 0\r\n\r\n")
			if resp.StatusCode != 101 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			check(t, "bob")
			if c := f.up.last(t).Header.Values("Connection"); !slices.Equal(c, []string{"Upgrade"}) {
				t.Errorf("Connection %v reached the API server", c)
			}
		})
	}
	t.Run("namespace lister", func(t *testing.T) {
		own := &forwarding{id: fw.id, own: true}
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("Impersonate-User", "system:admin")
			ctx := context.WithValue(r.Context(), keepKey{}, func(string) bool { return true })
			f.g.nsProxy.ServeHTTP(w, r.WithContext(withForwarding(ctx, own)))
		}))
		defer s.Close()
		rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n"+hop+"\r\n")
		// Its own identity, by design, and the request's audit ID.
		check(t, "")
	})
	t.Run("no identity", func(t *testing.T) {
		for _, h := range []http.Handler{f.g.proxy, f.g.nsProxy} {
			before := f.up.count()
			s := serve(h, nil)
			resp, body := rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.StatusCode != 502 || !strings.Contains(body, "without an identity") || f.up.count() != before {
				t.Errorf("%d %s, %d requests upstream", resp.StatusCode, body, f.up.count()-before)
			}
		}
		s := serve(f.g.upgrades, nil)
		before := f.up.count()
		resp, _ := rawRequest(t, strings.TrimPrefix(s.URL, "http://"), "POST /api/v1/namespaces/payments/pods/web-1/exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n")
		if resp.StatusCode == 101 || f.up.count() != before {
			t.Errorf("an upgrade without an identity: %d", resp.StatusCode)
		}
	})
}

// h2Server serves the fixture's gateway over TLS with HTTP/2.
func h2Server(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(f.g.Handler())
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestHTTP2(t *testing.T) {
	f := newFixture(t)
	s := h2Server(t, f)
	c := s.Client()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/namespaces/payments/pods?watch=true", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, "bob"))
	req.Header["impersonate-user"] = []string{"system:admin"}
	req.Header["IMPERSONATE-GROUP"] = []string{"system:masters"}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
	}
	if r := f.up.last(t); r.Header.Get("Impersonate-User") != "bob" || !slices.Equal(r.Header.Values("Impersonate-Group"), []string{"team-payments"}) {
		t.Errorf("over HTTP/2 the API server got %v", r.Header)
	}

	// Go's HTTP/2 client does not send Connection; a hostile one does, in
	// raw frames. The server refuses a connection-specific header in
	// HTTP/2; nothing reaches the API server either way.
	for _, conn := range []string{"impersonate-user", "keep-alive, impersonate-group"} {
		before := f.up.count()
		status, reset := rawH2(t, s, [][2]string{
			{":method", "GET"}, {":scheme", "https"}, {":authority", "gw"}, {":path", "/api/v1/namespaces/payments/pods"},
			{"authorization", "Bearer " + f.token(t, "bob")}, {"connection", conn},
		})
		if !reset && status != "400" {
			t.Errorf("connection %q over HTTP/2: status %s", conn, status)
		}
		if f.up.count() != before {
			t.Errorf("connection %q over HTTP/2 reached the API server", conn)
		}
	}
	// The handler's own check holds for an HTTP/2 request too (a server
	// that passed the header on).
	r := httptest.NewRequest("GET", "/api/v1/namespaces/payments/pods", nil)
	r.ProtoMajor, r.Proto = 2, "HTTP/2.0"
	r.Header.Set("Authorization", "Bearer "+f.token(t, "bob"))
	r.Header.Set("Connection", "Impersonate-User")
	w := httptest.NewRecorder()
	f.g.Handler().ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("HTTP/2 request with Connection: %d", w.Code)
	}
}

// rawH2 sends one request's header fields as they are and returns the
// answer's :status, or reset if the server reset the stream or the
// connection.
func rawH2(t *testing.T, s *httptest.Server, fields [][2]string) (status string, reset bool) {
	t.Helper()
	cfg := s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil)
	for {
		frame, err := fr.ReadFrame()
		if err != nil {
			return "", true
		}
		switch fr := frame.(type) {
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			return "", true
		case *http2.HeadersFrame:
			hf, err := dec.DecodeFull(fr.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hf {
				if h.Name == ":status" {
					return h.Value, false
				}
			}
			return "", false
		}
	}
}
