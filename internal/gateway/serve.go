package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// ServeOptions say where and how the gateway listens.
type ServeOptions struct {
	// Listen is the TCP address, such as 127.0.0.1:8443 or :8443.
	Listen string
	// CertFile and KeyFile are the serving certificate and its key (PEM).
	// They are read again when they change, so a renewed certificate needs
	// no restart.
	CertFile, KeyFile string
	// PolicyRefresh is how often the policy is reloaded through its cache.
	PolicyRefresh time.Duration
	// ShutdownDelay keeps serving (with /readyz failing) after the signal,
	// so that load balancers stop sending new requests first.
	ShutdownDelay time.Duration
	// ShutdownGrace is how long running requests (exec sessions, log
	// streams, watches) may go on after that; then they are cut.
	ShutdownGrace time.Duration
	// Listening, if set, is told the address once the listener is open.
	Listening func(net.Addr)
	// ReadHeaderTimeout bounds the TLS handshake and a request's headers
	// (slowloris); IdleTimeout closes kept-alive connections left idle.
	// Zero means the defaults.
	ReadHeaderTimeout, IdleTimeout time.Duration
}

// The gateway's limits on slow and idle clients, unless configured.
const (
	DefaultReadHeaderTimeout  = 15 * time.Second
	DefaultIdleTimeout        = 2 * time.Minute
	DefaultRequestBodyTimeout = 30 * time.Second
)

// Serve serves until ctx is cancelled (SIGTERM), then shuts down
// gracefully: /readyz fails at once; after ShutdownDelay the listener
// closes; running requests, upgraded ones included, may finish within
// ShutdownGrace; whatever still runs then is cut.
func (g *Gateway) Serve(ctx context.Context, so ServeOptions) error {
	certs, err := newCertReloader(so.CertFile, so.KeyFile, g.o.Log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", so.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", so.Listen, err)
	}
	if so.ReadHeaderTimeout <= 0 {
		so.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if so.IdleTimeout <= 0 {
		so.IdleTimeout = DefaultIdleTimeout
	}
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler: g.Handler(),
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: certs.get,
		},
		// No ReadTimeout or WriteTimeout: exec sessions, watches and
		// followed logs last as long as they need. Request bodies get a
		// deadline of their own (Options.RequestBodyTimeout).
		ReadHeaderTimeout: so.ReadHeaderTimeout,
		IdleTimeout:       so.IdleTimeout,
		// Headers are bounded as kube-apiserver bounds them (1 MiB).
		MaxHeaderBytes: 1 << 20,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       log.New(slogWriter{g.o.Log}, "", 0),
	}
	if so.PolicyRefresh > 0 {
		go g.RefreshPolicy(ctx, so.PolicyRefresh)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	if len(g.clusters) > 0 {
		ups := make([]string, 0, len(g.clusters))
		for _, n := range g.ClusterNames() {
			ups = append(ups, n+"="+g.clusters[n].url.String())
		}
		g.o.Log.Info("serving", "address", ln.Addr().String(), "clusters", ups, "default", g.o.DefaultCluster, "issuer", g.o.Tokens.Issuer)
	} else {
		g.o.Log.Info("serving", "address", ln.Addr().String(), "upstream", g.upstream.String(), "issuer", g.o.Tokens.Issuer)
	}
	if so.Listening != nil {
		so.Listening(ln.Addr())
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.draining.Store(true)
	g.o.Log.Info("shutting down", "delay", so.ShutdownDelay.String(), "grace", so.ShutdownGrace.String(),
		"requests", g.inflight.Load())
	if so.ShutdownDelay > 0 {
		time.Sleep(so.ShutdownDelay)
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), so.ShutdownGrace)
	defer cancel()
	// Shutdown closes the listener and idle connections and waits for the
	// requests it knows of; upgraded ones it has handed over, so wait for
	// those too.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Shutdown(graceCtx)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for g.inflight.Load() > 0 && graceCtx.Err() == nil {
		select {
		case <-tick.C:
		case <-graceCtx.Done():
		}
	}
	if n := g.inflight.Load(); n > 0 {
		g.o.Log.Warn("shutdown grace period over: cutting the requests still running", "requests", n)
		cancelBase()
		_ = srv.Close()
		g.mu.Lock()
		for _, closeConn := range g.hijacked {
			_ = closeConn()
		}
		g.mu.Unlock()
	}
	wg.Wait()
	g.o.Log.Info("stopped")
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// certReloader serves the certificate in CertFile and KeyFile, and reads
// them again when either changes (checked at most every 10 seconds), as
// cert-manager or a Secret update renews them.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func newCertReloader(certFile, keyFile string, lg *slog.Logger) (*certReloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("the gateway needs a TLS certificate and key (--tls-cert-file, --tls-private-key-file)")
	}
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: lg}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) fileStamp() string {
	s := ""
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d-%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

func (c *certReloader) load() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("loading the TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.stamp, c.checked = &cert, stamp, time.Now()
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > 10*time.Second {
		c.checked = time.Now()
		if c.fileStamp() != c.stamp {
			if err := c.load(); err != nil {
				c.log.Error("keeping the current TLS certificate", "err", err)
			} else {
				c.log.Info("TLS certificate reloaded", "file", c.certFile)
			}
		}
	}
	return c.cert, nil
}

// slogWriter turns net/http's own error log lines into structured ones.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	msg := string(b)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Warn("http server", "msg", msg)
	return len(b), nil
}
