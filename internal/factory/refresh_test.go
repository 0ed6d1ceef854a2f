package factory

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/session"
)

func TestRefreshDirect(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	cfg := &config.Config{}
	cfg.Session.RefreshInterval = time.Hour
	st := session.NewStore(t.TempDir())
	s := &session.Session{User: "bob", Groups: []string{"team-payments"}, Issuer: "ldaps://ldap", Issued: t0, Expires: t0.Add(8 * time.Hour)}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	calls := 0
	var answer func() (*ldapauth.Identity, error)
	lookup := func(_ context.Context, user string) (*ldapauth.Identity, error) {
		calls++
		if user != "bob" {
			t.Errorf("looked up %q", user)
		}
		return answer()
	}
	warn := &bytes.Buffer{}

	// Younger than the interval: no directory request.
	got, err := refreshDirect(context.Background(), cfg, st, s, lookup, warn, t0.Add(59*time.Minute))
	if err != nil || got != s || calls != 0 {
		t.Fatalf("young session: %v, %d lookups", err, calls)
	}
	// Older: the groups are read again and recorded; the expiry stays.
	answer = func() (*ldapauth.Identity, error) {
		return &ldapauth.Identity{Username: "bob", DN: "uid=bob", Groups: []string{"qa"}}, nil
	}
	got, err = refreshDirect(context.Background(), cfg, st, s, lookup, warn, t0.Add(61*time.Minute))
	if err != nil || strings.Join(got.Groups, ",") != "qa" || !got.Expires.Equal(s.Expires) || calls != 1 {
		t.Fatalf("old session: %+v %v", got, err)
	}
	saved, _ := st.Load()
	if saved == nil || strings.Join(saved.Groups, ",") != "qa" || !saved.Refreshed.Equal(t0.Add(61*time.Minute)) {
		t.Errorf("saved %+v", saved)
	}
	// The next refresh counts from then.
	if _, err := refreshDirect(context.Background(), cfg, st, saved, lookup, warn, t0.Add(90*time.Minute)); err != nil || calls != 1 {
		t.Errorf("refreshed 29 minutes ago: %v, %d lookups", err, calls)
	}
	// Directory down: kept, with a warning, not extended, tried again next time.
	answer = func() (*ldapauth.Identity, error) { return nil, errs.UnavailableErrorf("cannot reach the LDAP server") }
	got, err = refreshDirect(context.Background(), cfg, st, saved, lookup, warn, t0.Add(3*time.Hour))
	if err != nil || got != saved || !strings.Contains(warn.String(), "keeping the session's groups") {
		t.Errorf("directory down: %v %q", err, warn)
	}
	// Gone from the directory: the session ends (exit 3).
	answer = func() (*ldapauth.Identity, error) {
		return nil, errs.AuthErrorf("user \"bob\" is no longer in the directory")
	}
	_, err = refreshDirect(context.Background(), cfg, st, saved, lookup, warn, t0.Add(3*time.Hour))
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindAuth {
		t.Errorf("user gone: %v", err)
	}
	if _, err := st.Read(); err == nil {
		t.Error("the session of a user gone from the directory is still there")
	}
}
