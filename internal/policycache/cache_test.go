package policycache

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

const goodV1 = `version: 1
projects:
  payments:
    namespaces: [payments]
    guests: {users: [bob]}
`

const goodV2 = `version: 1
projects:
  payments:
    namespaces: [payments]
    admins: {users: [bob]}
`

const broken = `version: 1
projects:
  payments:
    namespaces: ["pay[ments"]
`

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type env struct {
	t     *testing.T
	dir   string
	clock *clock
	warn  *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	return &env{t: t, dir: filepath.Join(t.TempDir(), "cache"), clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, warn: &bytes.Buffer{}}
}

func (e *env) cache(o Options) *Cache {
	o.Dir, o.Now, o.Warn = e.dir, e.clock.now, e.warn
	return New(o)
}

func (e *env) load(c *Cache) *Loaded {
	e.t.Helper()
	l, err := c.Load(context.Background())
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return l
}

func role(l *Loaded) policy.Role {
	return l.Policy.RoleIn(policy.Identity{User: "bob"}, "payments")
}

func writeFile(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestFileSourceTTLAndRefresh(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, src, goodV1, e.clock.t)
	c := e.cache(Options{Source: src})

	l := e.load(c)
	if l.Cached || role(l) != policy.RoleGuest || l.Source != src {
		t.Fatalf("first load: %+v", l)
	}
	st, err := os.Stat(c.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", st.Mode().Perm())
	}
	if st, _ := os.Stat(e.dir); st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", st.Mode().Perm())
	}

	// Within the TTL the source is not read: a changed file goes unseen.
	writeFile(t, src, goodV2, e.clock.t.Add(time.Second))
	e.clock.advance(4 * time.Minute)
	if l := e.load(c); !l.Cached || role(l) != policy.RoleGuest || l.Age != 4*time.Minute {
		t.Fatalf("within TTL: cached=%v role=%v age=%v", l.Cached, role(l), l.Age)
	}
	// Past the TTL it is.
	e.clock.advance(2 * time.Minute)
	if l := e.load(c); l.Cached || role(l) != policy.RoleAdmin {
		t.Fatalf("past TTL: cached=%v role=%v", l.Cached, role(l))
	}
	// An unchanged file past the TTL is not parsed again, and the copy is fresh again.
	e.clock.advance(10 * time.Minute)
	l = e.load(c)
	if !l.Cached || l.Age != 0 || role(l) != policy.RoleAdmin {
		t.Fatalf("unchanged file: cached=%v age=%v", l.Cached, l.Age)
	}
	if e.warn.Len() != 0 {
		t.Errorf("warnings: %s", e.warn)
	}
}

func TestStaleThenFailClosed(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, src, goodV1, e.clock.t)
	c := e.cache(Options{Source: src, TTL: time.Minute, MaxStale: time.Hour})
	e.load(c)
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(30 * time.Minute)
	l := e.load(c)
	if !l.Stale || role(l) != policy.RoleGuest {
		t.Fatalf("stale: %+v", l)
	}
	w := e.warn.String()
	if strings.Count(w, "\n") != 1 || !strings.Contains(w, "warning: policy source "+src+" is unreachable") || !strings.Contains(w, "cached 30m ago") {
		t.Errorf("warning: %q", w)
	}
	e.clock.advance(31 * time.Minute)
	_, err := c.Load(context.Background())
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUnavailable {
		t.Fatalf("past max-stale: %v", err)
	}
	if !strings.Contains(err.Error(), src) || !strings.Contains(err.Error(), "61m") && !strings.Contains(err.Error(), "61 minutes") {
		t.Errorf("error does not name the source and age: %v", err)
	}
}

func TestNoCacheSourceDown(t *testing.T) {
	e := newEnv(t)
	c := e.cache(Options{Source: filepath.Join(t.TempDir(), "missing.yaml")})
	_, err := c.Load(context.Background())
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUnavailable || !strings.Contains(err.Error(), "no cached copy") {
		t.Fatalf("got %v", err)
	}
}

