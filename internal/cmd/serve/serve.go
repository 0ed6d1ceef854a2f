// Package serve implements `kgate serve`, the gateway.
package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/webconsole"
)

// Options are what `kgate serve` needs.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// Upstream is the cluster the gateway forwards to, with its own
	// credentials: the kubeconfig (--kubeconfig, --context), else the pod's
	// service account.
	Upstream func() (*rest.Config, error)

	Listen               string
	TLSCertFile          string
	TLSKeyFile           string
	SigningKeyFile       string
	VerificationKeyFiles []string
	Issuer               string
	Audience             string
	TokenLifetime        time.Duration
	RefreshLifetime      time.Duration
	Locks                string
	ShutdownGrace        time.Duration
	ShutdownDelay        time.Duration
	LoginFailureLimit    int
	LoginFailureWindow   time.Duration
	ReadHeaderTimeout    time.Duration
	IdleTimeout          time.Duration
	RequestBodyTimeout   time.Duration
	PolicySource         string
	WebConsole           bool
	StreamRecheck        time.Duration
	// Clusters are --cluster NAME=KUBECONFIG[#CONTEXT]: a gateway fronting
	// several clusters; DefaultCluster also serves the unprefixed paths.
	Clusters       []string
	DefaultCluster string
	// ClusterUpstream loads one --cluster's credentials (tests replace it).
	ClusterUpstream func(kubeconfig, context string) (*rest.Config, error)

	// Listening, if set, is told the address once the gateway listens (tests).
	Listening func(net.Addr)
}

