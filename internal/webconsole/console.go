// Package webconsole is the browser console that `kgate serve` serves at
// "/": a login page, the user's projects and namespaces, pods (watched),
// a pod's details and events, its logs, and a terminal for admins.
//
// It is not a second gateway. The browser's Kubernetes requests go, under
// /kgate/console/k8s/, through the gateway's own request handling
// (authentication, policy decision, audit line, impersonating proxy, the
// exec upgrade); logins through the gateway's login endpoint and its rate
// limits. What the console adds is what a browser needs: the token in an
// HttpOnly cookie instead of an Authorization header, Origin checks on
// every state-changing request and every WebSocket upgrade, a strict
// Content-Security-Policy, streams that end when the token expires or the
// policy stops allowing them, and one audit line per terminal session.
package webconsole

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policy"
)

// Gateway is what the console uses of the gateway; *gateway.Gateway is one.
type Gateway interface {
	ServeAPI(w http.ResponseWriter, r *http.Request)
	ServeLogin(w http.ResponseWriter, r *http.Request)
	VerifyToken(token string) (*gateway.Claims, error)
	IdentityOf(c *gateway.Claims) policy.Identity
	CurrentPolicy() *policy.Policy
	PolicyRequest(r *http.Request) (policy.Request, bool, error)
	Issuer() string
	AuditLog(e audit.Entry) error
}

// Options configure the console.
type Options struct {
	Gateway Gateway
	Log     *slog.Logger
	// Recheck is how often a running stream (terminal, followed log,
	// watch) is decided again with the policy in effect; default 5s.
	Recheck time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console is the web console's handler.
type Console struct {
	o      Options
	assets http.Handler
	index  []byte
	built  bool
	// origin is the issuer's origin (scheme://host:port), when it names a
	// usable one.
	origin string
}

// DefaultRecheck is how often running streams are decided again.
const DefaultRecheck = 5 * time.Second

// Paths under gateway.ConsolePrefix.
const (
	prefix     = gateway.ConsolePrefix
	apiPrefix  = prefix + "api/"
	k8sPrefix  = prefix + "k8s"
	assetsPath = prefix + "assets/"
)

// New returns the console.
func New(o Options) *Console {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Recheck <= 0 {
		o.Recheck = DefaultRecheck
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{o: o}
	c.index, c.built = indexPage()
	c.assets = http.StripPrefix(assetsPath, assetHandler())
	if u, err := url.Parse(o.Gateway.Issuer()); err == nil && u.Scheme == "https" && u.Host != "" && u.Port() != "0" {
		c.origin = u.Scheme + "://" + u.Host
	}
	return c
}

// contentSecurityPolicy allows nothing but the console's own files and its
// own origin: no inline script, no eval, no frames, no other hosts. Styles
// may be inline because xterm.js sizes its cells with <style> elements it
// writes at run time; scripts may not.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// ServeHTTP serves "/" and everything under gateway.ConsolePrefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	p := r.URL.Path
	switch {
	case p == "/" || p == prefix:
		c.serveIndex(w, r)
	case strings.HasPrefix(p, assetsPath):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		c.assets.ServeHTTP(w, r)
	case p == apiPrefix+"login":
		c.serveLogin(w, r)
	case p == apiPrefix+"logout":
		c.serveLogout(w, r)
	case p == apiPrefix+"session":
		c.serveSession(w, r)
	case p == apiPrefix+"access":
		c.serveAccess(w, r)
	case strings.HasPrefix(p, k8sPrefix+"/"):
		c.serveK8s(w, r)
	default:
		writeError(w, http.StatusNotFound, "NotFound", "the web console has no page "+p)
	}
}

func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	if !c.built {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write(c.index)
}

// sameOrigin reports whether a browser request comes from a page of the
// gateway itself: its Origin is the issuer's origin or https:// and the
// Host the browser connected to. Another scheme, host or port is another
// origin.
func (c *Console) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	if c.origin != "" && strings.EqualFold(o, c.origin) {
		return true
	}
	return r.TLS != nil && r.Host != "" && strings.EqualFold(o, "https://"+r.Host)
}
