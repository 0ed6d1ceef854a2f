// Package gwsession keeps a gateway session's access token fresh: before it
// expires, the session's refresh credential buys a new one from the gateway
// (which asks the directory again), and the session file is rewritten. Every
// gateway-mode request of the CLI, and `kgate credential` for kubectl, get
// their token here.
package gwsession

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/session"
)

// RefreshFunc asks the gateway for a new access token; gateway.Refresh is one.
type RefreshFunc func(ctx context.Context, server string, caPEM []byte, refreshToken string) (*gateway.LoginResponse, error)

// maxMargin bounds how early before its expiry a token is refreshed.
const maxMargin = 2 * time.Minute

// Source hands out the session's access token, refreshed when it is close
// to expiry. It is safe for concurrent use.
type Source struct {
	Store *session.Store
	// Refresh is nil for gateway.Refresh.
	Refresh RefreshFunc
	// Warn receives the one warning of a refresh that failed while the
	// token was still valid; nil discards.
	Warn io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	s      *session.Session
	warned bool
}

// New returns a Source for the session s, kept in store.
func New(store *session.Store, s *session.Session, warn io.Writer) *Source {
	return &Source{Store: store, s: s, Warn: warn}
}

func (src *Source) now() time.Time {
	if src.Now != nil {
		return src.Now()
	}
	return time.Now()
}

// needsRefresh reports whether s's token should be refreshed at now: in the
// last half of its life, at most maxMargin before its expiry.
func needsRefresh(s *session.Session, now time.Time) bool {
	if s.RefreshToken == "" || s.TokenExpires.IsZero() {
		return false // a session from before refresh credentials: its token lasts the session
	}
	margin := maxMargin
	if !s.TokenIssued.IsZero() {
		margin = min(margin, s.TokenExpires.Sub(s.TokenIssued)/2)
	}
	return !now.Before(s.TokenExpires.Add(-margin))
}

// Session is the session as last read or refreshed.
func (src *Source) Session() *session.Session {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.s
}

// Token returns a valid access token and its expiry, refreshing first when
// it is due. A refresh refused (user gone from the directory, locked,
// logged out) is an error; a gateway or directory that cannot be reached
// keeps the current token, with a warning, while it is valid, and is a
// KindUnavailable error once it has expired: never a longer session.
func (src *Source) Token(ctx context.Context) (string, time.Time, error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	s := src.s
	now := src.now()
	if !now.Before(s.Expires) {
		return "", time.Time{}, errs.WithHint(errs.AuthErrorf("the session of %s with %s expired at %s", s.User, s.Issuer,
			s.Expires.Local().Format(time.DateTime)), "Run `kgate login --server "+s.Issuer+"` to log in again.")
	}
	if !needsRefresh(s, now) {
		return s.Token, tokenExpiry(s), nil
	}
	// Another kgate process may have refreshed it already.
	if cur, err := src.Store.Load(); err == nil && cur.RefreshToken == s.RefreshToken && cur.Issuer == s.Issuer {
		s, src.s = cur, cur
		if !needsRefresh(s, now) {
			return s.Token, tokenExpiry(s), nil
		}
	}
	refresh := src.Refresh
	if refresh == nil {
		refresh = gateway.Refresh
	}
	lr, err := refresh(ctx, s.Issuer, []byte(s.GatewayCA), s.RefreshToken)
	if err != nil {
		var ke *errs.Error
		if errors.As(err, &ke) && ke.Kind == errs.KindUnavailable {
			if now.Before(s.TokenExpires) {
				if !src.warned && src.Warn != nil {
					fmt.Fprintf(src.Warn, "Warning: cannot refresh the session with %s (%v); using the current token until %s.\n",
						s.Issuer, err, s.TokenExpires.Local().Format(time.TimeOnly))
				}
				src.warned = true
				return s.Token, s.TokenExpires, nil
			}
			return "", time.Time{}, errs.WithHint(errs.UnavailableErrorf("the access token of %s expired at %s and cannot be refreshed: %v",
				s.User, s.TokenExpires.Local().Format(time.TimeOnly), err), "Try again once the gateway and its directory are reachable.")
		}
		return "", time.Time{}, err
	}
	ns := *s
	ns.Token, ns.TokenIssued, ns.TokenExpires = lr.Token, now.UTC(), lr.Expires.UTC()
	ns.Groups = lr.Groups
	if ns.Groups == nil {
		ns.Groups = []string{}
	}
	if lr.DN != "" {
		ns.DN = lr.DN
	}
	if err := src.Store.Save(&ns); err != nil {
		return "", time.Time{}, err
	}
	src.s, src.warned = &ns, false
	return ns.Token, ns.TokenExpires, nil
}

func tokenExpiry(s *session.Session) time.Time {
	if s.TokenExpires.IsZero() {
		return s.Expires
	}
	return s.TokenExpires
}

// WrapTransport sets each request's bearer token from the source; it fits
// rest.Config.WrapTransport, so exec, attach, port-forward and log streams
// get fresh tokens as ordinary requests do.
func (src *Source) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return &bearer{src: src, rt: rt}
}

type bearer struct {
	src *Source
	rt  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, _, err := b.src.Token(r.Context())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.rt.RoundTrip(r)
}

// WrappedRoundTripper lets client-go see through the wrapper.
func (b *bearer) WrappedRoundTripper() http.RoundTripper { return b.rt }