// NewCmdServe returns `kgate serve`; runF replaces the run step in tests.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Config: func() (*config.Config, error) { return f.Config() }, Upstream: f.KubeFlags.ToRESTConfig,
		ClusterUpstream: clusterUpstream}
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the kgate gateway: a Kubernetes API proxy that enforces the policy",
		Long: `Run the gateway, kgate's security boundary. Users log in to it with
` + "`kgate login --server URL`" + ` (their password is checked against the LDAP directory,
configured by the ldap.* keys exactly as for a direct login) and get a signed
token; they never hold cluster credentials. Every request is authenticated,
decided by the policy (policy.* keys, refreshed on its TTL), written as one JSON
audit line on stdout, and forwarded to the API server impersonating the user
and their groups, so that the cluster's RBAC and audit log see the real person.
Client Impersonate-* and Authorization headers are removed. exec, attach and
port-forward (WebSocket and SPDY) and followed logs pass through. Plain kubectl
works with the kubeconfig ` + "`kgate login --server URL --print-kubeconfig`" + ` writes.

The gateway forwards with the credentials of --kubeconfig/--context, else the
pod's service account; they must be allowed to impersonate users and groups
(see deploy/). Render the policy as RBAC with ` + "`kgate policy rbac --apply`" + ` so that
the cluster refuses what the policy refuses, and so that impersonated users
may do what the policy allows.

One gateway can front several clusters: each --cluster NAME=KUBECONFIG[#CONTEXT]
(repeatable) is served under /clusters/NAME/ (as Rancher does) with the
credentials of that kubeconfig (deploy/rbac.yaml applied in each cluster), is
decided with the policy's view of NAME (a version-1 policy applies to every
cluster) and gets "cluster": NAME in its audit lines. One login serves every
cluster; ` + "`kgate login --server URL --print-kubeconfig`" + ` writes a context per cluster.
The unprefixed paths then serve --default-cluster, or are refused without it;
the web console, the locks ConfigMap and a configmap:// policy use the default
cluster, else the first one named.

It serves /healthz, /readyz and Prometheus /metrics on the same port, and
the web console at / (--web-console): the same login, policy and audit, for
a browser. On
SIGTERM /readyz fails, new connections are refused after --shutdown-delay, and
running requests (exec sessions, log streams) may finish within
--shutdown-grace; then they are cut. Operational logs are JSON on stderr.

Every flag has a config key (serve.listen, serve.tlsCertFile, ...); flags win.`,
		Example: `  # the local environment: the admin kubeconfig, a test CA's certificate
  kgate serve --tls-cert-file tls.crt --tls-private-key-file tls.key \
    --signing-key-file signing.pem --policy policy.yaml

  # a signing key
  openssl genpkey -algorithm ed25519 -out signing.pem

  # one gateway, two clusters: https://HOST:8443/clusters/test/..., /clusters/prod/...
  kgate serve ... --cluster test=test.kubeconfig --cluster prod=prod.kubeconfig#gateway

  # rotating keys: sign with the new one, still accept the old one
  kgate serve ... --signing-key-file new.pem --verification-key-file old.pub.pem`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := opts.Config()
			if err != nil {
				return err
			}
			opts.complete(cmd.Flags(), cfg)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:8443", "Address to listen on (HTTPS)")
	fl.StringVar(&opts.TLSCertFile, "tls-cert-file", "", "Serving certificate (PEM); reloaded when it changes")
	fl.StringVar(&opts.TLSKeyFile, "tls-private-key-file", "", "Key of the serving certificate (PEM)")
	fl.StringVar(&opts.SigningKeyFile, "signing-key-file", "", "Private key that signs tokens: Ed25519 (EdDSA) or ECDSA P-256 (ES256), PEM")
	fl.StringSliceVar(&opts.VerificationKeyFiles, "verification-key-file", nil, "More keys (public or private, PEM) whose tokens are accepted, for rotation; repeatable")
	fl.StringVar(&opts.Issuer, "issuer", "", "Token issuer, the gateway's URL as users reach it (default: https://LISTEN)")
	fl.StringVar(&opts.Audience, "audience", gateway.DefaultAudience, "Token audience")
	fl.DurationVar(&opts.TokenLifetime, "token-lifetime", gateway.DefaultTokenLifetime, "How long an access token is valid (the CLI refreshes it)")
	fl.DurationVar(&opts.RefreshLifetime, "refresh-lifetime", gateway.DefaultRefreshLifetime, "How long a session (its refresh credential) lasts")
	fl.StringVar(&opts.Locks, "locks", "", "NAMESPACE/NAME of the ConfigMap that holds locks and revoked sessions (default: kgate-locks in the pod's namespace, else kgate-system)")
	fl.DurationVar(&opts.ShutdownGrace, "shutdown-grace", 30*time.Second, "On SIGTERM, how long running exec sessions and log streams may go on")
	fl.DurationVar(&opts.ShutdownDelay, "shutdown-delay", 0, "On SIGTERM, how long to go on serving with /readyz failing, before the listener closes")
	fl.IntVar(&opts.LoginFailureLimit, "login-failure-limit", gateway.DefaultLoginFailureLimit, "Failed logins allowed per user from one client address within --login-failure-window; per user from all addresses, and per address for all users, 4 times as many")
	fl.DurationVar(&opts.LoginFailureWindow, "login-failure-window", gateway.DefaultLoginFailureWindow, "Window of --login-failure-limit (the allowance refills over it)")
	fl.DurationVar(&opts.ReadHeaderTimeout, "read-header-timeout", gateway.DefaultReadHeaderTimeout, "How long a client may take to send a request's headers (and the TLS handshake)")
	fl.DurationVar(&opts.IdleTimeout, "idle-timeout", gateway.DefaultIdleTimeout, "How long a kept-alive connection may sit idle between requests")
	fl.DurationVar(&opts.RequestBodyTimeout, "request-body-timeout", gateway.DefaultRequestBodyTimeout, "How long a client may take to send a request body (login: at most 10s); never applies to exec, attach, port-forward or watches")
	fl.BoolVar(&opts.WebConsole, "web-console", true, "Serve the web console at / (login, pods, logs, a terminal for admins)")
	fl.DurationVar(&opts.StreamRecheck, "stream-recheck", webconsole.DefaultRecheck, "How often the web console decides running terminals, followed logs and watches again (they also end when the token expires)")
	fl.StringVar(&opts.PolicySource, "policy", "", "Policy source: a file, an https:// URL or configmap://NAMESPACE/NAME (default: policy.source)")
	fl.StringArrayVar(&opts.Clusters, "cluster", nil, "Front several clusters: NAME=KUBECONFIG[#CONTEXT], served under /clusters/NAME/ with that kubeconfig's credentials; repeatable")
	fl.StringVar(&opts.DefaultCluster, "default-cluster", "", "With --cluster: the cluster the unprefixed paths serve (default: none, they are refused)")
	return cmd
}

