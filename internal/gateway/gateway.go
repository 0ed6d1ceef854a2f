// Package gateway is `kgate serve`: a Kubernetes-API-compatible proxy that is
// kgate's security boundary. Users log in with their LDAP password and get a
// short-lived signed token; every request is authenticated, parsed with the
// API server's own request-info parser, decided by the same policy engine as
// the CLI, logged as one JSON audit line, and forwarded with Impersonate-User
// and Impersonate-Group so that the cluster's RBAC and audit log see the real
// person. Clients never hold cluster credentials.
//
// The gateway keeps no state beyond its signing key and its policy cache:
// replicas given the same key file issue and accept the same tokens.
package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policycache"
)

// Paths the gateway serves itself; everything else is the Kubernetes API.
const (
	LoginPath  = "/kgate/v1/login"
	PolicyPath = "/kgate/v1/policy"
)

// Authenticator checks a username and password against the directory;
// *ldapauth.Authenticator is one.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*ldapauth.Identity, error)
}

// Options are what a Gateway needs.
type Options struct {
	// Upstream is the API server and the gateway's own credentials, which
	// must be allowed to impersonate users and groups.
	Upstream *rest.Config
	Tokens   *Tokens
	Auth     Authenticator
	// Policy returns the policy in effect; (*policycache.Cache).Load fits.
	Policy func(ctx context.Context) (*policycache.Loaded, error)
	// Audit receives one line per decision (stdout).
	Audit audit.Logger
	// Log is the operational log (stderr).
	Log *slog.Logger
	// LoginFailureLimit failed logins per user and per client address are
	// allowed per LoginFailureWindow.
	LoginFailureLimit  int
	LoginFailureWindow time.Duration
	// RequestBodyTimeout is how long a client may take to send a request
	// body (a login's: at most loginBodyTimeout); zero means the default.
	RequestBodyTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Directory re-reads users at a refresh; nil: Auth, if it can.
	Directory Directory
	// Locks are the locks and revoked sessions; nil: none (one replica,
	// tests). A store that can tell of changes (Notify) ends the streams a
	// new lock refuses.
	Locks LockStore
	// Clusters, when set, make the gateway front several clusters: each is
	// served under /clusters/NAME/ with its own credentials, decided with
	// the policy's view of that cluster (policy.ForCluster) and audited
	// with its name. Upstream is then optional and unused.
	Clusters []Cluster
	// DefaultCluster, one of Clusters, also serves the unprefixed paths (as
	// a single-cluster gateway does); empty: they are refused. The web
	// console, the locks ConfigMap and a configmap:// policy use it, else
	// the first of Clusters.
	DefaultCluster string
}

// Gateway is the handler of `kgate serve`.
type Gateway struct {
	o        Options
	upgrades *proxy.UpgradeAwareHandler
	proxy    *httputil.ReverseProxy
	nsProxy  http.Handler
	// rt is the transport of the gateway's own requests to the API server
	// (access reviews); actAs sets whom they act as.
	rt       http.RoundTripper
	limiter  *loginLimits
	metrics  *metrics
	smetrics *sessionMetrics
	streams  streams
	upstream *url.URL
	// home is the cluster of the unprefixed paths and the console (its
	// proxies are also upgrades, proxy, nsProxy, rt and upstream above);
	// clusters are those of a multi-cluster gateway, by name.
	home     *clusterUpstream
	clusters map[string]*clusterUpstream

	console http.Handler

	policy   atomic.Pointer[policycache.Loaded]
	draining atomic.Bool

	// inflight counts API requests being served; hijacked holds the client
	// connections of upgraded requests (exec, attach, port-forward), which
	// http.Server.Shutdown neither waits for nor closes.
	inflight atomic.Int64
	mu       sync.Mutex
	hijacked map[any]func() error
}

