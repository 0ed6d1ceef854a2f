package webconsole

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policy"
)

// sessionCookie holds the gateway token: HttpOnly (no script reads it),
// Secure, SameSite=Strict (no other site's page sends it), and sent only to
// the console's own endpoints, never to the API paths.
const (
	sessionCookie = "__Secure-kgate-console"
	cookiePath    = gateway.ConsolePrefix
	// csrfHeader carries the token's CSRF value on every POST.
	csrfHeader = "X-Kgate-Csrf"
	// maxLoginBody bounds a login request, as the gateway's own login does.
	maxLoginBody = 16 << 10
)

// csrfToken is derived from the session token: only a page that can read
// the console's own JSON answers (same origin) learns it, and it needs no
// state on any replica.
func csrfToken(token string) string {
	sum := sha256.Sum256([]byte("kgate-console-csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// session is the caller's verified token.
type session struct {
	token  string
	claims *gateway.Claims
	id     policy.Identity
}

// errNoSession is a request without a (valid) console cookie.
var errNoSession = errors.New("not logged in")

func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	cl, err := c.o.Gateway.VerifyToken(ck.Value)
	if err != nil {
		return nil, err
	}
	// The console holds the token to its stated expiry, without the
	// gateway's clock-skew leeway.
	if cl.ExpiresAt == nil || !c.o.Now().Before(cl.ExpiresAt.Time) {
		return nil, errors.New("token has expired")
	}
	return &session{token: ck.Value, claims: cl, id: c.o.Gateway.IdentityOf(cl)}, nil
}

func (c *Console) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	ck := &http.Cookie{
		Name: sessionCookie, Value: value, Path: cookiePath,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
		ck.MaxAge = max(1, int(expires.Sub(c.o.Now())/time.Second))
	}
	http.SetCookie(w, ck)
}

// checkPost refuses a state-changing request that a page of another origin
// could have sent: it must be a POST of JSON, from our own origin; with a
// session, it must also carry the session's CSRF token.
func (c *Console) checkPost(w http.ResponseWriter, r *http.Request, s *session) bool {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return false
	}
	if !c.sameOrigin(r) {
		c.o.Log.Warn("web console: refused a request from another origin", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "client", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "Forbidden", "the request does not come from the gateway's own page (Origin "+strconv.Quote(r.Header.Get("Origin"))+")")
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "send JSON (Content-Type: application/json)")
		return false
	}
	if s != nil {
		got := r.Header.Get(csrfHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(s.token))) != 1 {
			writeError(w, http.StatusForbidden, "Forbidden", "the request has no valid "+csrfHeader+" header")
			return false
		}
	}
	return true
}

// SessionInfo is what the page learns about its user. It never holds the
// token itself.
type SessionInfo struct {
	User       string              `json:"user"`
	Groups     []string            `json:"groups"`
	Expires    time.Time           `json:"expires"`
	CSRF       string              `json:"csrf"`
	SuperAdmin bool                `json:"superAdmin"`
	Projects   []policy.Membership `json:"projects"`
}

func (c *Console) info(token string, cl *gateway.Claims) SessionInfo {
	id := c.o.Gateway.IdentityOf(cl)
	si := SessionInfo{User: cl.Subject, Groups: cl.Groups, CSRF: csrfToken(token), Projects: []policy.Membership{}}
	if si.Groups == nil {
		si.Groups = []string{}
	}
	if cl.ExpiresAt != nil {
		si.Expires = cl.ExpiresAt.UTC()
	}
	if p := c.o.Gateway.CurrentPolicy(); p != nil {
		si.SuperAdmin = p.IsSuperAdmin(id)
		if m := p.ProjectsOf(id); m != nil {
			si.Projects = m
		}
	}
	return si
}

// serveLogin sends the username and password to the gateway's own login
// (the same directory check, the same rate limits, the same audit line)
// and keeps the token it answers with in the cookie.
func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !c.checkPost(w, r, nil) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLoginBody+1))
	if err != nil || len(body) > maxLoginBody {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the login request is too large")
		return
	}
	var req gateway.LoginRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "the login request is not valid JSON")
		return
	}
	body, _ = json.Marshal(req)
	in := r.Clone(r.Context())
	in.URL.Path = gateway.LoginPath
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	in.Header.Del("Cookie")
	rec := &capture{header: http.Header{}}
	c.o.Gateway.ServeLogin(rec, in)
	if rec.code != http.StatusOK {
		// The gateway's Status (invalid password, rate-limited with its
		// Retry-After, directory unavailable) as it is.
		for _, k := range []string{"Content-Type", "Retry-After"} {
			if v := rec.header.Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	var lr gateway.LoginResponse
	if err := json.Unmarshal(rec.body.Bytes(), &lr); err != nil || lr.Token == "" {
		writeError(w, http.StatusInternalServerError, "InternalError", "the gateway's login answer cannot be read")
		return
	}
	cl, err := c.o.Gateway.VerifyToken(lr.Token)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "the gateway issued a token it does not accept: "+err.Error())
		return
	}
	c.setCookie(w, lr.Token, lr.Expires)
	writeJSON(w, http.StatusOK, c.info(lr.Token, cl))
}

// serveLogout clears the cookie. The token itself stays valid until it
// expires (the gateway keeps no state); the browser no longer has it.
func (c *Console) serveLogout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	s, err := c.session(r)
	if err != nil {
		// Nothing to protect: clear whatever cookie there is.
		if r.Method == http.MethodPost && c.sameOrigin(r) {
			c.setCookie(w, "", time.Time{})
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s = &session{token: "\x00"}
	}
	if !c.checkPost(w, r, s) {
		return
	}
	c.setCookie(w, "", time.Time{})
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) serveSession(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	s, err := c.session(r)
	if err != nil {
		c.unauthorized(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.info(s.token, s.claims))
}

func (c *Console) unauthorized(w http.ResponseWriter, err error) {
	if !errors.Is(err, errNoSession) {
		// A cookie the gateway no longer accepts: drop it.
		c.setCookie(w, "", time.Time{})
	}
	writeError(w, http.StatusUnauthorized, "Unauthorized", "log in: "+err.Error())
}

// Access is what the user may do in a namespace, for the page to show or
// hide its buttons. The gateway decides again on every request.
type Access struct {
	Namespace string      `json:"namespace"`
	Role      policy.Role `json:"role"`
	Exec      Decision    `json:"exec"`
}

// Decision is one policy answer with its reason.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

func (c *Console) serveAccess(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	s, err := c.session(r)
	if err != nil {
		c.unauthorized(w, err)
		return
	}
	ns, pod := r.URL.Query().Get("namespace"), r.URL.Query().Get("pod")
	if ns == "" {
		writeError(w, http.StatusBadRequest, "BadRequest", "no namespace")
		return
	}
	p := c.o.Gateway.CurrentPolicy()
	if p == nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the gateway has no usable policy")
		return
	}
	d := p.Decide(s.id, policy.Request{Verb: policy.VerbExec, Resource: "pods", Subresource: "exec", Namespace: ns, Name: pod})
	writeJSON(w, http.StatusOK, Access{Namespace: ns, Role: p.RoleIn(s.id, ns), Exec: Decision{Allowed: d.Allowed, Reason: d.Reason}})
}

// capture is a ResponseWriter that keeps the answer.
type capture struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *capture) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.body.Write(b)
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError answers with a Kubernetes-style Status, as the gateway does,
// so that the page reads every error the same way.
func writeError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": msg, "code": code,
	})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use "+allow)
}
