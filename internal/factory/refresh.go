package factory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/session"
)

// lookupFunc reads a user again from the directory; (*ldapauth.Authenticator).Lookup is one.
type lookupFunc func(ctx context.Context, username string) (*ldapauth.Identity, error)

// refreshDirect re-reads the groups of a direct-mode session from LDAP
// with the service account once the session is older than the refresh
// interval, and records them. A user the directory no longer has ends the
// session (exit 3); a directory that cannot be reached keeps it as it is,
// with a warning, until its expiry - a refresh never extends a session.
func refreshDirect(ctx context.Context, cfg *config.Config, st *session.Store, s *session.Session,
	lookup lookupFunc, warn interface{ Write([]byte) (int, error) }, now time.Time) (*session.Session, error) {
	every := cfg.Session.RefreshInterval
	if every <= 0 {
		every = time.Hour
	}
	last := s.Refreshed
	if last.IsZero() {
		last = s.Issued
	}
	if now.Sub(last) < every {
		return s, nil
	}
	if lookup == nil {
		a, err := ldapauth.New(cfg.LDAP)
		if err != nil {
			return nil, err
		}
		lookup = a.Lookup
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := lookup(ctx, s.User)
	if err != nil {
		var ke *errs.Error
		if errors.As(err, &ke) && ke.Kind == errs.KindUnavailable {
			fmt.Fprintf(warn, "Warning: cannot read the groups of %s again (%v); keeping the session's groups until it expires at %s.\n",
				s.User, err, s.Expires.Local().Format(time.DateTime))
			return s, nil
		}
		if errors.As(err, &ke) && ke.Kind == errs.KindAuth {
			if _, derr := st.Delete(); derr != nil {
				return nil, derr
			}
			return nil, errs.WithHint(errs.AuthErrorf("the session of %s has ended: %v", s.User, ke.Err), session.LoginHint)
		}
		return nil, err
	}
	ns := *s
	ns.Groups, ns.Refreshed = id.Groups, now.UTC()
	if ns.Groups == nil {
		ns.Groups = []string{}
	}
	if id.DN != "" {
		ns.DN = id.DN
	}
	if err := st.Save(&ns); err != nil {
		return nil, err
	}
	return &ns, nil
}