// New checks the options and returns a Gateway. It makes no request.
func New(o Options) (*Gateway, error) {
	if len(o.Clusters) > 0 && o.Upstream == nil {
		o.Upstream = &rest.Config{} // unused: every cluster has its own
	}
	if o.Upstream == nil || o.Tokens == nil || o.Auth == nil || o.Policy == nil || o.Audit == nil {
		return nil, fmt.Errorf("gateway: Upstream, Tokens, Auth, Policy and Audit are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RequestBodyTimeout <= 0 {
		o.RequestBodyTimeout = DefaultRequestBodyTimeout
	}
	g := &Gateway{
		o:       o,
		limiter: newLoginLimits(o.LoginFailureLimit, o.LoginFailureWindow, o.Now),
		metrics: newMetrics(), hijacked: map[any]func() error{},
	}
	if len(o.Clusters) == 0 {
		if o.DefaultCluster != "" {
			return nil, fmt.Errorf("gateway: a default cluster needs Clusters")
		}
		home, err := g.newUpstream("", o.Upstream)
		if err != nil {
			return nil, err
		}
		g.home = home
	} else {
		g.clusters = map[string]*clusterUpstream{}
		for _, c := range o.Clusters {
			if err := validClusterName(c.Name); err != nil {
				return nil, err
			}
			if g.clusters[c.Name] != nil {
				return nil, fmt.Errorf("gateway: cluster %q is named twice", c.Name)
			}
			if c.Upstream == nil {
				return nil, fmt.Errorf("gateway: cluster %q has no credentials", c.Name)
			}
			up, err := g.newUpstream(c.Name, c.Upstream)
			if err != nil {
				return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
			}
			g.clusters[c.Name] = up
		}
		g.home = g.clusters[o.Clusters[0].Name]
		if o.DefaultCluster != "" {
			if g.home = g.clusters[o.DefaultCluster]; g.home == nil {
				return nil, fmt.Errorf("gateway: the default cluster %q is not one of its clusters (%s)", o.DefaultCluster, strings.Join(g.ClusterNames(), ", "))
			}
		}
	}
	g.upstream, g.rt, g.upgrades, g.proxy, g.nsProxy = g.home.url, g.home.rt, g.home.upgrades, g.home.proxy, g.home.nsProxy
	g.smetrics = newSessionMetrics(g.metrics.reg)
	if g.o.Directory == nil {
		if d, ok := o.Auth.(Directory); ok {
			g.o.Directory = d
		}
	}
	if n, ok := o.Locks.(interface{ Notify(func(*LockSet)) }); ok {
		n.Notify(g.EnforceLocks)
	}
	return g, nil
}

// newUpstream builds the transports and proxies to one cluster's API
// server, with cfg's credentials.
func (g *Gateway) newUpstream(name string, cfg *rest.Config) (*clusterUpstream, error) {
	cfg = rest.CopyConfig(cfg)
	// The gateway's own credentials must not impersonate anyone themselves:
	// client-go's impersonation would replace the user's headers.
	cfg.Impersonate = rest.ImpersonationConfig{}
	host := cfg.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	target, err := url.Parse(strings.TrimSuffix(host, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("the API server URL %q: %w", cfg.Host, err)
	}
	if target.Path != "/" {
		return nil, fmt.Errorf("the API server URL %q has a path; the gateway forwards to the root of an API server", cfg.Host)
	}
	rt, err := forwardTransport(cfg)
	if err != nil {
		return nil, fmt.Errorf("the gateway's cluster credentials: %w", err)
	}
	upgrade, err := upgradeTransport(cfg)
	if err != nil {
		return nil, fmt.Errorf("the gateway's cluster credentials: %w", err)
	}
	up := &clusterUpstream{name: name, url: target, rt: rt}
	// Upgrades (exec, attach, port-forward over SPDY or WebSocket) go
	// through the API machinery's upgrade-aware proxy, which dials the API
	// server and splices the two connections.
	p := proxy.NewUpgradeAwareHandler(target, rt, false, false, errorResponder{g})
	p.UpgradeTransport = upgrade
	p.UseRequestLocation = true
	p.UseLocationHost = true
	p.FlushInterval = -1
	up.upgrades = p
	// Everything else through one long-lived reverse proxy with pooled
	// buffers. A response of unknown length (a followed log, a watch) is
	// flushed after every write, so it reaches the client line by line.
	up.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.SetXForwarded()
		},
		Transport:      rt,
		ModifyResponse: checkBody,
		BufferPool:     bufferPool{},
		ErrorHandler:   errorResponder{g}.Error,
		ErrorLog:       log.New(slogWriter{g.o.Log}, "", 0),
	}
	up.nsProxy = g.namespaceListProxy(target, rt)
	return up, nil
}

