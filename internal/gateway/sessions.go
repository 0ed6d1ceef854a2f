package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policy"
)

// Paths of the session and lock endpoints.
const (
	RefreshPath = "/kgate/v1/refresh"
	LogoutPath  = "/kgate/v1/logout"
	LocksPath   = "/kgate/v1/locks"
)

// Directory reads a user's entry again with the service account, without
// their password; *ldapauth.Authenticator is one.
type Directory interface {
	Lookup(ctx context.Context, username string) (*ldapauth.Identity, error)
}

// RefreshRequest is the body of POST /kgate/v1/refresh and /kgate/v1/logout.
type RefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// LockRequest is the body of POST /kgate/v1/locks.
type LockRequest struct {
	Target string `json:"target"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// TTL is a Go duration ("2h"); empty: until unlocked.
	TTL string `json:"ttl,omitempty"`
}

// LockList is the answer to GET /kgate/v1/locks.
type LockList struct {
	Items []Lock `json:"items"`
}

// maxSmallBody bounds the bodies of the session and lock endpoints.
const maxSmallBody = 16 << 10

// streams are the running long requests (exec, attach, port-forward,
// followed logs, watches), so that a lock or a logout ends them.
type streams struct {
	mu sync.Mutex
	m  map[*stream]struct{}
}

type stream struct {
	id     policy.Identity
	sid    string
	cancel context.CancelFunc
	rec    *recorder
}

// trackStream registers a streaming request; the returned request carries
// a context that a lock cancels, and untrack must be called when it ends.
func (g *Gateway) trackStream(r *http.Request, rec *recorder, id policy.Identity, sid string) (*http.Request, func()) {
	ctx, cancel := context.WithCancel(r.Context())
	s := &stream{id: id, sid: sid, cancel: cancel, rec: rec}
	g.streams.mu.Lock()
	if g.streams.m == nil {
		g.streams.m = map[*stream]struct{}{}
	}
	g.streams.m[s] = struct{}{}
	g.streams.mu.Unlock()
	// A lock that arrived after this request was checked, but before it
	// was registered, would miss it.
	if g.o.Locks != nil {
		if l, msg := g.o.Locks.Current().Check(id, sid, g.o.Now()); l != nil || msg != "" {
			cancel()
		}
	}
	return r.WithContext(ctx), func() {
		g.streams.mu.Lock()
		delete(g.streams.m, s)
		g.streams.mu.Unlock()
		cancel()
	}
}

// EnforceLocks ends the running streams that set refuses: their request
// context is cancelled (followed logs, watches) and a hijacked connection
// (exec, attach, port-forward) is closed.
func (g *Gateway) EnforceLocks(set *LockSet) {
	if set.Empty() {
		return
	}
	now := g.o.Now()
	g.streams.mu.Lock()
	var ended []*stream
	for s := range g.streams.m {
		if l, msg := set.Check(s.id, s.sid, now); l != nil || msg != "" {
			ended = append(ended, s)
			reason := msg
			if l != nil {
				reason = l.Message()
			}
			g.o.Log.Info("ending a stream of a locked user", "user", s.id.User, "reason", reason)
		}
	}
	g.streams.mu.Unlock()
	for _, s := range ended {
		s.cancel()
		g.mu.Lock()
		c := s.rec.conn
		g.mu.Unlock()
		if c != nil {
			_ = c.Close()
		}
	}
}

// refuseLocked answers 403 (a lock) or 401 (a revoked session) and logs e
// when id or its session is refused; it reports whether it did.
func (g *Gateway) refuseLocked(w http.ResponseWriter, e audit.Entry, id policy.Identity, sid string) bool {
	if g.o.Locks == nil {
		return false
	}
	l, msg := g.o.Locks.Current().Check(id, sid, g.o.Now())
	switch {
	case l != nil:
		e.Decision, e.Reason = audit.Deny, l.Message()
		_ = g.decided(e, "locked")
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, e.Reason, nil)
		return true
	case msg != "":
		e.Decision, e.Reason = audit.Deny, msg
		_ = g.decided(e, "unauthenticated")
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, msg, nil)
		return true
	}
	return false
}

func decodeSmall(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxSmallBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// serveRefresh exchanges a refresh credential for a new access token. The
// directory is asked again with the service account: the user must still be
// found (and active), and the groups are read afresh, so a removal from a
// group takes effect at the next refresh. A lock or a revoked session
// refuses it.
func (g *Gateway) serveRefresh(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "refresh with POST", nil)
		return
	}
	var req RefreshRequest
	if err := decodeSmall(r, &req); err != nil || req.RefreshToken == "" {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the refresh request is not valid JSON with a refreshToken", nil)
		return
	}
	e := audit.Entry{Time: g.o.Now(), ID: audit.NewID(), Verb: "refresh", Resource: "tokens", Decision: audit.Deny, Client: r.RemoteAddr}
	c, err := g.o.Tokens.VerifyRefresh(req.RefreshToken)
	if err != nil {
		e.Reason = "refresh credential refused: " + err.Error()
		_ = g.decided(e, "refresh")
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "the refresh credential is not valid: "+err.Error(), nil)
		return
	}
	e.User = strings.ToLower(c.Subject)
	// A revoked session or a locked user is refused before the directory
	// is asked; a group lock is checked again with the fresh groups.
	if g.refuseLocked(w, e, policy.Identity{User: e.User}, c.SessionID) {
		return
	}
	if g.o.Directory == nil {
		writeStatus(w, http.StatusNotImplemented, metav1.StatusReasonInternalError, "this gateway cannot refresh sessions (no directory)", nil)
		return
	}
	start := time.Now()
	id, err := g.o.Directory.Lookup(r.Context(), c.Subject)
	g.smetrics.refreshLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		var ke *errs.Error
		kind := errs.KindGeneric
		if errors.As(err, &ke) {
			kind = ke.Kind
		}
		switch kind {
		case errs.KindAuth:
			g.smetrics.refreshes.WithLabelValues("gone").Inc()
			e.Reason = "the directory no longer has the user: " + err.Error()
			_ = g.decided(e, "refresh")
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized,
				fmt.Sprintf("session of %s refused: %v", e.User, err), nil)
		case errs.KindUnavailable:
			g.smetrics.refreshes.WithLabelValues("unavailable").Inc()
			g.o.Log.Error("refresh: the directory is unavailable", "user", e.User, "err", err)
			writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
				"the gateway cannot reach the LDAP directory to refresh the session; try again later", nil)
		default:
			g.smetrics.refreshes.WithLabelValues("error").Inc()
			g.o.Log.Error("refresh failed", "user", e.User, "err", err)
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError,
				"the gateway could not refresh the session (see its log)", nil)
		}
		return
	}
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	e.Groups = groups
	if g.refuseLocked(w, e, identityOf(&Claims{RegisteredClaims: c.RegisteredClaims, Groups: groups}), c.SessionID) {
		return
	}
	tok, exp, err := g.o.Tokens.IssueAccess(c.Subject, id.DN, groups, c.SessionID, c.ExpiresAt.Time)
	if err != nil {
		g.o.Log.Error("issuing a token", "user", e.User, "err", err)
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway could not issue a token", nil)
		return
	}
	e.Decision, e.Reason = audit.Allow, "refreshed: "+id.Server+" still has the user; token valid until "+exp.UTC().Format(time.RFC3339)
	if err := g.decided(e, "refresh"); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway cannot write its audit log", nil)
		return
	}
	g.smetrics.refreshes.WithLabelValues("ok").Inc()
	writeJSON(w, LoginResponse{Token: tok, User: c.Subject, DN: id.DN, Groups: groups, Issuer: g.o.Tokens.Issuer,
		Expires: exp.UTC(), RefreshToken: req.RefreshToken, SessionExpires: c.ExpiresAt.UTC()})
}

// serveLogout revokes a session: its refresh credential and every access
// token issued under it are refused by every replica from then on.
func (g *Gateway) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "log out with POST", nil)
		return
	}
	var req RefreshRequest
	if err := decodeSmall(r, &req); err != nil || req.RefreshToken == "" {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the logout request is not valid JSON with a refreshToken", nil)
		return
	}
	c, err := g.o.Tokens.VerifyRefresh(req.RefreshToken)
	if err != nil {
		// An expired or foreign credential has nothing left to revoke.
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "the refresh credential is not valid: "+err.Error(), nil)
		return
	}
	e := audit.Entry{Time: g.o.Now(), ID: audit.NewID(), User: strings.ToLower(c.Subject), Verb: "logout", Resource: "tokens",
		Name: c.SessionID, Decision: audit.Allow, Reason: "session revoked", Client: r.RemoteAddr}
	if g.o.Locks == nil {
		writeStatus(w, http.StatusNotImplemented, metav1.StatusReasonInternalError, "this gateway cannot revoke sessions (no lock store)", nil)
		return
	}
	if err := g.o.Locks.Revoke(r.Context(), c.SessionID, e.User, c.ExpiresAt.Time); err != nil {
		g.o.Log.Error("revoking a session", "user", e.User, "err", err)
		writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the gateway could not store the revocation; try again", nil)
		return
	}
	_ = g.decided(e, "logout")
	writeJSON(w, map[string]string{"status": "revoked"})
}

// serveLocks is the lock API, for super admins only: GET lists, POST locks,
// DELETE /kgate/v1/locks/TARGET/NAME unlocks. Every lock and unlock is
// audited; going through the gateway (not to the ConfigMap directly) is
// what keeps "super admins only" the policy's rule, not the cluster's.
func (g *Gateway) serveLocks(w http.ResponseWriter, r *http.Request) {
	e := audit.Entry{Time: g.o.Now(), ID: audit.NewID(), Resource: "locks", Decision: audit.Deny, Client: r.RemoteAddr}
	claims, err := g.authenticate(r)
	if err != nil {
		e.Verb, e.Reason = "lock", "not authenticated: "+err.Error()
		_ = g.decided(e, "unauthenticated")
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, err.Error(), nil)
		return
	}
	id := identityOf(claims)
	e.User, e.Groups = id.User, id.Groups
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, LocksPath), "/")
	switch {
	case r.Method == http.MethodGet && rest == "":
		e.Verb = "list"
	case r.Method == http.MethodPost && rest == "":
		e.Verb = "lock"
	case r.Method == http.MethodDelete && rest != "":
		e.Verb = "unlock"
	default:
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"use GET or POST "+LocksPath+", or DELETE "+LocksPath+"/TARGET/NAME", nil)
		return
	}
	if g.refuseLocked(w, e, id, claims.SessionID) {
		return
	}
	l := g.policy.Load()
	if l == nil {
		writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the gateway has no usable policy", nil)
		return
	}
	if !l.Policy.IsSuperAdmin(id) {
		e.Reason = fmt.Sprintf("user %q is not a super admin; only super admins may %s locks", id.User, e.Verb)
		_ = g.decided(e, "locks")
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, e.Reason, nil)
		return
	}
	if g.o.Locks == nil {
		writeStatus(w, http.StatusNotImplemented, metav1.StatusReasonInternalError, errNoLocks.Error(), nil)
		return
	}
	now := g.o.Now()
	switch e.Verb {
	case "list":
		e.Decision, e.Reason = audit.Allow, "super admin"
		_ = g.decided(e, "locks")
		writeJSON(w, LockList{Items: g.o.Locks.Current().List(now)})
	case "lock":
		var req LockRequest
		if err := decodeSmall(r, &req); err != nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the lock request is not valid JSON: "+err.Error(), nil)
			return
		}
		lk, err := newLock(req, id.User, now)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error(), nil)
			return
		}
		e.Name = lk.Target + "/" + lk.Name
		e.Decision, e.Reason = audit.Allow, lk.Message()
		if err := g.decided(e, "locks"); err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway cannot write its audit log", nil)
			return
		}
		if err := g.o.Locks.Lock(r.Context(), lk); err != nil {
			g.o.Log.Error("storing a lock", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the gateway could not store the lock: "+err.Error(), nil)
			return
		}
		writeJSON(w, lk)
	case "unlock":
		target, name, _ := strings.Cut(rest, "/")
		name = strings.ToLower(strings.TrimSpace(name))
		if target != LockUser && target != LockGroup || name == "" {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "unlock "+LocksPath+"/user/NAME or "+LocksPath+"/group/NAME", nil)
			return
		}
		e.Name = target + "/" + name
		e.Decision, e.Reason = audit.Allow, "unlocked by "+id.User
		if err := g.decided(e, "locks"); err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway cannot write its audit log", nil)
			return
		}
		found, err := g.o.Locks.Unlock(r.Context(), target, name)
		if err != nil {
			g.o.Log.Error("removing a lock", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the gateway could not remove the lock: "+err.Error(), nil)
			return
		}
		if !found {
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("%s %q is not locked", target, name), nil)
			return
		}
		writeJSON(w, map[string]string{"status": "unlocked"})
	}
}

// newLock checks a lock request.
func newLock(req LockRequest, by string, now time.Time) (Lock, error) {
	l := Lock{Target: req.Target, Name: strings.ToLower(strings.TrimSpace(req.Name)), Reason: strings.TrimSpace(req.Reason),
		By: by, Created: now.UTC().Truncate(time.Second)}
	if l.Target != LockUser && l.Target != LockGroup {
		return Lock{}, fmt.Errorf("a lock's target is user or group, not %q", req.Target)
	}
	if l.Name == "" || len(l.Name) > 256 || strings.ContainsAny(l.Name, "\x00\n\r/") {
		return Lock{}, fmt.Errorf("the %s name %q is not valid", l.Target, req.Name)
	}
	if l.Reason == "" {
		return Lock{}, errors.New("a lock needs a reason (--reason)")
	}
	if len(l.Reason) > 1024 {
		return Lock{}, errors.New("the reason is longer than 1024 bytes")
	}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			return Lock{}, fmt.Errorf("the ttl %q is not a positive duration", req.TTL)
		}
		l.Expires = l.Created.Add(d)
	}
	return l, nil
}

// sessionMetrics count refreshes and time the directory's answer to them.
type sessionMetrics struct {
	refreshes      *prometheus.CounterVec
	refreshLatency prometheus.Histogram
}

func newSessionMetrics(reg *prometheus.Registry) *sessionMetrics {
	m := &sessionMetrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kgate_gateway_refreshes_total",
			Help: "Session refreshes, by result (ok, gone, unavailable, error); locked and revoked ones count as decisions.",
		}, []string{"result"}),
		refreshLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kgate_gateway_refresh_directory_seconds",
			Help:    "Time the directory took to answer a refresh (one service-account bind and search).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	reg.MustRegister(m.refreshes, m.refreshLatency)
	return m
}
