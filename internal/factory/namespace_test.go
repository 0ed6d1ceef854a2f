package factory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/policy"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

const nsPolicy = `version: 1
superAdmins: {users: [olga]}
projects:
  payments: {namespaces: ["payments-*", payments, payments-staging], guests: {users: [bob, carol]}}
  search: {namespaces: ["search-*"], admins: {users: [dave, carol]}}
  empty: {namespaces: ["empty-*"], admins: {users: [erin]}}
`

// noNSKubeconfig's context names no namespace: kubectl's "default".
const noNSKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "SERVER"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`

// namespaceServer answers the metadata-only list of namespaces, and counts.
func namespaceServer(t *testing.T, names ...string) (string, *int) {
	n := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces" {
			http.NotFound(w, r)
			return
		}
		*n++
		var items []string
		for _, name := range names {
			items = append(items, fmt.Sprintf(`{"metadata":{"name":%q}}`, name))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":[%s]}`, strings.Join(items, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n
}

type memAudit struct{ entries []audit.Entry }

func (m *memAudit) Log(e audit.Entry) error { m.entries = append(m.entries, e); return nil }
func (m *memAudit) Close() error            { return nil }

const nsKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: from-kubeconfig}}]
current-context: ctx
`

func TestNamespaceResolution(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	kc := filepath.Join(dir, "kubeconfig")
	_ = os.WriteFile(pol, []byte(nsPolicy), 0o600)
	_ = os.WriteFile(kc, []byte(nsKubeconfig), 0o600)
	t.Setenv("KUBECONFIG", kc)

	tests := []struct {
		name     string
		flagNS   string
		project  string
		current  string
		want     string
		explicit bool
		kind     errs.Kind
	}{
		{"kubeconfig", "", "", "", "from-kubeconfig", false, -1},
		{"-n wins", "flag-ns", "payments", "search", "flag-ns", true, -1},
		{"-p: first exact namespace", "", "payments", "search", "payments", true, -1},
		{"project use", "", "", "payments", "payments", false, -1},
		{"unknown project", "", "nope", "", "", false, errs.KindNotFound},
		{"glob-only project needs the cluster", "", "search", "", "", false, errs.KindAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := New(ios)
			cfg := &config.Config{Project: tt.project, Paths: config.Paths{ConfigDir: filepath.Join(t.TempDir(), "config"), CacheDir: t.TempDir()}}
			cfg.Policy.Source = pol
			f.Config = func() (*config.Config, error) { return cfg, nil }
			*f.KubeFlags.Namespace = tt.flagNS
			if tt.current != "" {
				if err := config.WriteCurrentProject(cfg.Paths.ConfigDir, tt.current); err != nil {
					t.Fatal(err)
				}
			}
			ns, explicit, err := f.Namespace()
			if tt.kind >= 0 {
				var ke *errs.Error
				if !errors.As(err, &ke) || ke.Kind != tt.kind {
					t.Fatalf("got %v, want kind %v", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ns != tt.want || explicit != tt.explicit {
				t.Errorf("got %q explicit=%v, want %q explicit=%v", ns, explicit, tt.want, tt.explicit)
			}
		})
	}
}

// TestNamespaceWithoutChoice: with no -n, -p, current project or kubeconfig
// namespace, a user with one project works in it; with several, a request
// refused in "default" names them and how to pick one.
func TestNamespaceWithoutChoice(t *testing.T) {
	// A context that names no namespace, and one that names kubectl's own
	// fallback, "default", are the same: no choice.
	for _, ctxNS := range []string{"", "default"} {
		t.Run("context namespace "+ctxNS, func(t *testing.T) { testNamespaceWithoutChoice(t, ctxNS) })
	}
}

func testNamespaceWithoutChoice(t *testing.T, ctxNS string) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	_ = os.WriteFile(pol, []byte(nsPolicy), 0o600)
	server, listed := namespaceServer(t, "default", "search-prod", "search-dev", "payments", "kube-system")
	kc := filepath.Join(dir, "kubeconfig")
	k := strings.Replace(noNSKubeconfig, "SERVER", server, 1)
	if ctxNS != "" {
		k = strings.Replace(k, "{cluster: c, user: u}", "{cluster: c, user: u, namespace: "+ctxNS+"}", 1)
	}
	_ = os.WriteFile(kc, []byte(k), 0o600)
	t.Setenv("KUBECONFIG", kc)

	tests := []struct {
		name, user string
		project    string // -p
		current    string // kgate project use NAME
		currentNS  string // ... -n NS
		want       string
		listed     bool
		deny       string // the refusal of a list of pods there, if any
		kind       errs.Kind
	}{
		{"one project", "bob", "", "", "", "payments", false, "", 0},
		{"one project of patterns", "dave", "", "", "", "search-dev", true, "", 0},
		{"super admin keeps default", "olga", "", "", "", "default", false, "", 0},
		{"several projects", "carol", "", "", "", "default", false,
			`no namespace given (the kubeconfig's is "default", where user "carol" holds no role); pick one of your projects: "payments", "search"`, errs.KindUsage},
		{"no project", "nobody", "", "", "", "default", false, `user "nobody" holds no role in any project`, errs.KindForbidden},
		{"-p of patterns, a stranger", "bob", "search", "", "", "search-dev", true,
			`user "bob" has no role in project "search" (namespace "search-dev"); list pods needs guest`, errs.KindForbidden},
		{"project use -n", "carol", "", "search", "search-prod", "search-prod", false, "", 0},
		{"project use -n, no longer the project's", "carol", "", "payments", "search-prod", "payments", false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := New(ios)
			cfg := &config.Config{Project: tt.project, Paths: config.Paths{ConfigDir: filepath.Join(t.TempDir(), "config"), CacheDir: t.TempDir()}}
			cfg.Policy.Source = pol
			f.Config = func() (*config.Config, error) { return cfg, nil }
			f.Identity = func() (policy.Identity, error) { return policy.Identity{User: tt.user}, nil }
			log := &memAudit{}
			f.Audit = func() (audit.Logger, error) { return log, nil }
			if tt.current != "" {
				if err := config.WriteCurrent(cfg.Paths.ConfigDir, tt.current, tt.currentNS); err != nil {
					t.Fatal(err)
				}
			}
			*listed = 0
			ns, _, err := f.Namespace()
			if err != nil {
				t.Fatal(err)
			}
			if ns != tt.want || (*listed > 0) != tt.listed {
				t.Errorf("got %q (namespaces listed %d times), want %q", ns, *listed, tt.want)
			}
			_, err = f.Authorize(context.Background(), policy.Request{Verb: "list", Resource: "pods", Namespace: ns})
			if tt.deny == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var ke *errs.Error
			if err == nil || !strings.Contains(err.Error(), tt.deny) || !errors.As(err, &ke) || ke.Kind != tt.kind {
				t.Fatalf("got %v, want %q (kind %v)", err, tt.deny, tt.kind)
			}
			if tt.kind == errs.KindUsage && !strings.Contains(ke.Hint, "kgate project use payments") {
				t.Errorf("hint %q", ke.Hint)
			}
			// Another namespace is refused in the usual words.
			if _, err := f.Authorize(context.Background(), policy.Request{Verb: "list", Resource: "pods", Namespace: "kube-system"}); err == nil ||
				!strings.Contains(err.Error(), `namespace "kube-system" belongs to no project`) {
				t.Errorf("kube-system: %v", err)
			}
			if last := log.entries[len(log.entries)-1]; last.Decision != audit.Deny {
				t.Errorf("audit: %+v", log.entries)
			}
		})
	}
}
