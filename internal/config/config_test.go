package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KGATE_CONFIG_DIR", dir)
	t.Setenv("KGATE_CONFIG", "")
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("namespace: from-file\ncontext: file-ctx\nproject: file-proj\nsession:\n  lifetime: 2h\nldap:\n  urls: [ldaps://a, ldaps://b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KGATE_CONTEXT", "env-ctx")
	t.Setenv("KGATE_PROJECT", "env-proj")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("project", "", "")
	fs.String("namespace", "", "")
	fs.String("context", "", "")
	if err := fs.Parse([]string{"--project", "flag-proj"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Project != "flag-proj" || cfg.Context != "env-ctx" || cfg.Namespace != "from-file" {
		t.Errorf("precedence: project=%s context=%s namespace=%s", cfg.Project, cfg.Context, cfg.Namespace)
	}
	if cfg.Session.Lifetime != 2*time.Hour || cfg.Policy.TTL != 5*time.Minute {
		t.Errorf("durations: %v %v", cfg.Session.Lifetime, cfg.Policy.TTL)
	}
	if len(cfg.LDAP.URLs) != 2 || cfg.File != file {
		t.Errorf("urls %v file %s", cfg.LDAP.URLs, cfg.File)
	}
	t.Setenv("KGATE_LDAP_URLS", "ldaps://x,ldaps://y,ldaps://z")
	if cfg, _ = Load(nil); len(cfg.LDAP.URLs) != 3 {
		t.Errorf("env urls %v", cfg.LDAP.URLs)
	}
}

func TestBadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	_ = os.WriteFile(file, []byte("namespace: [\n"), 0o600)
	t.Setenv("KGATE_CONFIG", file)
	if _, err := Load(nil); err == nil {
		t.Fatal("want an error for a broken config file")
	}
	t.Setenv("KGATE_CONFIG", filepath.Join(dir, "missing.yaml"))
	if _, err := Load(nil); err == nil {
		t.Fatal("want an error for a missing explicit config file")
	}
}
