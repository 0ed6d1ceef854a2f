package factory

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/session"
)

// One command reads the session file once, whatever it asks the Factory
// for: the mode is decided once, and the session, the token source, the
// REST config, the policy source and the namespace all follow it. (A
// `kgate exec` opened session.json three times before.)
func TestSessionReadOnce(t *testing.T) {
	now := time.Now()
	for name, s := range map[string]*session.Session{
		"direct": {User: "bob", Groups: []string{"qa"}, Issuer: "ldaps://ldap.test", Issued: now, Refreshed: now, Expires: now.Add(time.Hour)},
		"gateway": {User: "bob", Groups: []string{"qa"}, Issuer: "https://127.0.0.1:1", Issued: now, Expires: now.Add(time.Hour),
			Token: "tok", TokenIssued: now, TokenExpires: now.Add(time.Hour), RefreshToken: "r"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			pol := filepath.Join(dir, "policy.yaml")
			kc := filepath.Join(dir, "kubeconfig")
			_ = os.WriteFile(pol, []byte(nsPolicy), 0o600)
			_ = os.WriteFile(kc, []byte(nsKubeconfig), 0o600)
			t.Setenv("KUBECONFIG", kc)
			if err := session.NewStore(dir).Save(s); err != nil {
				t.Fatal(err)
			}
			reads := 0
			read := readSession
			readSession = func(st *session.Store) (*session.Session, error) { reads++; return read(st) }
			t.Cleanup(func() { readSession = read })

			ios, _, _, _ := iostreams.Test()
			f := New(ios)
			cfg := &config.Config{Paths: config.Paths{ConfigDir: dir, CacheDir: dir, StateDir: dir}}
			cfg.Policy.Source = pol
			f.Config = func() (*config.Config, error) { return cfg, nil }

			// What `kgate exec` asks for, in its order, twice over.
			for range 2 {
				_, _, _ = f.Namespace()
				_, _ = f.Authorize(context.Background(), policy.Request{Verb: "exec", Resource: "pods", Namespace: "payments", Name: "web"})
				_, _ = f.KubeClient()
				_, _ = f.RESTConfig()
				_, _ = f.Session()
				_, _ = f.GatewaySource()
				_, _ = f.Policy()
			}
			if reads != 1 {
				t.Errorf("session file read %d times, want 1", reads)
			}
			if m, err := f.Mode(); err != nil || m.Direct() != (name == "direct") {
				t.Errorf("mode %+v %v", m, err)
			}
		})
	}
}
