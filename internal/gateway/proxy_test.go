package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

// testPolicy is the tests' shared policy, testdata/policy.yaml.
var testPolicy = func() string {
	b, err := os.ReadFile("../../testdata/policy.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// memAudit keeps audit entries.
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
func (m *memAudit) last() audit.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.e) == 0 {
		return audit.Entry{}
	}
	return m.e[len(m.e)-1]
}

// fakeAuth accepts "<user>-pw" and gives the groups in its map.
type fakeAuth struct {
	groups map[string][]string
	calls  int
	down   bool
}

func (f *fakeAuth) Authenticate(_ context.Context, user, pw string) (*ldapauth.Identity, error) {
	f.calls++
	if f.down {
		return nil, errs.UnavailableErrorf("ldap://ldap.test: connection refused")
	}
	// The directory matches names case-insensitively and returns its own spelling.
	user = strings.ToLower(user)
	g, ok := f.groups[user]
	if !ok || pw != user+"-pw" {
		return nil, errs.AuthErrorf("invalid username or password")
	}
	return &ldapauth.Identity{Username: user, DN: "uid=" + user, Groups: g, Server: "ldaps://ldap.test"}, nil
}

// upstream is a fake API server that records what reaches it.
type upstream struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (u *upstream) last(t *testing.T) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("no request reached the API server")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