// complete gives the flags the user did not set the config file's values.
func (o *Options) complete(fs *pflag.FlagSet, cfg *config.Config) {
	s := cfg.Serve
	str := func(name string, dst *string, v string) {
		if !fs.Changed(name) && v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration, v time.Duration) {
		if !fs.Changed(name) && v > 0 {
			*dst = v
		}
	}
	str("listen", &o.Listen, s.Listen)
	str("tls-cert-file", &o.TLSCertFile, s.TLSCertFile)
	str("tls-private-key-file", &o.TLSKeyFile, s.TLSKeyFile)
	str("signing-key-file", &o.SigningKeyFile, s.SigningKeyFile)
	str("issuer", &o.Issuer, s.Issuer)
	str("audience", &o.Audience, s.Audience)
	str("policy", &o.PolicySource, cfg.Policy.Source)
	if !fs.Changed("verification-key-file") && len(s.VerificationKeyFiles) > 0 {
		o.VerificationKeyFiles = s.VerificationKeyFiles
	}
	dur("token-lifetime", &o.TokenLifetime, s.TokenLifetime)
	dur("refresh-lifetime", &o.RefreshLifetime, s.RefreshLifetime)
	str("locks", &o.Locks, s.Locks)
	dur("shutdown-grace", &o.ShutdownGrace, s.ShutdownGrace)
	dur("shutdown-delay", &o.ShutdownDelay, s.ShutdownDelay)
	dur("login-failure-window", &o.LoginFailureWindow, s.LoginFailureWindow)
	dur("read-header-timeout", &o.ReadHeaderTimeout, s.ReadHeaderTimeout)
	dur("idle-timeout", &o.IdleTimeout, s.IdleTimeout)
	dur("request-body-timeout", &o.RequestBodyTimeout, s.RequestBodyTimeout)
	dur("stream-recheck", &o.StreamRecheck, s.StreamRecheck)
	if !fs.Changed("cluster") && len(s.Clusters) > 0 {
		o.Clusters = s.Clusters
	}
	str("default-cluster", &o.DefaultCluster, s.DefaultCluster)
	if !fs.Changed("web-console") {
		o.WebConsole = s.WebConsole
	}
	if !fs.Changed("login-failure-limit") && s.LoginFailureLimit > 0 {
		o.LoginFailureLimit = s.LoginFailureLimit
	}
	if o.Issuer == "" {
		if host, _, err := net.SplitHostPort(o.Listen); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
			o.Issuer = "https://" + o.Listen
		}
	}
}

func serveRun(ctx context.Context, o *Options) error {
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	lg := slog.New(slog.NewJSONHandler(o.IO.ErrOut, nil))
	// client-go's and the proxy's own messages, as JSON lines too.
	klog.SetSlogLogger(lg)
	if o.Issuer == "" {
		return errs.UsageErrorf("--issuer is needed when --listen names no host: the URL users reach the gateway at")
	}
	clusters, err := o.clusters()
	if err != nil {
		return err
	}
	if o.SigningKeyFile == "" {
		return errs.WithHint(errs.UsageErrorf("no signing key: --signing-key-file or serve.signingKeyFile"),
			"Make one with `openssl genpkey -algorithm ed25519 -out signing.pem`.")
	}
	keys, err := gateway.LoadKeys(o.SigningKeyFile)
	if err != nil {
		return err
	}
	if len(keys) != 1 || keys[0].Private == nil {
		return errs.UsageErrorf("the signing key file %s must hold exactly one private key", o.SigningKeyFile)
	}
	var verify []gateway.Key
	for _, f := range o.VerificationKeyFiles {
		ks, err := gateway.LoadKeys(f)
		if err != nil {
			return err
		}
		verify = append(verify, ks...)
	}
	tokens, err := gateway.NewTokens(o.Issuer, o.Audience, o.TokenLifetime, &keys[0], verify)
	if err != nil {
		return err
	}
	tokens.RefreshLifetime = o.RefreshLifetime
	locksNS, locksName, err := locksConfigMap(o.Locks)
	if err != nil {
		return err
	}
	auth, err := ldapauth.New(cfg.LDAP)
	if err != nil {
		return err
	}
	auth.Warnf = func(format string, a ...any) { lg.Warn(fmt.Sprintf(format, a...)) }
	var upstream *rest.Config
	if len(clusters) == 0 {
		if upstream, err = o.Upstream(); err != nil {
			return fmt.Errorf("the cluster to forward to (--kubeconfig, else in-cluster): %w", err)
		}
		upstream = gatewayConfig(upstream)
	} else {
		// The locks ConfigMap and a configmap:// policy live in the
		// default cluster, else the first one named.
		upstream = clusters[0].Upstream
		for _, c := range clusters {
			if c.Name == o.DefaultCluster {
				upstream = c.Upstream
			}
		}
	}
	cs, err := kubernetes.NewForConfig(upstream)
	if err != nil {
		return err
	}
	if o.PolicySource == "" {
		return errs.UsageErrorf("no policy source: --policy or policy.source")
	}
	cache := policycache.New(policycache.Options{
		Source: o.PolicySource, CAFile: cfg.Policy.CAFile, TTL: cfg.Policy.TTL, MaxStale: cfg.Policy.MaxStale,
		Dir: cfg.Paths.CacheDir, Warn: o.IO.ErrOut,
		ConfigMaps: func(ctx context.Context, ns, name string) (map[string]string, string, error) {
			cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, "", err
			}
			return cm.Data, cm.ResourceVersion, nil
		},
	})
	locks := &gateway.ConfigMapLocks{Client: cs, Namespace: locksNS, Name: locksName, Log: lg}
	gw, err := gateway.New(gateway.Options{
		Upstream: upstream, Clusters: clusters, DefaultCluster: o.DefaultCluster,
		Tokens: tokens, Auth: auth, Directory: auth, Locks: locks, Policy: cache.Load,
		Audit: audit.NewWriterLogger(o.IO.Out), Log: lg,
		LoginFailureLimit: o.LoginFailureLimit, LoginFailureWindow: o.LoginFailureWindow,
		RequestBodyTimeout: o.RequestBodyTimeout,
	})
	if err != nil {
		return err
	}
	if o.WebConsole {
		gw.SetConsole(webconsole.New(webconsole.Options{Gateway: gw, Log: lg, Recheck: o.StreamRecheck}))
	}
	if err := gw.LoadPolicy(ctx); err != nil {
		return err
	}
	// Locks are enforced from the first request: no serving without them.
	if err := locks.Start(ctx); err != nil {
		return errs.WithHint(errs.UnavailableErrorf("%v", err),
			"The gateway needs get, list, watch and update on its locks ConfigMap (deploy/rbac.yaml).")
	}
	lg.Info("watching locks", "configmap", locksNS+"/"+locksName)
	ttl := cfg.Policy.TTL
	if ttl <= 0 {
		ttl = policycache.DefaultTTL
	}
	return gw.Serve(ctx, gateway.ServeOptions{
		Listen: o.Listen, CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile,
		PolicyRefresh: max(ttl/2, 250*time.Millisecond),
		ShutdownDelay: o.ShutdownDelay, ShutdownGrace: o.ShutdownGrace, Listening: o.Listening,
		ReadHeaderTimeout: o.ReadHeaderTimeout, IdleTimeout: o.IdleTimeout,
	})
}

