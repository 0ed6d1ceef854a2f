package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
)

// LoginRequest is the body of POST /kgate/v1/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is the answer to a successful login.
type LoginResponse struct {
	Token   string    `json:"token"`
	User    string    `json:"user"`
	DN      string    `json:"dn,omitempty"`
	Groups  []string  `json:"groups"`
	Issuer  string    `json:"issuer"`
	Expires time.Time `json:"expires"`
	// RefreshToken is the session's refresh credential (POST it to
	// /kgate/v1/refresh for a new token); SessionExpires is its end.
	RefreshToken   string    `json:"refreshToken,omitempty"`
	SessionExpires time.Time `json:"sessionExpires,omitzero"`
	// Clusters are the clusters a multi-cluster gateway fronts, each at
	// Issuer/clusters/NAME (the token is good for all of them), and
	// DefaultCluster the one of the unprefixed paths; empty for a
	// single-cluster gateway.
	Clusters       []string `json:"clusters,omitempty"`
	DefaultCluster string   `json:"defaultCluster,omitempty"`
}

// maxLoginBody bounds a login request.
const maxLoginBody = 16 << 10

// serveLogin checks a username and password against the directory, exactly
// as `kgate login` does in direct mode, and returns a signed token. Failed
// logins are limited per user and per client address; a limited attempt is
// refused before the directory is asked.
func (g *Gateway) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "log in with POST", nil)
		return
	}
	var req LoginRequest
	lb, ok := limitBody(w, r, maxLoginBody, min(g.o.RequestBodyTimeout, loginBodyTimeout))
	if !ok {
		g.metrics.logins.WithLabelValues("invalid").Inc()
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if code, reason, msg, ok := lb.clientFault(); ok {
			g.metrics.logins.WithLabelValues("invalid").Inc()
			w.Header().Set("Connection", "close")
			writeStatus(w, code, reason, msg, nil)
			return
		}
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the login request is not valid JSON: "+err.Error(), nil)
		return
	}
	addr := clientIP(r)
	e := audit.Entry{Time: g.o.Now(), ID: audit.NewID(), Verb: "login", Resource: "tokens", Decision: audit.Deny, Client: r.RemoteAddr}
	// Failures are counted under the name as the directory matches it, so
	// that "Carol", "ｃａｒｏｌ" and "carol " are one user to the limits.
	user, err := normalizeUsername(req.Username)
	if err != nil {
		g.metrics.logins.WithLabelValues("invalid").Inc()
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	e.User = user

	if wait, why, lim, scope := g.limiter.check(user, addr); wait > 0 {
		g.metrics.logins.WithLabelValues("ratelimited").Inc()
		e.Reason = why + "; retry in " + wait.String()
		g.o.Log.Warn("login rate-limited", "user", user, "client", addr, "limit", lim.burst,
			"window", lim.window.String(), "scope", scope, "retryAfter", wait.String())
		_ = g.decided(e, "login")
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		writeStatus(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, e.Reason,
			&metav1.StatusDetails{RetryAfterSeconds: int32(wait / time.Second)})
		return
	}

	id, err := g.o.Auth.Authenticate(r.Context(), strings.TrimSpace(req.Username), req.Password)
	if err != nil {
		var ke *errs.Error
		kind := errs.KindGeneric
		if errors.As(err, &ke) {
			kind = ke.Kind
		}
		switch kind {
		case errs.KindAuth:
			g.limiter.fail(user, addr)
			g.metrics.logins.WithLabelValues("invalid").Inc()
			e.Reason = "invalid username or password"
			_ = g.decided(e, "login")
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "invalid username or password", nil)
		case errs.KindUnavailable:
			g.metrics.logins.WithLabelValues("unavailable").Inc()
			g.o.Log.Error("login: the directory is unavailable", "user", user, "err", err)
			writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
				"the gateway cannot reach the LDAP directory; try again later", nil)
		default:
			g.metrics.logins.WithLabelValues("error").Inc()
			g.o.Log.Error("login failed", "user", user, "err", err)
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError,
				"the gateway could not check the password (see its log)", nil)
		}
		return
	}
	e.User = strings.ToLower(id.Username)
	if strings.HasPrefix(e.User, "system:") {
		g.metrics.logins.WithLabelValues("invalid").Inc()
		e.Reason = fmt.Sprintf("user %q has a reserved Kubernetes name", e.User)
		_ = g.decided(e, "login")
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, e.Reason, nil)
		return
	}
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	e.Groups = groups
	if g.refuseLocked(w, e, identityOf(&Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: id.Username}, Groups: groups}), "") {
		return
	}
	sess, err := g.o.Tokens.IssueSession(id.Username, id.DN, groups)
	if err != nil {
		g.o.Log.Error("issuing a token", "user", user, "err", err)
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway could not issue a token", nil)
		return
	}
	tok, exp := sess.Access, sess.AccessExpires
	e.Groups = groups
	e.Decision, e.Reason = audit.Allow, "password accepted by "+id.Server+"; token valid until "+exp.UTC().Format(time.RFC3339)+
		", session until "+sess.SessionExpires.UTC().Format(time.RFC3339)
	if err := g.decided(e, "login"); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway cannot write its audit log", nil)
		return
	}
	g.metrics.logins.WithLabelValues("ok").Inc()
	b, _ := json.Marshal(LoginResponse{Token: tok, User: id.Username, DN: id.DN, Groups: groups, Issuer: g.o.Tokens.Issuer, Expires: exp.UTC(),
		RefreshToken: sess.Refresh, SessionExpires: sess.SessionExpires.UTC(), Clusters: g.ClusterNames(), DefaultCluster: g.o.DefaultCluster})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// clientIP is the address a request came from, without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