func TestBrokenPolicyNeverReplacesGoodCopy(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "policy.yaml")

	// No good copy: the error names file, line and field.
	writeFile(t, src, broken, e.clock.t)
	c := e.cache(Options{Source: src})
	_, err := c.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), src+`:4: projects.payments.namespaces[0]: invalid glob "pay[ments"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(c.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a broken policy was cached: %v", err)
	}

	writeFile(t, src, goodV1, e.clock.t.Add(time.Second))
	e.load(c)
	before, _ := os.ReadFile(c.Path())

	writeFile(t, src, broken, e.clock.t.Add(2*time.Second))
	e.clock.advance(time.Hour)
	l := e.load(c)
	if role(l) != policy.RoleGuest || !l.Stale {
		t.Fatalf("broken policy replaced the good one: %+v", l)
	}
	if !strings.Contains(e.warn.String(), "serves an invalid policy") || !strings.Contains(e.warn.String(), `invalid glob "pay[ments"`) {
		t.Errorf("warning: %s", e.warn)
	}
	after, _ := os.ReadFile(c.Path())
	if !bytes.Equal(before, after) {
		t.Error("the cache file changed")
	}
	// Past max-stale the good copy no longer stands in.
	e.clock.advance(24 * time.Hour)
	if _, err := c.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "pay[ments") {
		t.Fatalf("got %v", err)
	}
}

func TestTornCacheIsRefetched(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }},
		{"flipped byte in the policy", func(b []byte) []byte {
			i := bytes.Index(b, []byte("namespaces: [payments]"))
			b[i] = 'N'
			return b
		}},
		{"flipped byte in the compiled form", func(b []byte) []byte { b[len(b)-2] ^= 1; return b }},
		{"padded", func(b []byte) []byte { return append(b, 0) }},
		{"garbage", func([]byte) []byte { return []byte("garbage") }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			src := filepath.Join(t.TempDir(), "policy.yaml")
			writeFile(t, src, goodV1, e.clock.t)
			c := e.cache(Options{Source: src})
			e.load(c)
			b, _ := os.ReadFile(c.Path())
			if err := os.WriteFile(c.Path(), tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			// Within the TTL, yet the damaged copy is not trusted: the source is read.
			writeFile(t, src, goodV2, e.clock.t.Add(time.Second))
			l := e.load(c)
			if l.Cached || role(l) != policy.RoleAdmin {
				t.Fatalf("damaged cache trusted: cached=%v role=%v", l.Cached, role(l))
			}
			if !strings.Contains(e.warn.String(), "ignoring the policy cache") {
				t.Errorf("warning: %q", e.warn)
			}
			// ... and repaired.
			e.warn.Reset()
			if l := e.load(c); !l.Cached || e.warn.Len() != 0 {
				t.Errorf("not repaired: cached=%v warn=%q", l.Cached, e.warn)
			}

			// With the source down, a damaged copy is no fallback: fail closed.
			b, _ = os.ReadFile(c.Path())
			_ = os.WriteFile(c.Path(), tc.damage(b), 0o600)
			_ = os.Remove(src)
			e.clock.advance(time.Hour)
			if _, err := c.Load(context.Background()); err == nil {
				t.Fatal("a damaged cache was used as a fallback")
			}
		})
	}
}

func TestCacheWritableByOthersIgnored(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, src, goodV1, e.clock.t)
	c := e.cache(Options{Source: src})
	e.load(c)
	if err := os.Chmod(c.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	if l := e.load(c); l.Cached {
		t.Error("a world-writable cache was trusted")
	}
}

func TestFetchTimeInTheFuture(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, src, goodV1, e.clock.t)
	c := e.cache(Options{Source: src})
	e.load(c)
	writeFile(t, src, goodV2, e.clock.t.Add(time.Second))
	e.clock.advance(-time.Hour) // the clock went back
	if l := e.load(c); l.Cached || role(l) != policy.RoleAdmin {
		t.Error("a copy fetched in the future was taken as fresh")
	}
}

func TestSourceSpecs(t *testing.T) {
	e := newEnv(t)
	for spec, want := range map[string]string{
		"":                         "no policy source",
		"http://example.com/p":     "plain http is not allowed",
		"configmap://ns":           "want configmap://NAMESPACE/NAME",
		"configmap://ns/a/b":       "want configmap://NAMESPACE/NAME",
		"ftp://example.com/p.yaml": "unsupported scheme",
	} {
		_, err := e.cache(Options{Source: spec, ConfigMaps: func(context.Context, string, string) (map[string]string, string, error) {
			return nil, "", nil
		}}).Load(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", spec, err, want)
		}
	}
	src := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, src, goodV1, e.clock.t)
	if l := e.load(e.cache(Options{Source: "file://" + src})); role(l) != policy.RoleGuest {
		t.Error("file:// source")
	}
}

// policyServer serves a policy over TLS with an ETag.
type policyServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     string
	down     bool
	requests int
	notMod   int
	caFile   string
}

func newPolicyServer(t *testing.T, body string) *policyServer {
	ps := &policyServer{body: body}
	ps.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		ps.requests++
		if ps.down {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		etag := `"` + shaHex([]byte(ps.body))[:16] + `"`
		if r.Header.Get("If-None-Match") == etag {
			ps.notMod++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		_, _ = w.Write([]byte(ps.body))
	}))
	t.Cleanup(ps.Close)
	ps.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ps.Certificate().Raw})
	if err := os.WriteFile(ps.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return ps
}

func (ps *policyServer) set(f func(*policyServer)) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	f(ps)
}

func TestHTTPSWithETag(t *testing.T) {
	e := newEnv(t)
	ps := newPolicyServer(t, goodV1)
	url := ps.URL + "/policy.yaml"
	c := e.cache(Options{Source: url, CAFile: ps.caFile})

	l := e.load(c)
	if role(l) != policy.RoleGuest || l.ETag == "" {
		t.Fatalf("first load: %+v", l)
	}
	e.load(c) // within the TTL: no request
	if ps.requests != 1 {
		t.Errorf("%d requests within the TTL, want 1", ps.requests)
	}
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); !l.Cached || l.Age != 0 {
		t.Errorf("304: cached=%v age=%v", l.Cached, l.Age)
	}
	if ps.requests != 2 || ps.notMod != 1 {
		t.Errorf("requests=%d notModified=%d, want 2 and 1", ps.requests, ps.notMod)
	}
	ps.set(func(ps *policyServer) { ps.body = goodV2 })
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); l.Cached || role(l) != policy.RoleAdmin {
		t.Errorf("changed policy: cached=%v role=%v", l.Cached, role(l))
	}
	ps.set(func(ps *policyServer) { ps.down = true })
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); !l.Stale || role(l) != policy.RoleAdmin {
		t.Errorf("server down: %+v", l)
	}
	if !strings.Contains(e.warn.String(), "503") {
		t.Errorf("warning: %q", e.warn)
	}
}

func TestHTTPSUnknownCA(t *testing.T) {
	e := newEnv(t)
	ps := newPolicyServer(t, goodV1)
	_, err := e.cache(Options{Source: ps.URL}).Load(context.Background())
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUnavailable || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("got %v", err)
	}
	if _, err := e.cache(Options{Source: ps.URL, CAFile: filepath.Join(t.TempDir(), "none.pem")}).Load(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "CA file") {
		t.Fatalf("missing CA file: %v", err)
	}
}

func TestHTTPSTimeout(t *testing.T) {
	e := newEnv(t)
	block := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	start := time.Now()
	_, err := e.cache(Options{Source: srv.URL, CAFile: ca, Timeout: 200 * time.Millisecond}).Load(context.Background())
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestConfigMapSource(t *testing.T) {
	e := newEnv(t)
	var calls int
	cm := map[string]string{ConfigMapKey: goodV1}
	rv := "100"
	get := func(_ context.Context, ns, name string) (map[string]string, string, error) {
		calls++
		if ns != "kgate-system" || name != "policy" {
			return nil, "", errors.New("not found")
		}
		return cm, rv, nil
	}
	c := e.cache(Options{Source: "configmap://kgate-system/policy", ConfigMaps: get})
	if l := e.load(c); role(l) != policy.RoleGuest || l.ETag != "100" {
		t.Fatalf("first load: %+v", l)
	}
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); !l.Cached {
		t.Error("same resourceVersion was parsed again")
	}
	cm, rv = map[string]string{ConfigMapKey: goodV2}, "101"
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); role(l) != policy.RoleAdmin {
		t.Error("new resourceVersion not picked up")
	}
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
	cm, rv = map[string]string{"other": "x"}, "102"
	e.clock.advance(6 * time.Minute)
	if l := e.load(c); !l.Stale || !strings.Contains(e.warn.String(), `no key "policy.yaml"`) {
		t.Errorf("missing key: stale=%v warn=%q", l.Stale, e.warn)
	}
}

func TestCancelled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := e.cache(Options{Source: "configmap://a/b", ConfigMaps: func(ctx context.Context, _, _ string) (map[string]string, string, error) {
		return nil, "", ctx.Err()
	}})
	if _, err := c.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func shaHex(b []byte) string { return hexSum(b) }

// TestClustersKeptApart is the scenario: configmap://kgate/policy
// read from test must never answer for prod, neither within the TTL nor,
// with prod's source unreachable, as a stale copy.
func TestClustersKeptApart(t *testing.T) {
	e := newEnv(t)
	const src = "configmap://kgate/policy"
	cms := map[string]string{"test": goodV2, "prod": goodV1} // bob: admin in test, guest in prod
	down := map[string]bool{}
	getter := func(cluster string) ConfigMapGetter {
		return func(context.Context, string, string) (map[string]string, string, error) {
			if down[cluster] {
				return nil, "", errs.UnavailableErrorf("dial tcp: connection refused")
			}
			return map[string]string{ConfigMapKey: cms[cluster]}, cluster + "-1", nil
		}
	}
	test := e.cache(Options{Source: src, Cluster: "test", ConfigMaps: getter("test")})
	prod := e.cache(Options{Source: src, Cluster: "prod", ConfigMaps: getter("prod")})
	if test.Path() == prod.Path() {
		t.Fatal("test and prod share a cache file")
	}
	if l := e.load(test); role(l) != policy.RoleAdmin || l.Cluster != "test" {
		t.Fatalf("test: %v %+v", role(l), l)
	}
	// Within test's TTL, prod is still read from prod.
	if l := e.load(prod); role(l) != policy.RoleGuest || l.Cached {
		t.Fatalf("prod answered from test's copy: %v cached=%v", role(l), l.Cached)
	}
	// Prod unreachable with no copy of its own: a clear error, exit 6, never
	// test's policy.
	prod2 := e.cache(Options{Source: src, Cluster: "prod2", ConfigMaps: getter("prod2")})
	down["prod2"] = true
	_, err := prod2.Load(context.Background())
	var ke *errs.Error
	if err == nil || !errors.As(err, &ke) || ke.Kind != errs.KindUnavailable ||
		!strings.Contains(err.Error(), "configmap://kgate/policy (cluster prod2) is unreachable and there is no cached copy") {
		t.Fatalf("prod2 down: %v", err)
	}
	// A cache file copied from another cluster is not trusted.
	raw, err := os.ReadFile(test.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prod2.Path(), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := prod2.Load(context.Background()); err == nil || !strings.Contains(e.warn.String(), `for cluster "test", not "prod2"`) {
		t.Fatalf("copied cache: %v; warn %q", err, e.warn)
	}
}