// gatewayConfig is cfg as the gateway uses it: its own user agent, and
// client-go's rate limits raised (the gateway's own requests, the policy
// ConfigMap and namespace lists, are few; users' requests are proxied, not
// rate-limited by client-go).
func gatewayConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kgate-gateway/" + rest.DefaultKubernetesUserAgent()
	cfg.QPS, cfg.Burst = 50, 100
	return cfg
}

// clusters reads --cluster NAME=KUBECONFIG[#CONTEXT] into the gateway's
// clusters, each with the credentials of its kubeconfig (and context).
func (o *Options) clusters() ([]gateway.Cluster, error) {
	if len(o.Clusters) == 0 {
		if o.DefaultCluster != "" {
			return nil, errs.UsageErrorf("--default-cluster %s needs --cluster flags: the gateway fronts one cluster", o.DefaultCluster)
		}
		return nil, nil
	}
	type parsed struct{ name, kubeconfig, context, spec string }
	var specs []parsed
	seen := map[string]bool{}
	for _, spec := range o.Clusters {
		name, kc, ok := strings.Cut(spec, "=")
		if !ok || kc == "" {
			return nil, errs.UsageErrorf("--cluster %q: want NAME=KUBECONFIG[#CONTEXT]", spec)
		}
		if !policy.ValidClusterName(name) {
			return nil, errs.UsageErrorf("--cluster %q: %q is not a cluster name (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)", spec, name)
		}
		if seen[name] {
			return nil, errs.UsageErrorf("--cluster %q: cluster %s is named twice", spec, name)
		}
		seen[name] = true
		kc, ctx, _ := strings.Cut(kc, "#")
		specs = append(specs, parsed{name, kc, ctx, spec})
	}
	if o.DefaultCluster != "" && !seen[o.DefaultCluster] {
		return nil, errs.UsageErrorf("--default-cluster %s is not one of the --cluster names", o.DefaultCluster)
	}
	var out []gateway.Cluster
	for _, p := range specs {
		cfg, err := o.ClusterUpstream(p.kubeconfig, p.context)
		if err != nil {
			return nil, fmt.Errorf("the credentials of cluster %s (--cluster %s): %w", p.name, p.spec, err)
		}
		out = append(out, gateway.Cluster{Name: p.name, Upstream: gatewayConfig(cfg)})
	}
	return out, nil
}

// clusterUpstream loads a kubeconfig file's credentials: its current
// context, or context.
func clusterUpstream(kubeconfig, context string) (*rest.Config, error) {
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
}

// locksConfigMap splits --locks; the default is kgate-locks in the pod's
// own namespace, else in kgate-system.
func locksConfigMap(v string) (string, string, error) {
	if v == "" {
		ns := "kgate-system"
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			ns = strings.TrimSpace(string(b))
		}
		return ns, "kgate-locks", nil
	}
	ns, name, ok := strings.Cut(v, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", errs.UsageErrorf("--locks %q must be NAMESPACE/NAME", v)
	}
	return ns, name, nil
}
