package webconsole

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/policy"
)

// serveK8s sends a browser's Kubernetes API request through the gateway's
// own handling, with the cookie's token as its bearer token. The browser
// may only read (GET: lists, watches, objects, logs) and open a terminal
// (a WebSocket exec from the gateway's own origin); nothing else.
func (c *Console) serveK8s(w http.ResponseWriter, r *http.Request) {
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
	upgrade := r.Header.Get("Upgrade") != "" || headerHasToken(r.Header, "Connection", "upgrade")
	if upgrade {
		// Cross-site WebSocket hijacking: a page elsewhere (even on another
		// port of this host) would get a shell with the user's cookie.
		if !c.sameOrigin(r) {
			c.o.Log.Warn("web console: refused a WebSocket from another origin", "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "user", s.id.User, "client", r.RemoteAddr)
			writeError(w, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("the WebSocket does not come from the gateway's own page (Origin %q)", r.Header.Get("Origin")))
			return
		}
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !strings.HasSuffix(r.URL.Path, "/exec") {
			writeError(w, http.StatusForbidden, "Forbidden", "the web console opens WebSockets for a terminal (exec) only")
			return
		}
	} else if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		writeError(w, http.StatusForbidden, "Forbidden", "the request does not come from the gateway's own page")
		return
	}

	id := audit.NewID()
	ctx, cancel := context.WithCancel(audit.WithID(r.Context(), id))
	defer cancel()
	in := r.Clone(ctx)
	in.URL.Path = strings.TrimPrefix(r.URL.Path, k8sPrefix)
	if r.URL.RawPath != "" {
		in.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, k8sPrefix)
	}
	in.RequestURI = in.URL.RequestURI()
	for _, k := range []string{"Cookie", "Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User", csrfHeader} {
		in.Header.Del(k)
	}
	in.Header.Set("Authorization", "Bearer "+s.token)

	req, streaming, err := c.o.Gateway.PolicyRequest(in)
	if err != nil || !streaming {
		// The gateway answers (and refuses what it cannot parse).
		c.o.Gateway.ServeAPI(w, in)
		return
	}
	st := &stream{start: c.o.Now()}
	stop := func(reason string) {
		st.stop(reason)
		cancel()
	}
	go c.supervise(ctx, s, req, stop)
	if !upgrade {
		c.o.Gateway.ServeAPI(w, in)
		return
	}
	hw := &hijackWriter{ResponseWriter: w, st: st}
	c.o.Gateway.ServeAPI(hw, in)
	if !st.upgraded() {
		return
	}
	c.sessionEnded(r, s, req, id, st)
}

// supervise ends a stream when the token expires or the policy in effect
// stops allowing the request; it decides again every Recheck.
func (c *Console) supervise(ctx context.Context, s *session, req policy.Request, stop func(string)) {
	exp := s.claims.ExpiresAt.Time
	timer := time.NewTimer(exp.Sub(c.o.Now()))
	defer timer.Stop()
	tick := time.NewTicker(c.o.Recheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			stop("the login expired at " + exp.UTC().Format(time.RFC3339))
			return
		case <-tick.C:
			p := c.o.Gateway.CurrentPolicy()
			if p == nil {
				stop("the gateway has no usable policy")
				return
			}
			if d := p.Decide(s.id, req); !d.Allowed {
				stop("the policy no longer allows it: " + d.Reason)
				return
			}
			if _, err := c.o.Gateway.VerifyToken(s.token); err != nil {
				stop("the token is no longer accepted: " + err.Error())
				return
			}
		}
	}
}

// sessionEnded writes the terminal session's audit line: who, which pod
// and container, the command, start, end and exit code, client "web", under
// the id of the gateway's decision (and of the API server's audit events).
func (c *Console) sessionEnded(r *http.Request, s *session, req policy.Request, id string, st *stream) {
	q := r.URL.Query()
	start, end := st.start.UTC(), c.o.Now().UTC()
	e := audit.Entry{
		Time: end, ID: id, User: s.id.User, Groups: s.id.Groups, Namespace: req.Namespace,
		Verb: policy.VerbExec, Resource: "pods", Subresource: "exec", Name: req.Name,
		Decision: audit.Allow, Command: q["command"], Client: "web", Container: q.Get("container"),
		Start: &start, End: &end, Remote: r.RemoteAddr,
	}
	if p := c.o.Gateway.CurrentPolicy(); p != nil {
		e.Project = p.Decide(s.id, req).Project
	}
	code, msg, reason := st.result()
	switch {
	case reason != "":
		e.Reason = "terminal session cut: " + reason
	case code != nil:
		e.ExitCode = code
		e.Reason = fmt.Sprintf("terminal session ended: exit code %d", *code)
	case msg != "":
		e.Reason = "terminal session ended: " + msg
	default:
		e.Reason = "terminal session ended: the connection closed"
	}
	if err := c.o.Gateway.AuditLog(e); err != nil {
		c.o.Log.Error("web console: writing the session's audit line", "id", id, "err", err)
	}
}

// stream is one running stream: its hijacked connection (a terminal), the
// API server's answer to the upgrade, the exit status seen on the error
// channel, and why the console cut it, if it did.
type stream struct {
	start time.Time

	mu     sync.Mutex
	conn   net.Conn
	frames frameWatcher
	reason string
}

func (s *stream) stop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason == "" {
		s.reason = reason
	}
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

func (s *stream) upgraded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil && s.frames.status == http.StatusSwitchingProtocols
}

func (s *stream) result() (code *int, msg, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames.exit, s.frames.message, s.reason
}

// hijackWriter hands the upgrade proxy a connection the console watches:
// it reads the exit status from what the API server sends, and can cut it.
type hijackWriter struct {
	http.ResponseWriter
	st *stream
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: conn, st: h.st}
	h.st.mu.Lock()
	h.st.conn = wc
	cut := h.st.reason != ""
	h.st.mu.Unlock()
	if cut {
		_ = conn.Close()
	}
	return wc, bufio.NewReadWriter(rw.Reader, bufio.NewWriter(wc)), nil
}

func (h *hijackWriter) Flush() { _ = http.NewResponseController(h.ResponseWriter).Flush() }

func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// watchedConn passes what is written to the browser through the frame
// watcher.
type watchedConn struct {
	net.Conn
	st   *stream
	once sync.Once
}

func (c *watchedConn) Write(b []byte) (int, error) {
	c.st.mu.Lock()
	c.st.frames.feed(b)
	c.st.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *watchedConn) Close() error {
	var err error
	c.once.Do(func() { err = c.Conn.Close() })
	return err
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