// forwardTransport carries the proxied requests to the API server, with
// the gateway's credentials, over HTTP/1.1 and a large pool of kept-alive
// connections: measured on loopback, one HTTP/2 connection shared by every
// client costs more (its read loop hands each frame to another goroutine)
// than it saves.
func forwardTransport(cfg *rest.Config) (http.RoundTripper, error) {
	tc, err := cfg.TransportConfig()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := transport.TLSConfigFor(tc)
	if err != nil {
		return nil, err
	}
	if tlsConfig != nil {
		tlsConfig.NextProtos = []string{"http/1.1"}
	}
	rt := utilnet.SetOldTransportDefaults(&http.Transport{
		TLSClientConfig:     tlsConfig,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	})
	// actAs is innermost: it writes the impersonation onto the request the
	// transport sends, after everything else has had its say.
	return transport.HTTPWrappersForConfig(tc, actAs{next: rt})
}

// upgradeTransport dials the API server for exec, attach and port-forward,
// with the gateway's credentials, over HTTP/1.1 (as kubectl proxy does).
func upgradeTransport(cfg *rest.Config) (proxy.UpgradeRequestRoundTripper, error) {
	tc, err := cfg.TransportConfig()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := transport.TLSConfigFor(tc)
	if err != nil {
		return nil, err
	}
	rt := utilnet.SetOldTransportDefaults(&http.Transport{TLSClientConfig: tlsConfig})
	// The upgrade proxy writes the request the wrappers return to a dialed
	// connection: actAs, innermost, sets the impersonation on it.
	wrapped, err := transport.HTTPWrappersForConfig(tc, actAs{next: proxy.MirrorRequest, upgrade: true})
	if err != nil {
		return nil, err
	}
	return proxy.NewUpgradeRequestRoundTripper(rt, wrapped), nil
}

// LoadPolicy loads the policy through its cache. A failure leaves the
// gateway with no policy: it refuses every request (fails closed) and is
// not ready, until a later load succeeds.
func (g *Gateway) LoadPolicy(ctx context.Context) error {
	l, err := g.o.Policy(ctx)
	if err != nil {
		if g.policy.Swap(nil) != nil {
			g.o.Log.Error("no usable policy: refusing every request until the source can be read", "err", err)
		}
		return err
	}
	old := g.policy.Swap(l)
	if old == nil || old.SHA256 != l.SHA256 {
		g.o.Log.Info("policy loaded", "source", l.Source, "sha256", l.SHA256, "projects", len(l.Policy.Projects), "stale", l.Stale)
		for _, n := range g.ClusterNames() {
			if _, err := l.Policy.ForCluster(n); err != nil {
				g.o.Log.Error("the policy does not apply to a cluster the gateway fronts: every request there is refused", "cluster", n, "err", err)
			}
		}
	}
	g.metrics.policyAge.Set(float64(l.FetchedAt.Unix()))
	return nil
}

// RefreshPolicy reloads the policy every interval until ctx ends. The cache
// fetches from the source only once its TTL has passed.
func (g *Gateway) RefreshPolicy(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.LoadPolicy(ctx); err != nil && ctx.Err() == nil {
				g.o.Log.Error("reloading the policy", "err", err)
			}
		}
	}
}