var clusterNamespaces = []string{"default", "kube-system", "payments", "payments-staging", "search-dev", "search-prod", "secret-project"}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.reqs = append(u.reqs, r.Clone(context.Background()))
	u.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/configmaps") {
		// As the API server does, read the whole body before answering
		// (the body limits' tests create ConfigMaps).
		_, _ = io.Copy(io.Discard, r.Body)
	}
	if r.Header.Get("Upgrade") != "" {
		// Switch to an echo protocol, as exec's streams would.
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n\r\n", r.Header.Get("Upgrade"))
		rw.Flush()
		buf := make([]byte, 64)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				_, _ = conn.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}
	if r.URL.Path == "/api/v1/watch/namespaces" || r.URL.Path == "/api/v1/namespaces" && r.URL.Query().Get("watch") == "true" {
		serveNamespaceWatch(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/apis/authorization.k8s.io/v1/selfsubject") {
		serveReviewUpstream(w, r)
		return
	}
	if r.URL.Path == "/api/v1/namespaces" {
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			var rows []map[string]any
			for _, n := range clusterNamespaces {
				rows = append(rows, map[string]any{"cells": []any{n, "Active", "1d"}, "object": map[string]any{"kind": "PartialObjectMetadata", "metadata": map[string]any{"name": n}}})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{"resourceVersion": "7", "remainingItemCount": 3}, "rows": rows})
			return
		}
		var items []map[string]any
		for _, n := range clusterNamespaces {
			items = append(items, map[string]any{"metadata": map[string]any{"name": n}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "NamespaceList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "7"}, "items": items})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"kind":"Echo","path":%q}`, r.URL.Path)
}

type fixture struct {
	g     *Gateway
	srv   *httptest.Server
	up    *upstream
	audit *memAudit
	auth  *fakeAuth
	tok   *Tokens
	now   *time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	up := &upstream{}
	us := httptest.NewServer(up)
	t.Cleanup(us.Close)
	pol, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	k := edKey(t)
	tok, now := newTokens(t, &k)
	f := &fixture{up: up, audit: &memAudit{}, tok: tok, now: now, auth: &fakeAuth{groups: map[string][]string{
		"alice": {"payments-leads"}, "bob": {"team-payments", "system:masters"}, "olga": {"Ops"}, "dave": {"team-search"}, "erin": nil,
	}}}
	f.g, err = New(Options{
		Upstream: &rest.Config{Host: us.URL}, Tokens: tok, Auth: f.auth,
		Policy: func(context.Context) (*policycache.Loaded, error) {
			return &policycache.Loaded{Policy: pol, Raw: []byte(testPolicy), Source: "policy.yaml", SHA256: "x"}, nil
		},
		Audit: f.audit, LoginFailureLimit: 3, LoginFailureWindow: time.Minute,
		Now: func() time.Time { return *now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.g.LoadPolicy(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.g.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) token(t *testing.T, user string) string {
	t.Helper()
	s, _, err := f.tok.Issue(user, "", f.auth.groups[user])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) do(t *testing.T, method, path, token string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDecisions(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		user, method, path string
		code               int
		verb, reason       string // the audit entry's
	}{
		{"bob", "GET", "/api/v1/namespaces/payments/pods", 200, "list", `user "bob" is a guest in project "payments"`},
		{"bob", "GET", "/api/v1/namespaces/payments/pods?watch=true", 200, "watch", "guest"},
		{"bob", "GET", "/api/v1/namespaces/payments/pods/web-1/log?follow=true", 200, "logs", "guest"},
		{"bob", "GET", "/api/v1/namespaces/payments/secrets", 403, "list", "list secrets needs admin. Project admins: group payments-leads"},
		{"bob", "POST", "/api/v1/namespaces/payments/pods/web-1/exec?command=sh", 403, "exec", "exec pods/web-1 (exec) needs admin"},
		{"bob", "GET", "/api/v1/namespaces/payments/pods/web-1/exec?command=sh", 403, "exec", "needs admin"},
		{"bob", "POST", "/api/v1/namespaces/payments/pods/web-1/portforward", 403, "exec", "needs admin"},
		{"bob", "POST", "/api/v1/namespaces/payments/pods/web-1/attach", 403, "exec", "needs admin"},
		{"bob", "PUT", "/apis/apps/v1/namespaces/payments/deployments/web/scale", 403, "scale", "scale deployments/web (scale) needs admin"},
		{"bob", "GET", "/apis/apps/v1/namespaces/payments/deployments/web/scale", 200, "get", "guest"},
		{"bob", "DELETE", "/api/v1/namespaces/payments/pods/web-1", 403, "delete", "delete pods/web-1 needs admin"},
		{"bob", "DELETE", "/api/v1/namespaces/payments/pods", 403, "deletecollection", "needs admin"},
		{"bob", "GET", "/api/v1/pods", 403, "list", "reserved to super admins"},
		{"bob", "GET", "/api/v1/namespaces/kube-system/pods", 403, "list", `namespace "kube-system" belongs to no project`},
		{"bob", "GET", "/api/v1/nodes", 403, "list", "reserved to super admins"},
		{"bob", "GET", "/api/v1/namespaces/payments", 200, "get", "guest"},
		{"bob", "DELETE", "/api/v1/namespaces/payments", 403, "delete", "reserved to super admins"},
		{"bob", "GET", "/api/v1/watch/namespaces", 200, "watch", "may list namespaces"},
		{"bob", "GET", "/logs/", 403, "get", "reserved to super admins"},
		{"bob", "GET", "/api", 200, "get", "discovery"},
		{"bob", "GET", "/apis/apps/v1", 200, "get", "discovery"},
		{"bob", "GET", "/version", 200, "get", "discovery"},
		{"bob", "GET", "/openapi/v3/apis/apps/v1", 200, "get", "discovery"},
		{"bob", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", 200, "create", "own access"},
		{"bob", "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", 403, "create", "reserved to super admins"},
		{"alice", "POST", "/api/v1/namespaces/payments/pods/web-1/exec?command=true", 200, "exec", `user "alice" is an admin`},
		{"alice", "PATCH", "/apis/apps/v1/namespaces/payments-staging/deployments/web/scale", 200, "scale", "admin"},
		{"alice", "DELETE", "/api/v1/namespaces/payments/pods/web-1", 200, "delete", "admin"},
		{"alice", "GET", "/api/v1/namespaces/search-prod/pods", 403, "list", `user "alice" has no role in project "search"`},
		{"dave", "GET", "/api/v1/namespaces/search-anything/secrets", 200, "list", "admin"},
		{"olga", "GET", "/api/v1/pods", 200, "list", "super admin"},
		{"olga", "GET", "/api/v1/watch/namespaces", 200, "watch", "may list namespaces"},
		{"olga", "GET", "/logs/", 200, "get", "super admin"},
		{"erin", "GET", "/api/v1/namespaces/payments/pods", 403, "list", `user "erin" has no role`},
	} {
		t.Run(tc.user+" "+tc.method+" "+tc.path, func(t *testing.T) {
			before := f.up.count()
			resp, body := f.do(t, tc.method, tc.path, f.token(t, tc.user), nil)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			e := f.audit.last()
			if e.User != tc.user || e.Verb != tc.verb || !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("audit entry %+v, want verb %q and reason containing %q", e, tc.verb, tc.reason)
			}
			if tc.code == 403 {
				if f.up.count() != before {
					t.Error("a denied request reached the API server")
				}
				var st metav1.Status
				if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || st.Reason != metav1.StatusReasonForbidden ||
					st.Code != 403 || st.Message != e.Reason || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("denial body %s (%v)", body, err)
				}
				if e.Decision != audit.Deny {
					t.Errorf("decision %q", e.Decision)
				}
				return
			}
			r := f.up.last(t)
			wantUser := tc.user
			if tc.path == "/api/v1/watch/namespaces" && tc.user != "olga" {
				wantUser = "" // the gateway's own call: a filtered namespace watch
			}
			if r.Header.Get("Impersonate-User") != wantUser || r.Header.Get("Authorization") != "" {
				t.Errorf("forwarded headers %v", r.Header)
			}
			if r.Header.Get(audit.HeaderID) != e.ID || e.Decision != audit.Allow {
				t.Errorf("audit id %q forwarded, decision %+v", r.Header.Get(audit.HeaderID), e)
			}
		})
	}
}

func TestImpersonation(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), map[string]string{
		"Impersonate-User": "system:admin", "Impersonate-Group": "system:masters", "Impersonate-Uid": "0",
		"Impersonate-Extra-Scopes": "all", "X-Remote-User": "system:admin", "X-Remote-Group": "system:masters",
		"Audit-ID": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	r := f.up.last(t)
	// bob's LDAP groups include system:masters: never passed on.
	if r.Header.Get("Impersonate-User") != "bob" || !slices.Equal(r.Header.Values("Impersonate-Group"), []string{"team-payments"}) {
		t.Errorf("impersonation %v", r.Header)
	}
	for k := range r.Header {
		if lk := strings.ToLower(k); lk == "impersonate-uid" || strings.HasPrefix(lk, "impersonate-extra") || strings.HasPrefix(lk, "x-remote") {
			t.Errorf("client header %s reached the API server", k)
		}
	}
	// The audit ID is the gateway's own; the client's is kept beside it in
	// the audit line, never passed on.
	e := f.audit.last()
	if got := r.Header.Get("Audit-ID"); got == "0f1e2d3c-aaaa-bbbb-cccc-000000000001" || got == "" || e.ID != got ||
		e.ClientAuditID != "0f1e2d3c-aaaa-bbbb-cccc-000000000001" {
		t.Errorf("Audit-ID %q forwarded, audit entry id %q, clientAuditID %q", got, e.ID, e.ClientAuditID)
	}
	// Names go out in lower case: the policy compares them so, RBAC binds them so.
	f.do(t, "GET", "/api/v1/pods", f.token(t, "olga"), nil)
	if r := f.up.last(t); !slices.Equal(r.Header.Values("Impersonate-Group"), []string{"ops"}) {
		t.Errorf("groups %v", r.Header.Values("Impersonate-Group"))
	}
	// A junk audit id is not even logged.
	f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), map[string]string{"Audit-ID": "x\" y"})
	if id := f.up.last(t).Header.Get("Audit-ID"); id == "" || strings.Contains(id, " ") || f.audit.last().ClientAuditID != "" {
		t.Errorf("audit id %q, %+v", id, f.audit.last())
	}
	// Two requests with one client id are two IDs at the API server.
	f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), map[string]string{"Audit-ID": "0f1e2d3c-aaaa-bbbb-cccc-000000000001"})
	if id := f.up.last(t).Header.Get("Audit-ID"); id == r.Header.Get("Audit-ID") {
		t.Errorf("the same audit id %q twice", id)
	}
}

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	for name, auth := range map[string]string{
		"none":  "",
		"basic": "Basic Ym9iOmJvYg==",
		"junk":  "Bearer junk",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/namespaces/payments/pods", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || f.up.count() != 0 {
				t.Errorf("status %d, %d requests upstream", resp.StatusCode, f.up.count())
			}
			if e := f.audit.last(); e.Decision != audit.Deny || !strings.HasPrefix(e.Reason, "not authenticated") {
				t.Errorf("audit %+v", e)
			}
		})
	}
	tok := f.token(t, "bob")
	*f.now = f.now.Add(2 * time.Hour)
	if resp, body := f.do(t, "GET", "/api/v1/namespaces/payments/pods", tok, nil); resp.StatusCode != 401 || !strings.Contains(body, "expired") {
		t.Errorf("expired token: %d %s", resp.StatusCode, body)
	}
}

func TestNonCanonicalPathsRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "bob")
	for _, p := range []string{
		"/api/v1/namespaces/payments/pods/../../kube-system/secrets",
		"/api/v1/namespaces/payments/pods/%2e%2e/x",
		"/api/v1/namespaces/payments//pods",
		"/api/v1/namespaces/payments/pods/a%2Fb",
		"/api/v1/namespaces/payments/pods%3Fwatch=true",
		"/api/v1/namespaces/payments/pods/..%5C..%5Ckube-system",
		"/api/v1/namespaces/payments/pods;x=y",
		"/api/v1/namespaces/payments/pods/a\\b",
		"/api/v1/namespaces/payments/pods/a%00",
		"/api/v1/namespaces/payments/pods/a%25",
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
		req.URL.Opaque = "//" + strings.TrimPrefix(f.srv.URL, "http://") + p
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
	if f.up.count() != 0 {
		t.Errorf("%d requests reached the API server", f.up.count())
	}
}

func TestNamespaceListFiltered(t *testing.T) {
	f := newFixture(t)
	names := func(body string, table bool) []string {
		var doc struct {
			Kind     string         `json:"kind"`
			Metadata map[string]any `json:"metadata"`
			Items    []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"items"`
			Rows []struct {
				Cells []any `json:"cells"`
			} `json:"rows"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if _, ok := doc.Metadata["remainingItemCount"]; ok {
			t.Error("remainingItemCount leaks the number of namespaces")
		}
		var out []string
		for _, it := range doc.Items {
			out = append(out, it.Metadata.Name)
		}
		for _, r := range doc.Rows {
			out = append(out, r.Cells[0].(string))
		}
		return out
	}
	_, body := f.do(t, "GET", "/api/v1/namespaces", f.token(t, "dave"), nil)
	if got := names(body, false); !slices.Equal(got, []string{"search-dev", "search-prod"}) {
		t.Errorf("dave's namespaces: %v", got)
	}
	// The gateway lists with its own identity: no impersonation.
	if r := f.up.last(t); r.Header.Get("Impersonate-User") != "" {
		t.Errorf("namespace list impersonated %q", r.Header.Get("Impersonate-User"))
	}
	_, body = f.do(t, "GET", "/api/v1/namespaces", f.token(t, "bob"), map[string]string{
		"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "Accept-Encoding": "gzip",
	})
	if got := names(body, true); !slices.Equal(got, []string{"payments", "payments-staging"}) {
		t.Errorf("bob's namespace table: %v", got)
	}
	_, body = f.do(t, "GET", "/api/v1/namespaces", f.token(t, "erin"), nil)
	if got := names(body, false); len(got) != 0 {
		t.Errorf("erin's namespaces: %v", got)
	}
	// A super admin's list is forwarded as is, impersonated.
	_, body = f.do(t, "GET", "/api/v1/namespaces", f.token(t, "olga"), nil)
	if got := names(body, false); len(got) != len(clusterNamespaces) || f.up.last(t).Header.Get("Impersonate-User") != "olga" {
		t.Errorf("olga's namespaces: %v", got)
	}
}

func TestUpgradePassesThrough(t *testing.T) {
	f := newFixture(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/namespaces/payments/pods/web-1/exec?command=sh HTTP/1.1\r\nHost: gw\r\n"+
		"Authorization: Bearer %s\r\nImpersonate-User: system:admin\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n", f.token(t, "alice"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := f.up.last(t)
	if r.Header.Get("Impersonate-User") != "alice" || r.Header.Get("Authorization") != "" {
		t.Errorf("upgrade forwarded with %v", r.Header)
	}
	if n := f.g.inflight.Load(); n != 1 {
		t.Errorf("%d requests in flight during an exec session", n)
	}
	fmt.Fprint(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Errorf("echo %q %v", buf, err)
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for f.g.inflight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.g.inflight.Load(); n != 0 {
		t.Errorf("%d requests in flight after the session", n)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	login := func(user, pw, addr string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+LoginPath, strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
		if addr != "" {
			// httptest's client always comes from 127.0.0.1; vary the
			// address through the handler directly instead.
			rec := httptest.NewRecorder()
			req.RemoteAddr = addr + ":1234"
			f.g.Handler().ServeHTTP(rec, req)
			return rec.Result(), rec.Body.String()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := login("Alice", "alice-pw", "10.0.0.1")
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var lr LoginResponse
	_ = json.Unmarshal([]byte(body), &lr)
	if c, err := f.tok.Verify(lr.Token); err != nil || c.Subject != "alice" || lr.Issuer != "https://gw.test" || !lr.Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("token %+v %v", lr, err)
	}
	if strings.Contains(fmt.Sprint(f.audit.e), "alice-pw") {
		t.Error("the password is in the audit log")
	}

	// Per (user, address): three failures, then even the right password
	// waits there; the real user elsewhere is not locked out.
	for i := 0; i < 3; i++ {
		if resp, _ := login("bob", "wrong", "10.0.0.2"); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	calls := f.auth.calls
	resp, body = login("bob", "bob-pw", "10.0.0.2")
	if resp.StatusCode != 429 || !strings.Contains(body, `too many failed logins for user \"bob\" from 10.0.0.2`) || resp.Header.Get("Retry-After") != "20" {
		t.Errorf("limited login: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if f.auth.calls != calls {
		t.Error("a rate-limited login reached the directory")
	}
	if e := f.audit.last(); e.Decision != audit.Deny || e.User != "bob" || !strings.Contains(e.Reason, "limit is 3 per 1m0s") {
		t.Errorf("audit %+v", e)
	}
	if resp, _ := login("bob", "bob-pw", "10.0.0.3"); resp.StatusCode != 200 {
		t.Errorf("bob from another address: %d", resp.StatusCode)
	}
	// Per user from every address: four addresses' worth of failures (12),
	// then bob waits everywhere, refilled at one pair's rate.
	for i := 0; i < 9; i++ {
		login("bob", "wrong", fmt.Sprintf("10.0.1.%d", i/3))
	}
	resp, body = login("bob", "bob-pw", "10.0.0.50")
	if resp.StatusCode != 429 || !strings.Contains(body, "from all addresses (the limit is 12 per 4m0s)") || resp.Header.Get("Retry-After") != "20" {
		t.Errorf("user limit: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// Per address: failures for different users from one address.
	for i := 0; i < 12; i++ {
		login(fmt.Sprintf("x%d", i), "wrong", "10.0.0.9")
	}
	if resp, body := login("erin", "erin-pw", "10.0.0.9"); resp.StatusCode != 429 || !strings.Contains(body, "from 10.0.0.9, for any user") {
		t.Errorf("address limit: %d %s", resp.StatusCode, body)
	}
	if resp, _ := login("erin", "erin-pw", "10.0.0.10"); resp.StatusCode != 200 {
		t.Errorf("another address: %d", resp.StatusCode)
	}
	// The allowance refills: one attempt every 20 s.
	*f.now = f.now.Add(21 * time.Second)
	if resp, _ := login("bob", "bob-pw", "10.0.0.2"); resp.StatusCode != 200 {
		t.Errorf("after the wait: %d", resp.StatusCode)
	}

	f.auth.down = true
	if resp, _ := login("dave", "dave-pw", "10.0.0.4"); resp.StatusCode != 503 {
		t.Errorf("directory down: %d", resp.StatusCode)
	}
	f.auth.down = false
	for _, bad := range []string{`{"username":"x"`, `{"user":"x","password":"y"}`, `{"username":"","password":"y"}`} {
		req := httptest.NewRequest("POST", LoginPath, strings.NewReader(bad))
		rec := httptest.NewRecorder()
		f.g.Handler().ServeHTTP(rec, req)
		if rec.Code != 400 {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
	req := httptest.NewRequest("GET", LoginPath, nil)
	rec := httptest.NewRecorder()
	f.g.Handler().ServeHTTP(rec, req)
	if rec.Code != 405 {
		t.Errorf("GET login: %d", rec.Code)
	}
}

func TestPolicyEndpointAndHealth(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "GET", PolicyPath, f.token(t, "erin"), nil)
	if resp.StatusCode != 200 || body != testPolicy || resp.Header.Get("ETag") == "" {
		t.Fatalf("policy: %d %q", resp.StatusCode, body)
	}
	resp, _ = f.do(t, "GET", PolicyPath, f.token(t, "erin"), map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, "GET", PolicyPath, "", nil); resp.StatusCode != 401 {
		t.Errorf("policy without a token: %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := f.do(t, "GET", p, "", nil); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "bob"), nil)
	_, body = f.do(t, "GET", "/metrics", "", nil)
	for _, m := range []string{`kgate_gateway_requests_total{code="200",verb="list"} 1`, `kgate_gateway_decisions_total{decision="allow",kind="resource"} 1`,
		"kgate_gateway_request_duration_seconds_bucket", "kgate_gateway_streams_active 0"} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	f.g.draining.Store(true)
	if resp, body := f.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("readyz while draining: %d %s", resp.StatusCode, body)
	}
}

func TestNoPolicyFailsClosed(t *testing.T) {
	f := newFixture(t)
	f.g.o.Policy = func(context.Context) (*policycache.Loaded, error) {
		return nil, errs.UnavailableErrorf("policy source unreachable and the cached copy is older than max-stale")
	}
	if err := f.g.LoadPolicy(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if resp, _ := f.do(t, "GET", "/api/v1/namespaces/payments/pods", f.token(t, "olga"), nil); resp.StatusCode != 503 || f.up.count() != 0 {
		t.Errorf("without a policy: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, "GET", "/readyz", "", nil); resp.StatusCode != 503 {
		t.Errorf("readyz without a policy: %d", resp.StatusCode)
	}
}
