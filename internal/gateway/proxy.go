package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/policy"
)

// authenticate checks the request's bearer token.
func (g *Gateway) authenticate(r *http.Request) (*Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return nil, errors.New("no token: log in with `kgate login --server URL`")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, errors.New("the Authorization header is not a bearer token")
	}
	return g.o.Tokens.Verify(strings.TrimSpace(tok))
}

// stripClientHeaders removes what a client must never choose: whom the
// gateway acts as (Impersonate-*), and the front-proxy identity headers an
// API server trusts from an authenticating proxy. It reports whether any
// impersonation header was there.
func stripClientHeaders(h http.Header) bool {
	found := false
	for k := range h {
		lk := strings.ToLower(k)
		switch {
		case strings.HasPrefix(lk, "impersonate-"):
			found = true
			delete(h, k)
		case strings.HasPrefix(lk, "x-remote-"):
			delete(h, k)
		}
	}
	return found
}

// clientAuditID is the Audit-ID the client sent (the kgate CLI sends its own
// decision's id), if it looks like one. The gateway keeps it only as a field
// of its audit line (clientAuditID): the ID it logs its decision under and
// sends to the API server is always its own, so that a client cannot make
// its requests look like another's in the cluster's audit log.
func clientAuditID(h http.Header) string {
	id := h.Get(audit.HeaderID)
	if len(id) == 0 || len(id) > 64 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return ""
		}
	}
	return id
}

// canonicalPath reports whether p, the request's decoded path, is a path
// the API server and the gateway read the same way: no "." or ".."
// segments, no empty segments, no escaped characters (escaped is the path
// as sent: a "%" there is an escape, "%3F" and "%2F" included), no ";" or
// "\" (which some servers and proxies split on) and no control characters.
// Kubernetes names need none of them.
func canonicalPath(p, escaped string) bool {
	if p == "" || p[0] != '/' || strings.ContainsAny(escaped, "%;\\") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] == 0x7f {
			return false
		}
	}
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// serveAPI authenticates, decides, logs and forwards one Kubernetes API
// request, in steps: parseAPI refuses what is malformed before anyone is
// asked, identify finds whom it is from, decide asks the policy and writes
// the audit log, forward sends it on as that user. A step that ends the
// request has answered the client itself.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := g.o.Now()
	g.inflight.Add(1)
	defer g.inflight.Add(-1)
	rec := &recorder{ResponseWriter: w, g: g, start: start}
	defer rec.done()
	if g.draining.Load() {
		// A request on a connection opened before the shutdown began.
		w.Header().Set("Connection", "close")
	}
	call, ok := g.parseAPI(rec, r, start)
	if !ok {
		return
	}
	if !g.identify(rec, call) {
		return
	}
	if !g.decide(rec, call) {
		return
	}
	g.forward(rec, call)
}

// apiCall is one API request as serveAPI's steps hand it on.
type apiCall struct {
	r *http.Request
	// up is the cluster the request is for.
	up *clusterUpstream
	// impersonating: the client sent impersonation headers of its own
	// (removed by parseAPI).
	impersonating bool
	c             classified
	// id is the request's Audit-ID.
	id string
	// e is its audit entry: a denial until decide says otherwise.
	e audit.Entry
	// claims and who are the sender's token and identity (identify).
	claims *Claims
	who    policy.Identity
	// pol is the policy as it applies to up's cluster (decide).
	pol *policy.Policy
	// filterNamespaces: the gateway lists or watches namespaces with its
	// own identity and filters them (decision).
	filterNamespaces bool
}

