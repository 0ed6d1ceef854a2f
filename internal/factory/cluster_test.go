package factory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

const kubeconfigTwo = `apiVersion: v1
kind: Config
clusters:
- {name: t, cluster: {server: "https://127.0.0.1:1"}}
- {name: p, cluster: {server: "https://127.0.0.1:2"}}
users: [{name: u, user: {token: x}}]
contexts:
- {name: test, context: {cluster: t, user: u}}
- {name: prod, context: {cluster: p, user: u}}
- {name: lab, context: {cluster: p, user: u, namespace: lab}}
current-context: test
`

// clusterFactory is a Factory with a policy file naming test and prod
// (contexts) and edge (a gateway fronting several), a kubeconfig with those
// contexts, and the flags given.
func clusterFactory(t *testing.T, cluster string, flags ...string) (*cmdutil.Factory, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(`version: 2
clusters:
  test: {context: test}
  prod: {context: prod}
  edge: {gateway: "https://gw.example:8443/clusters/edge"}
projects:
  payments:
    namespaces: [payments]
    clusters:
      test: {admins: {users: [bob]}}
      prod: {guests: {users: [bob]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfigTwo), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	f := New(ios)
	if err := f.Flags.Parse(append([]string{"--kubeconfig", kc}, flags...)); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Cluster: cluster, Policy: config.Policy{Source: pol, TTL: time.Hour, MaxStale: time.Hour},
		Paths: config.Paths{ConfigDir: dir, CacheDir: dir, StateDir: dir}}
	f.Config = func() (*config.Config, error) {
		applyConfig(f.Flags, f.KubeFlags, cfg)
		return cfg, nil
	}
	return f, cfg
}

func wantUsage(t *testing.T, err error, parts ...string) {
	t.Helper()
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
		t.Fatalf("want a usage error, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%q lacks %q", err, p)
		}
	}
}

func TestClusterChosen(t *testing.T) {
	f, _ := clusterFactory(t, "prod")
	m, err := f.Mode()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Direct() || m.Cluster == nil || m.Cluster.Name != "prod" || *f.KubeFlags.Context != "prod" || m.Key != "context prod https://127.0.0.1:2" {
		t.Fatalf("mode: %+v context %q", m, *f.KubeFlags.Context)
	}
	pol, err := f.PolicyOnly()
	if err != nil || pol.Cluster() != "prod" {
		t.Fatalf("policy: %v %v", pol, err)
	}
	if c, err := f.Cluster(); err != nil || c.Name != "prod" {
		t.Errorf("Cluster: %v %v", c, err)
	}
}

func TestClusterFromTheContext(t *testing.T) {
	f, _ := clusterFactory(t, "", "--context", "prod")
	pol, err := f.PolicyOnly()
	if err != nil || pol.Cluster() != "prod" {
		t.Fatalf("policy: %v", err)
	}
	// The current context, test.
	f, _ = clusterFactory(t, "")
	if pol, err := f.PolicyOnly(); err != nil || pol.Cluster() != "test" {
		t.Fatalf("current context: %v", err)
	}
	// A context the policy does not name: choose.
	f, _ = clusterFactory(t, "", "--context", "lab")
	_, err = f.PolicyOnly()
	wantUsage(t, err, "the policy names clusters (test, prod, edge) and the kubeconfig context lab reaches none of them")
	if ke := (*errs.Error)(nil); !errors.As(err, &ke) || !strings.Contains(ke.Hint, "--cluster NAME") {
		t.Errorf("hint: %v", err)
	}
}

func TestClusterRefused(t *testing.T) {
	f, _ := clusterFactory(t, "staging")
	_, err := f.Mode()
	wantUsage(t, err, `the policy names no cluster "staging" (its clusters: test, prod, edge)`)

	f, _ = clusterFactory(t, "Prod/../x")
	_, err = f.Mode()
	wantUsage(t, err, "a cluster name is lower-case letters")

	f, _ = clusterFactory(t, "prod", "--context", "test")
	_, err = f.Mode()
	wantUsage(t, err, "--cluster prod is reached through the context prod, not test")

	f, cfg := clusterFactory(t, "prod")
	cfg.Server = "https://gw.example:8443"
	_, err = f.Mode()
	wantUsage(t, err, "leave out --server")
}

func TestClusterBehindAGateway(t *testing.T) {
	f, cfg := clusterFactory(t, "edge")
	_, err := f.Mode()
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindAuth || !strings.Contains(ke.Hint, "kgate login --server https://gw.example:8443") {
		t.Fatalf("not logged in to edge's gateway: %v (%v)", err, ke)
	}
	// A session with the gateway (not the cluster path) serves its clusters,
	// whatever the current session is.
	now := time.Now()
	if err := session.NewStore(cfg.Paths.ConfigDir).Save(&session.Session{User: "bob", Issuer: "https://gw.example:8443", Token: "tok",
		Issued: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := session.NewStore(cfg.Paths.ConfigDir).Save(&session.Session{User: "bob", Issuer: "ldaps://ldap", Issued: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f, _ = clusterFactory(t, "edge")
	f.Config = func() (*config.Config, error) { return cfg, nil }
	m, err := f.Mode()
	if err != nil || m.Gateway != "https://gw.example:8443/clusters/edge" || m.Session.Token != "tok" || m.Key != "gateway https://gw.example:8443/clusters/edge" {
		t.Fatalf("edge: %+v %v", m, err)
	}
	rc, err := f.RESTConfig()
	if err != nil || rc.Host != "https://gw.example:8443/clusters/edge" {
		t.Fatalf("rest config: %v %v", rc, err)
	}
	if GatewayBase("https://gw:1/clusters/x") != "https://gw:1" || GatewayBase("https://gw:1") != "https://gw:1" {
		t.Error("GatewayBase")
	}
}

// Behind a gateway fronting several clusters, a policy that names them by
// context still says which one is in use: NAME of GATEWAY/clusters/NAME,
// else the default cluster the gateway's login answered.
func TestFrontedCluster(t *testing.T) {
	s := &session.Session{Issuer: "https://gw:1", DefaultCluster: "prod"}
	for _, tc := range []struct {
		m    cmdutil.Mode
		want string
	}{
		{cmdutil.Mode{Gateway: "https://gw:1", Session: s}, "prod"},
		{cmdutil.Mode{Gateway: "https://gw:1/clusters/test", Session: s}, "test"},
		{cmdutil.Mode{Gateway: "https://other:1", Session: s}, ""},
		{cmdutil.Mode{Gateway: "https://gw:1", Session: &session.Session{Issuer: "https://gw:1"}}, ""},
	} {
		if got := frontedCluster(&tc.m); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.m.Gateway, got, tc.want)
		}
	}
}
