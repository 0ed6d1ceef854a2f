package gateway

import (
	"net/http"
	"strings"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/policy"
)

// ConsolePrefix is where the web console (internal/webconsole) serves its
// assets and its own endpoints; its start page is "/".
const ConsolePrefix = "/kgate/console/"

// SetConsole mounts the web console: "/" (for a request with no
// Authorization header, as a browser sends it) and everything under
// ConsolePrefix. Call it before serving.
func (g *Gateway) SetConsole(h http.Handler) { g.console = h }

// consoleRequest reports whether r is for the web console. "/" with a
// bearer token stays the API server's path list (kubectl get --raw /).
func (g *Gateway) consoleRequest(r *http.Request) bool {
	if g.console == nil {
		return false
	}
	if r.URL.Path == "/" {
		return r.Header.Get("Authorization") == ""
	}
	return strings.HasPrefix(r.URL.Path, ConsolePrefix)
}

// ServeAPI is the gateway's handling of one Kubernetes API request:
// authentication (the Authorization header), the policy decision, the audit
// line and the forwarding, upgrades included. The web console sends its
// users' requests through it. An audit id in the request's context
// (audit.WithID), which only code in this process can put there, is the
// decision's id.
func (g *Gateway) ServeAPI(w http.ResponseWriter, r *http.Request) { g.serveAPI(w, r) }

// ServeLogin is the gateway's login endpoint, with its rate limits.
func (g *Gateway) ServeLogin(w http.ResponseWriter, r *http.Request) { g.serveLogin(w, r) }

// VerifyToken checks a token as every API request's is checked.
func (g *Gateway) VerifyToken(token string) (*Claims, error) { return g.o.Tokens.Verify(token) }

// IdentityOf is whom the gateway acts as for the holder of c.
func (g *Gateway) IdentityOf(c *Claims) policy.Identity { return identityOf(c) }

// CurrentPolicy is the policy in effect; nil when there is none (the
// gateway then refuses everything). On a multi-cluster gateway it is the
// policy's view of the console's cluster (DefaultCluster, else the first),
// the one ServeAPI forwards to; nil when the policy does not name it.
func (g *Gateway) CurrentPolicy() *policy.Policy {
	if l := g.policy.Load(); l != nil {
		p, err := policyFor(l.Policy, g.home)
		if err != nil {
			return nil
		}
		return p
	}
	return nil
}

// Issuer is the gateway's URL as users reach it.
func (g *Gateway) Issuer() string { return g.o.Tokens.Issuer }

// AuditLog writes one audit line, as the gateway's own decisions are.
func (g *Gateway) AuditLog(e audit.Entry) error { return g.o.Audit.Log(e) }

// PolicyRequest is how the gateway's policy sees r (an API request), and
// whether it may last (an upgrade, a watch, a followed log): what the web
// console re-checks while a stream runs.
func (g *Gateway) PolicyRequest(r *http.Request) (req policy.Request, streaming bool, err error) {
	info, err := parseRequestInfo(r)
	if err != nil {
		return policy.Request{}, false, err
	}
	c := classify(info, r)
	return c.req, c.streaming, nil
}