// parseAPI takes what needs no identity: the body limit, the client's own
// impersonation headers (removed), a Connection header naming a header, a
// path that is not canonical, a request the API server's parser refuses.
// It returns the request with its audit entry, or false once it has
// answered the client.
func (g *Gateway) parseAPI(rec *recorder, r *http.Request, start time.Time) (*apiCall, bool) {
	r, ok := g.limitAPIBody(rec, r)
	if !ok {
		return nil, false
	}
	// The cluster the request is for: its /clusters/NAME prefix (stripped
	// by routeCluster), else the gateway's one or default cluster.
	up := g.upstreamOf(r)
	impersonating := stripClientHeaders(r.Header)
	if impersonating {
		g.metrics.stripped.Inc()
	}
	if tok, bad := badConnectionToken(r.Header); bad {
		// A reverse proxy removes the headers Connection names: a client
		// could name the gateway's own ones. Nothing but close, keep-alive
		// and Upgrade has a use there.
		rec.verb = "invalid"
		g.o.Log.Warn("refused a Connection header naming a header", "option", tok, "client", r.RemoteAddr)
		writeStatus(rec, http.StatusBadRequest, metav1.StatusReasonBadRequest, badConnectionMessage(tok), nil)
		return nil, false
	}

	if r.URL.RawPath != "" || !canonicalPath(r.URL.Path, r.URL.EscapedPath()) {
		rec.verb = "invalid"
		writeStatus(rec, http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("the gateway refuses the path %q: it is not in canonical form", r.URL.EscapedPath()), nil)
		return nil, false
	}
	info, err := parseRequestInfo(r)
	if err != nil {
		rec.verb = "invalid"
		writeStatus(rec, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the gateway cannot parse the request: "+err.Error(), nil)
		return nil, false
	}
	c := classify(info, r)
	rec.verb = info.Verb
	if rec.verb == "" {
		rec.verb = "unknown"
	}
	id := audit.NewID()
	if own, ok := audit.IDFrom(r.Context()); ok {
		// In-process callers (the web console) choose the id: it is theirs,
		// generated the same way, never a client's.
		id = own
	}
	e := audit.Entry{
		Time: start, ID: id, ClientAuditID: clientAuditID(r.Header), Cluster: up.name, Namespace: c.req.Namespace, Verb: c.req.Verb, Resource: c.req.Resource,
		Subresource: c.req.Subresource, Name: c.req.Name, Decision: audit.Deny, Command: c.command, Client: r.RemoteAddr,
	}
	return &apiCall{r: r, up: up, impersonating: impersonating, c: c, id: id, e: e}, true
}

// identify authenticates the request's token (and removes it from the
// request), refuses a reserved Kubernetes user name and a locked user or
// session, and records whom the request is from. A refusal is logged and
// answered; identify then returns false.
func (g *Gateway) identify(rec *recorder, call *apiCall) bool {
	claims, err := g.authenticate(call.r)
	call.r.Header.Del("Authorization")
	if err != nil {
		call.e.Reason = "not authenticated: " + err.Error()
		g.decided(call.e, "unauthenticated")
		writeStatus(rec, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, err.Error(), nil)
		return false
	}
	who := identityOf(claims)
	call.e.User, call.e.Groups = who.User, who.Groups
	if strings.HasPrefix(who.User, "system:") {
		// Login never issues such a token; a key that signed one is not ours to trust.
		call.e.Reason = fmt.Sprintf("user %q is a reserved Kubernetes name; the gateway never acts as it", who.User)
		g.decided(call.e, "unauthenticated")
		writeStatus(rec, http.StatusForbidden, metav1.StatusReasonForbidden, call.e.Reason, nil)
		return false
	}
	if g.refuseLocked(rec, call.e, who, claims.SessionID) {
		return false
	}
	call.claims, call.who = claims, who
	return true
}

// decide asks the policy in effect for the request's cluster, writes the
// decision to the audit log, and refuses what is not allowed: with no
// usable policy (503), when the audit log cannot be written (500), when
// the policy denies (403). It returns true only for an allowed, logged
// request.
func (g *Gateway) decide(rec *recorder, call *apiCall) bool {
	l := g.policy.Load()
	if l == nil {
		call.e.Reason = "the gateway has no usable policy (its source is unreachable and the cached copy is too old)"
		g.decided(call.e, "resource")
		writeStatus(rec, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, call.e.Reason, nil)
		return false
	}
	pol, err := policyFor(l.Policy, call.up)
	if err != nil {
		// The gateway fronts a cluster its (version 2) policy does not
		// name: nothing there is allowed.
		call.e.Reason = fmt.Sprintf("the gateway's policy does not apply to cluster %q: %v", call.up.name, err)
		g.decided(call.e, "resource")
		writeStatus(rec, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, call.e.Reason, nil)
		return false
	}
	call.pol = pol
	kindLabel := call.decision()
	if err := g.decided(call.e, kindLabel); err != nil {
		// Every decision is logged; an action that cannot be is not taken.
		writeStatus(rec, http.StatusInternalServerError, metav1.StatusReasonInternalError, "the gateway cannot write its audit log", nil)
		return false
	}
	if call.e.Decision != audit.Allow {
		writeStatus(rec, http.StatusForbidden, metav1.StatusReasonForbidden, call.e.Reason,
			forbiddenDetails(call.c.req.Resource, call.c.group, call.c.req.Name))
		return false
	}
	if call.impersonating {
		g.o.Log.Info("removed the client's own impersonation headers", "user", call.who.User, "client", call.r.RemoteAddr, "id", call.id)
	}
	return true
}

// decision records in call's audit entry what call.pol says of the
// request (discovery and reviews of one's own access are open to everyone
// logged in), marks a namespace listing the gateway filters, and returns
// the request's kind as the metrics label it.
func (call *apiCall) decision() (kindLabel string) {
	c, pol, who := call.c, call.pol, call.who
	kindLabel = "resource"
	switch c.kind {
	case kindDiscovery:
		kindLabel = "discovery"
		call.e.Decision, call.e.Reason = audit.Allow, "discovery is open to every logged-in user"
	case kindSelfReview:
		kindLabel = "selfreview"
		call.e.Decision, call.e.Reason = audit.Allow, "a review of one's own access is open to every logged-in user"
	default:
		if c.kind == kindNonResource {
			kindLabel = "nonresource"
		}
		d := pol.Decide(who, c.req)
		call.e.Project, call.e.Reason = d.Project, d.Reason
		if d.Allowed {
			call.e.Decision = audit.Allow
		}
		if c.kind == kindResource && c.group == "" && c.req.Resource == "namespaces" && c.req.Name == "" && c.req.Subresource == "" &&
			!pol.IsSuperAdmin(who) && (c.req.Verb == policy.VerbList || c.req.Verb == policy.VerbWatch) {
			// The policy lets everyone list (and watch) namespaces and shows
			// only those of their projects. The cluster's RBAC does not let
			// them list namespaces at all, so the gateway lists or watches
			// with its own identity and filters.
			call.filterNamespaces = true
		}
	}
	return kindLabel
}

// forward sends an allowed request on: a namespace listing as the
// gateway's own filtered call, a review of one's own access answered from
// the policy and the cluster, anything else to the cluster as the user
// (impersonated through the request's context, see forwarding). Streams
// are tracked so that a lock ends them.
func (g *Gateway) forward(rec *recorder, call *apiCall) {
	r, c, up, pol, who := call.r, call.c, call.up, call.pol, call.who
	if call.filterNamespaces {
		// The gateway's own, documented call: namespace names, listed with
		// its own identity and filtered.
		ctx := context.WithValue(r.Context(), keepKey{}, func(ns string) bool { return pol.Visible(who, ns) })
		ctx = context.WithValue(ctx, watchKey{}, c.req.Verb == policy.VerbWatch)
		ctx = withForwarding(ctx, &forwarding{id: call.id, own: true})
		r = r.WithContext(ctx)
		if c.req.Verb == policy.VerbWatch {
			var untrack func()
			r, untrack = g.trackStream(r, rec, who, call.claims.SessionID) // a lock ends it too
			defer untrack()
		}
		up.nsProxy.ServeHTTP(rec, r)
		return
	}
	// Whom the request acts as goes in its context, not its headers: actAs
	// writes it onto the outbound request (see forwarding).
	fw := &forwarding{id: call.id, user: who.User, groups: who.Groups}
	if c.kind == kindSelfReview && c.group == "authorization.k8s.io" {
		// Answered from the policy and the cluster together (review.go).
		rec.buffered = true
		g.serveReview(rec, r, pol, who, fw)
		return
	}
	r = r.WithContext(withForwarding(r.Context(), fw))
	if c.streaming {
		g.metrics.active.Inc()
		defer g.metrics.active.Dec()
		var untrack func()
		r, untrack = g.trackStream(r, rec, who, call.claims.SessionID)
		defer untrack()
	} else {
		rec.buffered = true
	}
	if httpstream.IsUpgradeRequest(r) {
		up.upgrades.ServeHTTP(rec, r)
		return
	}
	up.proxy.ServeHTTP(rec, r)
}

// identityOf is whom the gateway acts as for a token: the names in lower
// case (the policy compares them so, and the RBAC rendering binds them so),
// and never a reserved system: group, whatever the directory says.
func identityOf(c *Claims) policy.Identity {
	id := policy.Identity{User: strings.ToLower(c.Subject), Groups: make([]string, 0, len(c.Groups))}
	for _, g := range c.Groups {
		g = strings.ToLower(g)
		if g == "" || strings.HasPrefix(g, "system:") {
			continue
		}
		id.Groups = append(id.Groups, g)
	}
	return id
}

// decided logs a decision and counts it.
func (g *Gateway) decided(e audit.Entry, kind string) error {
	g.metrics.decisions.WithLabelValues(e.Decision, kind).Inc()
	if err := g.o.Audit.Log(e); err != nil {
		g.o.Log.Error("writing the audit log", "err", err)
		return err
	}
	return nil
}

type keepKey struct{}

// watchKey marks a namespace request the gateway filters as a watch.
type watchKey struct{}

// namespaceListProxy lists namespaces with the gateway's own identity and
// keeps those the request's keep function (in its context) allows.
func (g *Gateway) namespaceListProxy(target *url.URL, rt http.RoundTripper) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			// The body is filtered, so it must come as plain JSON: a Table
			// when the client asked for one.
			accept := "application/json"
			if strings.Contains(pr.In.Header.Get("Accept"), "as=Table") {
				accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
			}
			pr.Out.Header.Set("Accept", accept)
			pr.Out.Header.Del("Accept-Encoding")
			q := pr.Out.URL.Query()
			if q.Get("includeObject") == "None" {
				q.Set("includeObject", "Metadata")
				pr.Out.URL.RawQuery = q.Encode()
			}
		},
		Transport: rt,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != http.StatusOK {
				return nil
			}
			keep, _ := resp.Request.Context().Value(keepKey{}).(func(string) bool)
			if keep == nil {
				return errors.New("no namespace filter")
			}
			if watching, _ := resp.Request.Context().Value(watchKey{}).(bool); watching {
				resp.Body = filterNamespaceWatch(resp.Body, keep)
				resp.ContentLength = -1
				resp.Header.Del("Content-Length")
				resp.Header.Del("Content-Encoding")
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			out, _, err := filterNamespaceList(body, keep)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			resp.Header.Del("Content-Encoding")
			return nil
		},
		ErrorHandler: errorResponder{g}.Error,
	}
}

