package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

// multiPolicy: team-payments is admin of payments in test, a guest in prod.
const multiPolicy = `version: 2
clusters:
  test: {gateway: "https://gw.example/clusters/test"}
  prod: {gateway: "https://gw.example/clusters/prod"}
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments]
    admins: {groups: [payments-leads]}
    clusters:
      test:
        admins: {groups: [team-payments]}
      prod:
        guests: {groups: [team-payments]}
`

type multiFixture struct {
	*fixture
	test, prod *upstream
}

// newMultiFixture is a gateway fronting two fake API servers, test and
// prod; def is its default cluster.
func newMultiFixture(t *testing.T, polText, def string) *multiFixture {
	t.Helper()
	m := &multiFixture{fixture: &fixture{audit: &memAudit{}}, test: &upstream{}, prod: &upstream{}}
	ts, ps := httptest.NewServer(m.test), httptest.NewServer(m.prod)
	t.Cleanup(ts.Close)
	t.Cleanup(ps.Close)
	pol, err := policy.Parse("policy.yaml", []byte(polText))
	if err != nil {
		t.Fatal(err)
	}
	k := edKey(t)
	m.tok, m.now = newTokens(t, &k)
	m.auth = &fakeAuth{groups: map[string][]string{"alice": {"team-payments"}, "olga": {"ops"}}}
	m.g, err = New(Options{
		Clusters:       []Cluster{{Name: "test", Upstream: &rest.Config{Host: ts.URL}}, {Name: "prod", Upstream: &rest.Config{Host: ps.URL}}},
		DefaultCluster: def,
		Tokens:         m.tok, Auth: m.auth, Audit: m.audit,
		Policy: func(context.Context) (*policycache.Loaded, error) {
			return &policycache.Loaded{Policy: pol, Raw: []byte(polText), Source: "policy.yaml", SHA256: "x"}, nil
		},
		Now: func() time.Time { return *m.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.g.LoadPolicy(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.srv = httptest.NewServer(m.g.Handler())
	t.Cleanup(m.srv.Close)
	return m
}

func TestClusterRouting(t *testing.T) {
	m := newMultiFixture(t, multiPolicy, "")
	alice := m.token(t, "alice")
	for _, tc := range []struct {
		name, method, path string
		code               int
		reached            *upstream // the API server that must see it (nil: neither)
		cluster            string    // the audit entry's cluster ("": no entry)
	}{
		{"exec in test, where alice is admin", "POST", "/clusters/test/api/v1/namespaces/payments/pods/web/exec?command=sh", 200, m.test, "test"},
		{"exec in prod, where alice is a guest", "POST", "/clusters/prod/api/v1/namespaces/payments/pods/web/exec?command=sh", 403, nil, "prod"},
		{"a guest's list in prod", "GET", "/clusters/prod/api/v1/namespaces/payments/pods", 200, m.prod, "prod"},
		{"discovery in prod", "GET", "/clusters/prod/api", 200, m.prod, "prod"},
		{"no default cluster: unprefixed refused", "GET", "/api/v1/namespaces/payments/pods", 404, nil, ""},
		{"dot-dot from prod to test", "POST", "/clusters/prod/../test/api/v1/namespaces/payments/pods/web/exec?command=sh", 400, nil, ""},
		{"dot segment", "GET", "/clusters/prod/./api/v1/namespaces/payments/pods", 400, nil, ""},
		{"encoded slash", "POST", "/clusters/prod%2F..%2Ftest/api/v1/namespaces/payments/pods/web/exec?command=sh", 400, nil, ""},
		{"encoded name", "POST", "/clusters/%74est/api/v1/namespaces/payments/pods/web/exec?command=sh", 400, nil, ""},
		{"upper case name", "GET", "/clusters/PROD/api/v1/namespaces/payments/pods", 404, nil, ""},
		{"unknown cluster", "GET", "/clusters/staging/api/v1/namespaces/payments/pods", 404, nil, ""},
		{"empty name", "GET", "/clusters//api/v1/namespaces/payments/pods", 400, nil, ""},
		{"the prefix alone", "GET", "/clusters/", 404, nil, ""},
		{"double prefix", "POST", "/clusters/prod/clusters/test/api/v1/namespaces/payments/pods/web/exec?command=sh", 400, nil, ""},
		{"double prefix, same cluster", "GET", "/clusters/test/clusters/test/api/v1/namespaces/payments/pods", 400, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt, bp, ba := m.test.count(), m.prod.count(), len(m.audit.e)
			resp := clusterRequest(t, m.srv.URL, tc.method, tc.path, alice)
			if resp.code != tc.code {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.code, resp.body, tc.code)
			}
			gotT, gotP := m.test.count()-bt, m.prod.count()-bp
			switch tc.reached {
			case nil:
				if gotT+gotP != 0 {
					t.Fatalf("refused, but %d requests reached test and %d prod", gotT, gotP)
				}
			case m.test:
				if gotT != 1 || gotP != 0 {
					t.Fatalf("reached test %d and prod %d times, want test once", gotT, gotP)
				}
				if p := m.test.last(t).URL.Path; strings.Contains(p, "clusters") {
					t.Fatalf("the API server got the prefix: %s", p)
				}
			case m.prod:
				if gotT != 0 || gotP != 1 {
					t.Fatalf("reached test %d and prod %d times, want prod once", gotT, gotP)
				}
			}
			if tc.cluster == "" {
				if len(m.audit.e) != ba {
					t.Fatalf("audit entries for a routing refusal: %+v", m.audit.last())
				}
				return
			}
			if e := m.audit.last(); e.Cluster != tc.cluster {
				t.Fatalf("audit entry's cluster %q, want %q: %+v", e.Cluster, tc.cluster, e)
			}
			if tc.code == 403 && !strings.Contains(resp.body, `cluster \"prod\"`) {
				t.Fatalf("the refusal does not name the cluster: %s", resp.body)
			}
		})
	}
}

func TestClusterDefaultAndOwnEndpoints(t *testing.T) {
	m := newMultiFixture(t, multiPolicy, "test")
	alice := m.token(t, "alice")
	// The unprefixed paths serve the default cluster.
	if r := clusterRequest(t, m.srv.URL, "GET", "/api/v1/namespaces/payments/pods", alice); r.code != 200 || m.test.count() != 1 || m.prod.count() != 0 {
		t.Fatalf("unprefixed: %d %s; test %d prod %d", r.code, r.body, m.test.count(), m.prod.count())
	}
	if e := m.audit.last(); e.Cluster != "test" {
		t.Fatalf("unprefixed audit cluster %q", e.Cluster)
	}
	// The clusters, and login under a prefix, which a policy's gateway URL
	// (https://gw/clusters/prod) makes the CLI use.
	r := clusterRequest(t, m.srv.URL, "GET", ClustersPath, "")
	var cl ClusterList
	if err := json.Unmarshal([]byte(r.body), &cl); err != nil || strings.Join(cl.Clusters, ",") != "test,prod" || cl.Default != "test" {
		t.Fatalf("%s: %d %s", ClustersPath, r.code, r.body)
	}
	lr, err := Login(context.Background(), m.srv.URL+"/clusters/prod", nil, "alice", "alice-pw")
	if err == nil {
		if strings.Join(lr.Clusters, ",") != "test,prod" || lr.DefaultCluster != "test" {
			t.Fatalf("login response clusters %v default %q", lr.Clusters, lr.DefaultCluster)
		}
	} else {
		t.Fatalf("login under /clusters/prod: %v", err)
	}
	// The console is not served under a prefix (nor sent to a cluster).
	m.g.SetConsole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("console")) }))
	if r := clusterRequest(t, m.srv.URL, "GET", "/kgate/console/app.js", ""); r.code != 200 || r.body != "console" {
		t.Fatalf("/kgate/console/: %d %s", r.code, r.body)
	}
	if r := clusterRequest(t, m.srv.URL, "GET", "/clusters/prod/kgate/console/app.js", ""); r.code != 404 || m.prod.count() != 0 {
		t.Fatalf("/clusters/prod/kgate/console/: %d %s, %d requests reached prod", r.code, r.body, m.prod.count())
	}
	// /readyz under a prefix too.
	if r := clusterRequest(t, m.srv.URL, "GET", "/clusters/prod/readyz", ""); r.code != 200 {
		t.Fatalf("/clusters/prod/readyz: %d %s", r.code, r.body)
	}
}

