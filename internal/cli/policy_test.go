package cli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

const nsPolicy = `version: 1
projects:
  payments: {namespaces: ["payments-*", payments, payments-staging]}
  search: {namespaces: ["search-*"]}
`

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
		{"glob-only project", "", "search", "", "", false, errs.KindUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := NewFactory(ios)
			cfg := &config.Config{Project: tt.project, Paths: config.Paths{ConfigDir: filepath.Join(t.TempDir(), "config"), CacheDir: t.TempDir()}}
			cfg.Policy.Source = pol
			f.Config = func() (*config.Config, error) { return cfg, nil }
			*f.KubeFlags.Namespace = tt.flagNS
			if tt.current != "" {
				if err := cmdutil.WriteCurrentProject(cfg.Paths.ConfigDir, tt.current); err != nil {
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