// filterNamespaceWatch passes on the events of a namespace watch (JSON, one
// event after another) whose namespace keep allows: bookmarks and errors
// as they are, Tables with only the rows kept. An event it cannot read ends
// the watch, as the client then lists and watches again.
func filterNamespaceWatch(up io.ReadCloser, keep func(string) bool) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		defer up.Close()
		dec := json.NewDecoder(up)
		for {
			var ev struct {
				Type   string          `json:"type"`
				Object json.RawMessage `json:"object"`
			}
			if err := dec.Decode(&ev); err != nil {
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
			obj := ev.Object
			switch ev.Type {
			case "BOOKMARK", "ERROR":
			default:
				var o struct {
					Kind              string                `json:"kind"`
					Metadata          struct{ Name string } `json:"metadata"`
					ColumnDefinitions []json.RawMessage     `json:"columnDefinitions"`
				}
				if err := json.Unmarshal(obj, &o); err != nil {
					pw.CloseWithError(err)
					return
				}
				switch o.Kind {
				case "Namespace":
					if !keep(o.Metadata.Name) {
						continue
					}
				case "Table":
					out, kept, err := filterNamespaceList(obj, keep)
					if err != nil {
						pw.CloseWithError(err)
						return
					}
					// The first event's Table has the columns: keep it, even
					// empty, for the client's headers.
					if kept == 0 && len(o.ColumnDefinitions) == 0 {
						continue
					}
					obj = out
				default:
					pw.CloseWithError(fmt.Errorf("unexpected %q in a namespace watch", o.Kind))
					return
				}
			}
			b, err := json.Marshal(struct {
				Type   string          `json:"type"`
				Object json.RawMessage `json:"object"`
			}{ev.Type, obj})
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(append(b, '\n')); err != nil {
				return
			}
		}
	}()
	return watchBody{pr, up}
}