// A cluster the (version 2) policy does not name: everything there is
// refused, and nothing reaches it.
func TestClusterNotInPolicy(t *testing.T) {
	pol := strings.Replace(multiPolicy, "  prod: {gateway: \"https://gw.example/clusters/prod\"}\n", "", 1)
	pol = strings.Replace(pol, "      prod:\n        guests: {groups: [team-payments]}\n", "", 1)
	m := newMultiFixture(t, pol, "")
	r := clusterRequest(t, m.srv.URL, "GET", "/clusters/prod/api/v1/namespaces/payments/pods", m.token(t, "olga"))
	if r.code != http.StatusServiceUnavailable || m.prod.count() != 0 || !strings.Contains(r.body, `cluster \"prod\"`) {
		t.Fatalf("%d %s; %d requests reached prod", r.code, r.body, m.prod.count())
	}
	if e := m.audit.last(); e.Cluster != "prod" || e.Decision != "deny" {
		t.Fatalf("audit %+v", e)
	}
}

// A version-1 policy applies to every cluster alike.
func TestClusterV1Policy(t *testing.T) {
	m := newMultiFixture(t, testPolicy, "")
	m.auth.groups["bob"] = []string{"team-payments"} // a guest of payments
	tok := m.token(t, "bob")
	for _, c := range []string{"test", "prod"} {
		if r := clusterRequest(t, m.srv.URL, "GET", "/clusters/"+c+"/api/v1/namespaces/payments/pods", tok); r.code != 200 {
			t.Fatalf("%s: %d %s", c, r.code, r.body)
		}
		if r := clusterRequest(t, m.srv.URL, "POST", "/clusters/"+c+"/api/v1/namespaces/payments/pods/web/exec?command=sh", tok); r.code != 403 {
			t.Fatalf("%s exec: %d %s", c, r.code, r.body)
		}
	}
}

