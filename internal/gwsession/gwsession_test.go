package gwsession

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/session"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func newSource(t *testing.T, refresh RefreshFunc) (*Source, *session.Store, *time.Time, *bytes.Buffer) {
	t.Helper()
	st := session.NewStore(t.TempDir())
	s := &session.Session{User: "bob", Groups: []string{"team-payments"}, Issuer: "https://gw", Issued: t0,
		Expires: t0.Add(8 * time.Hour), Token: "tok0", RefreshToken: "rt", TokenIssued: t0, TokenExpires: t0.Add(10 * time.Minute)}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	now := t0
	warn := &bytes.Buffer{}
	src := New(st, s, warn)
	src.Refresh = refresh
	src.Now = func() time.Time { return now }
	return src, st, &now, warn
}

func TestTokenRefreshesInTheLastPartOfItsLife(t *testing.T) {
	calls := 0
	var now *time.Time
	var src *Source
	var st *session.Store
	src, st, now, _ = newSource(t, func(_ context.Context, server string, _ []byte, rt string) (*gateway.LoginResponse, error) {
		calls++
		if server != "https://gw" || rt != "rt" {
			t.Errorf("refresh with %s %s", server, rt)
		}
		return &gateway.LoginResponse{Token: "tok1", Groups: []string{"qa"}, Expires: now.Add(10 * time.Minute)}, nil
	})
	if tok, _, err := src.Token(context.Background()); err != nil || tok != "tok0" || calls != 0 {
		t.Fatalf("a fresh token: %q %v, %d refreshes", tok, err, calls)
	}
	*now = t0.Add(7 * time.Minute) // 3 minutes left: not yet
	if tok, _, _ := src.Token(context.Background()); tok != "tok0" || calls != 0 {
		t.Errorf("3 minutes left: %q, %d refreshes", tok, calls)
	}
	*now = t0.Add(8*time.Minute + time.Second)
	tok, exp, err := src.Token(context.Background())
	if err != nil || tok != "tok1" || calls != 1 || !exp.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("under 2 minutes left: %q %v %v, %d refreshes", tok, exp, err, calls)
	}
	saved, err := st.Load()
	if err != nil || saved.Token != "tok1" || strings.Join(saved.Groups, ",") != "qa" || !saved.Expires.Equal(t0.Add(8*time.Hour)) {
		t.Errorf("saved session %+v %v (the session's end must not move)", saved, err)
	}
	// A short token refreshes in its second half.
	if !needsRefresh(&session.Session{RefreshToken: "r", TokenIssued: t0, TokenExpires: t0.Add(6 * time.Second)}, t0.Add(3*time.Second)) ||
		needsRefresh(&session.Session{RefreshToken: "r", TokenIssued: t0, TokenExpires: t0.Add(6 * time.Second)}, t0.Add(2*time.Second)) {
		t.Error("needsRefresh for a 6-second token")
	}
}

func TestTokenDirectoryDownKeepsValidTokenThenFailsClosed(t *testing.T) {
	src, _, now, warn := newSource(t, func(context.Context, string, []byte, string) (*gateway.LoginResponse, error) {
		return nil, errs.UnavailableErrorf("the gateway cannot reach the LDAP directory")
	})
	*now = t0.Add(9 * time.Minute)
	if tok, _, err := src.Token(context.Background()); err != nil || tok != "tok0" {
		t.Fatalf("directory down, token valid: %q %v", tok, err)
	}
	if !strings.Contains(warn.String(), "cannot refresh") {
		t.Errorf("no warning: %q", warn)
	}
	*now = t0.Add(10*time.Minute + time.Second)
	_, _, err := src.Token(context.Background())
	var ke *errs.Error
	if err == nil || !errorsAs(err, &ke) || ke.Kind != errs.KindUnavailable {
		t.Errorf("directory down, token expired: %v, want KindUnavailable", err)
	}
}

func TestTokenRefusedRefreshIsAnError(t *testing.T) {
	src, _, now, _ := newSource(t, func(context.Context, string, []byte, string) (*gateway.LoginResponse, error) {
		return nil, errs.AuthErrorf("user \"bob\" is no longer in the directory")
	})
	*now = t0.Add(9 * time.Minute)
	_, _, err := src.Token(context.Background())
	var ke *errs.Error
	if !errorsAs(err, &ke) || ke.Kind != errs.KindAuth {
		t.Errorf("a refused refresh: %v, want KindAuth even with a valid token", err)
	}
	*now = t0.Add(9 * time.Hour)
	if _, _, err := src.Token(context.Background()); !errorsAs(err, &ke) || ke.Kind != errs.KindAuth {
		t.Errorf("past the session: %v", err)
	}
}