// watchBody is a filtered watch: closing it ends the upstream watch too.
type watchBody struct {
	*io.PipeReader
	up io.Closer
}

func (b watchBody) Close() error {
	_ = b.up.Close()
	return b.PipeReader.Close()
}

// filterNamespaceList keeps the namespaces of a NamespaceList or a Table of
// namespaces that keep allows, and says how many it kept.
func filterNamespaceList(body []byte, keep func(string) bool) ([]byte, int, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("decoding the namespace list: %w", err)
	}
	var kind string
	_ = json.Unmarshal(doc["kind"], &kind)
	field := ""
	switch kind {
	case "NamespaceList":
		field = "items"
	case "Table":
		field = "rows"
	default:
		return nil, 0, fmt.Errorf("unexpected %q in answer to a namespace list", kind)
	}
	var items []json.RawMessage
	if len(doc[field]) > 0 {
		if err := json.Unmarshal(doc[field], &items); err != nil {
			return nil, 0, fmt.Errorf("decoding the namespace list: %w", err)
		}
	}
	kept := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		var o struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Cells  []any `json:"cells"`
			Object *struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			} `json:"object"`
		}
		if err := json.Unmarshal(it, &o); err != nil {
			return nil, 0, fmt.Errorf("decoding the namespace list: %w", err)
		}
		name := o.Metadata.Name
		if kind == "Table" {
			name = ""
			if o.Object != nil {
				name = o.Object.Metadata.Name
			} else if len(o.Cells) > 0 {
				name, _ = o.Cells[0].(string)
			}
		}
		if name != "" && keep(name) {
			kept = append(kept, it)
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, 0, err
	}
	doc[field] = b
	// The count of what is left to list would tell how many namespaces
	// there are.
	if md, ok := doc["metadata"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(md, &m) == nil {
			delete(m, "remainingItemCount")
			if b, err := json.Marshal(m); err == nil {
				doc["metadata"] = b
			}
		}
	}
	out, err := json.Marshal(doc)
	return out, len(kept), err
}