// Handler is everything the gateway serves: its own endpoints under
// /kgate/, /healthz, /readyz, /metrics, and the Kubernetes API.
func (g *Gateway) Handler() http.Handler {
	metricsHandler := g.metrics.handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := g.routeCluster(w, r)
		if !ok {
			return
		}
		if g.consoleRequest(r) && r.Context().Value(upstreamKey{}) != nil && r.URL.Path != "/" {
			// The console is served once, at the root (of its cluster).
			writeStatus(w, http.StatusNotFound, "NotFound", "the web console is at "+ConsolePrefix+", not under "+ClustersPrefix, nil)
			return
		}
		if g.consoleRequest(r) && r.Context().Value(upstreamKey{}) == nil {
			// The console's own endpoints too: nothing but close,
			// keep-alive and Upgrade in Connection.
			if tok, bad := badConnectionToken(r.Header); bad {
				writeStatus(w, http.StatusBadRequest, "BadRequest", badConnectionMessage(tok), nil)
				return
			}
			g.console.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/healthz", "/livez", "/readyz", "/metrics", LoginPath, PolicyPath, ClustersPath:
			// The gateway's own endpoints forward nothing, but a client has no
			// more use there for naming headers in Connection than elsewhere.
			if tok, bad := badConnectionToken(r.Header); bad {
				writeStatus(w, http.StatusBadRequest, "BadRequest", badConnectionMessage(tok), nil)
				return
			}
		}
		switch r.URL.Path {
		case "/healthz", "/livez":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		case "/readyz":
			g.serveReady(w)
		case "/metrics":
			metricsHandler.ServeHTTP(w, r)
		case LoginPath:
			g.serveLogin(w, r)
		case PolicyPath:
			g.servePolicy(w, r)
		case ClustersPath:
			g.serveClusters(w, r)
		case RefreshPath:
			g.serveRefresh(w, r)
		case LogoutPath:
			g.serveLogout(w, r)
		default:
			if r.URL.Path == LocksPath || strings.HasPrefix(r.URL.Path, LocksPath+"/") {
				g.serveLocks(w, r)
				return
			}
			g.serveAPI(w, r)
		}
	})
}

func (g *Gateway) serveReady(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case g.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
	case g.policy.Load() == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("no usable policy\n"))
	default:
		_, _ = w.Write([]byte("ok\n"))
	}
}

// servePolicy gives logged-in users the policy the gateway decides with, so
// that the CLI in gateway mode shows projects and checks requests with the
// same document. Users see it anyway in direct mode.
func (g *Gateway) servePolicy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET", nil)
		return
	}
	c, err := g.authenticate(r)
	if err != nil {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", err.Error(), nil)
		return
	}
	id := identityOf(c)
	if g.refuseLocked(w, audit.Entry{Time: g.o.Now(), ID: audit.NewID(), User: id.User, Groups: id.Groups, Verb: "get", Resource: "policy",
		Client: r.RemoteAddr}, id, c.SessionID) {
		return
	}
	l := g.policy.Load()
	if l == nil {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the gateway has no usable policy", nil)
		return
	}
	sum := sha256.Sum256(l.Raw)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(l.Raw)
}

// bufferPool lends the reverse proxy its copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// errorResponder answers proxy errors (API server unreachable) with a Status.
type errorResponder struct{ g *Gateway }

func (e errorResponder) Error(w http.ResponseWriter, r *http.Request, err error) {
	if code, reason, msg, ok := bodyFaultOf(r.Context()); ok {
		// The client's body was too large or too slow, not the API server
		// unreachable.
		w.Header().Set("Connection", "close")
		writeStatus(w, code, reason, msg, nil)
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	up := e.g.upstreamOf(r)
	e.g.o.Log.Warn("forwarding to the API server failed", "cluster", up.name, "path", r.URL.Path, "err", err)
	writeStatus(w, http.StatusBadGateway, "ServiceUnavailable",
		fmt.Sprintf("the gateway cannot reach the API server%s at %s: %v", up.of(), up.url.Host, err), nil)
}