func TestNewClustersErrors(t *testing.T) {
	base := func() Options {
		k := edKey(t)
		tok, _ := newTokens(t, &k)
		return Options{Tokens: tok, Auth: &fakeAuth{}, Audit: &memAudit{},
			Policy: func(context.Context) (*policycache.Loaded, error) { return nil, nil }}
	}
	for _, tc := range []struct {
		name     string
		clusters []Cluster
		def      string
		want     string
	}{
		{"bad name", []Cluster{{Name: "Prod", Upstream: &rest.Config{Host: "https://a"}}}, "", "not a cluster name"},
		{"twice", []Cluster{{Name: "a", Upstream: &rest.Config{Host: "https://a"}}, {Name: "a", Upstream: &rest.Config{Host: "https://b"}}}, "", "twice"},
		{"no credentials", []Cluster{{Name: "a"}}, "", "no credentials"},
		{"unknown default", []Cluster{{Name: "a", Upstream: &rest.Config{Host: "https://a"}}}, "b", "not one of its clusters"},
		{"default without clusters", nil, "a", "needs Clusters"},
	} {
		o := base()
		o.Clusters, o.DefaultCluster = tc.clusters, tc.def
		if tc.clusters == nil {
			o.Upstream = &rest.Config{Host: "https://a"}
		}
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPerClusterKubeconfig(t *testing.T) {
	kc, err := Kubeconfig("https://gw.example:8443", "tok", []byte("ca"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	out, err := PerClusterKubeconfig(kc, "https://gw.example:8443", []string{"prod", "test"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if c.CurrentContext != "test" || len(c.Contexts) != 2 {
		t.Fatalf("contexts %v, current %q", c.Contexts, c.CurrentContext)
	}
	for _, n := range []string{"test", "prod"} {
		ctx := c.Contexts[n]
		if ctx == nil || c.Clusters[ctx.Cluster] == nil || c.Clusters[ctx.Cluster].Server != "https://gw.example:8443/clusters/"+n ||
			c.AuthInfos[ctx.AuthInfo] == nil || c.AuthInfos[ctx.AuthInfo].Token != "tok" {
			t.Fatalf("context %s: %+v in %s", n, ctx, out)
		}
	}
}

type rawResp struct {
	code int
	body string
}

// clusterRequest sends path exactly as given (no cleaning, escapes kept).
func clusterRequest(t *testing.T, base, method, path, token string) rawResp {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	if method == "POST" {
		req += "Content-Length: 0\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return rawResp{code: resp.StatusCode, body: sb.String()}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// The web console works with one cluster of a multi-cluster gateway: the
// default one, else the first. Its policy is that cluster's view and its
// in-process requests (ServeAPI) go there.
func TestClusterConsoleCluster(t *testing.T) {
	for def, want := range map[string]string{"": "test", "prod": "prod"} {
		m := newMultiFixture(t, multiPolicy, def)
		if p := m.g.CurrentPolicy(); p == nil || p.Cluster() != want {
			t.Fatalf("default %q: CurrentPolicy is for %v, want %s", def, p, want)
		}
		req := httptest.NewRequest("GET", "/api/v1/namespaces/payments/pods", nil)
		req.Header.Set("Authorization", "Bearer "+m.token(t, "alice"))
		w := httptest.NewRecorder()
		m.g.ServeAPI(w, req)
		reached := map[string]int{"test": m.test.count(), "prod": m.prod.count()}
		if w.Code != 200 || reached[want] != 1 || reached["test"]+reached["prod"] != 1 {
			t.Fatalf("default %q: ServeAPI %d, reached %v, want %s", def, w.Code, reached, want)
		}
		if e := m.audit.last(); e.Cluster != want {
			t.Fatalf("default %q: audit cluster %q", def, e.Cluster)
		}
	}
}