// recorder records the status code and the time to the first byte, and
// keeps track of hijacked connections for the graceful shutdown.
type recorder struct {
	http.ResponseWriter
	g        *Gateway
	start    time.Time
	verb     string
	code     int
	observed bool
	conn     net.Conn
	// buffered is set for requests that do not stream: Flush is a no-op.
	buffered bool
}

func (r *recorder) observe(code int) {
	if r.observed {
		return
	}
	r.observed = true
	r.code = code
	if r.verb == "" {
		r.verb = "unknown"
	}
	r.g.metrics.latency.WithLabelValues(metricVerb(r.verb)).Observe(r.g.o.Now().Sub(r.start).Seconds())
}

func (r *recorder) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		r.observe(code)
	}
	r.ResponseWriter.WriteHeader(code)
	if !r.buffered && code >= 200 {
		// A stream's headers go out now, not with its first line: a
		// client following a quiet log knows its request was accepted.
		_ = http.NewResponseController(r.ResponseWriter).Flush()
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.observe(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

// Flush passes on the reverse proxy's flushes only for requests that
// stream (watches, followed logs): it flushes after every write of a
// response of unknown length, which for an ordinary list costs a write to
// the socket per 32 KiB instead of letting the server's buffers fill.
func (r *recorder) Flush() {
	if r.buffered {
		return
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack hands over the client's connection for an upgrade (exec, attach,
// port-forward); the gateway remembers it, to close it when the shutdown
// grace period ends.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	r.observe(http.StatusSwitchingProtocols)
	r.g.mu.Lock()
	r.conn = conn
	r.g.hijacked[conn] = conn.Close
	r.g.mu.Unlock()
	return conn, rw, nil
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) done() {
	if r.conn != nil {
		r.g.mu.Lock()
		delete(r.g.hijacked, r.conn)
		r.g.mu.Unlock()
	}
	code := r.code
	if !r.observed {
		code = http.StatusOK
	}
	r.g.metrics.requests.WithLabelValues(metricVerb(r.verb), metricCode(code)).Inc()
}
