package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kgate/kgate/internal/audit"
)

// forwarding is whom the gateway acts as for one request and under which
// audit ID. It travels in the request's context to actAs, the innermost
// round tripper of every path to the API server, which writes it onto the
// outbound request itself: after the reverse proxies have removed the
// hop-by-hop headers a client named in Connection, and after the upgrade
// proxy has cloned what the client sent. Nothing a client sends can take
// it away.
type forwarding struct {
	// id is the gateway's own audit ID for the request.
	id     string
	user   string
	groups []string
	// own marks the gateway's own calls, made with its own identity and no
	// impersonation: listing (and watching) namespace names to filter them
	// for a project member (see namespaceListProxy). Nothing else is.
	own bool
}

type forwardingKey struct{}

func withForwarding(ctx context.Context, f *forwarding) context.Context {
	return context.WithValue(ctx, forwardingKey{}, f)
}

// errNoIdentity is what a request to the API server gets when no one set
// whom it acts as: the gateway never forwards with its own identity by
// default.
var errNoIdentity = errors.New("the gateway refuses to forward a request without an identity to act as")

// actAs sets Impersonate-User, Impersonate-Group and Audit-ID on the
// outbound request, the one the transport writes to the API server.
type actAs struct {
	next http.RoundTripper
	// upgrade: the request is written as it is to a dialed connection
	// (exec, attach, port-forward), so the hop-by-hop headers are the
	// gateway's to set.
	upgrade bool
}

func (a actAs) RoundTrip(r *http.Request) (*http.Response, error) {
	f, _ := r.Context().Value(forwardingKey{}).(*forwarding)
	if f == nil || (!f.own && f.user == "") {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, errNoIdentity
	}
	out := r.Clone(r.Context())
	for k := range out.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "impersonate-") || strings.HasPrefix(lk, "x-remote-") || lk == "audit-id" {
			delete(out.Header, k)
		}
	}
	if a.upgrade {
		for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer"} {
			out.Header.Del(k)
		}
		out.Header.Set("Connection", "Upgrade")
	}
	out.Header.Set(audit.HeaderID, f.id)
	if !f.own {
		out.Header.Set("Impersonate-User", f.user)
		for _, g := range f.groups {
			out.Header.Add("Impersonate-Group", g)
		}
	}
	return a.next.RoundTrip(out)
}

// WrappedRoundTripper lets client-go find the transport beneath.
func (a actAs) WrappedRoundTripper() http.RoundTripper { return a.next }

// allowedConnectionTokens are the only Connection options a client may
// send. Any other names a header the reverse proxy would remove as
// hop-by-hop: nothing a client names may be taken off the request.
var allowedConnectionTokens = map[string]bool{"close": true, "keep-alive": true, "upgrade": true}

func badConnectionMessage(tok string) string {
	return fmt.Sprintf("the gateway refuses the Connection option %q: only close, keep-alive and Upgrade are allowed", tok)
}

// badConnectionToken returns the first option of the request's Connection
// headers (every line, every spelling of the name, comma lists) that is not
// close, keep-alive or Upgrade.
func badConnectionToken(h http.Header) (string, bool) {
	for k, vs := range h {
		if !strings.EqualFold(k, "Connection") {
			continue
		}
		for _, v := range vs {
			for _, tok := range strings.Split(v, ",") {
				tok = strings.TrimSpace(tok)
				if tok == "" {
					continue
				}
				if !allowedConnectionTokens[strings.ToLower(tok)] {
					return tok, true
				}
			}
		}
	}
	return "", false
}
