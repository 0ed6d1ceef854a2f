package factory

import (
	"context"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/gwsession"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// Several clusters (a version-2 policy). --cluster NAME (config key
// cluster) is looked up in the policy as the default mode reads it; the
// cluster says how it is reached, and the mode follows: its kubeconfig
// context and the direct LDAP login, or its gateway and that gateway's own
// session. Without --cluster the mode is as before, and the policy's
// cluster reached that way is the one in use. Every cache is keyed by where
// the cluster is reached (Mode.Key), so nothing answers for another.

// clusterMode is the mode of the cluster chosen with --cluster.
func clusterMode(f *cmdutil.Factory, cfg *config.Config) (*cmdutil.Mode, error) {
	name := cfg.Cluster
	if !policy.ValidClusterName(name) {
		return nil, errs.UsageErrorf("--cluster %q: a cluster name is lower-case letters, digits and '-'", name)
	}
	home, err := listingMode(f, cfg)
	if err != nil {
		return nil, err
	}
	l, err := loadPolicy(f, cfg, home, nil)
	if err != nil {
		return nil, err
	}
	c, ok := l.Policy.ClusterByName(name)
	if !ok {
		if len(l.Policy.Clusters()) == 0 {
			return nil, errs.WithHint(errs.UsageErrorf("--cluster %s: the policy (%s) names no clusters; a version-1 policy means every cluster", name, l.Source),
				"Choose the cluster with --context, or ask your kgate administrators for a policy that names its clusters.")
		}
		return nil, errs.WithHint(errs.UsageErrorf("%v", &policy.UnknownClusterError{Name: name, Known: l.Policy.ClusterNames()}),
			"Run `kgate clusters` to list them.")
	}
	return modeFor(f, cfg, c)
}

// homeMode is the mode without a cluster: decideMode over the current
// session, or over the session with the gateway --server names.
func homeMode(f *cmdutil.Factory, cfg *config.Config) (*cmdutil.Mode, error) {
	st := session.NewStore(cfg.Paths.ConfigDir)
	if cfg.Server != "" {
		// --server names the gateway: its own session, whichever login
		// was last. Without one, the current session says what it is.
		if server, err := gateway.NormalizeURL(cfg.Server); err == nil {
			if gs := session.GatewayStore(cfg.Paths.ConfigDir, server); readable(gs) {
				st = gs
			}
		}
	}
	m, err := decideMode(cfg, st)
	if err != nil {
		return nil, err
	}
	m.Store = st
	m.Key = reachKey(f, m)
	return m, nil
}

// listingMode is the mode whose policy lists the clusters: with a policy
// source configured, that source read directly (the user's own policy,
// which names the gateways too); else the mode without a cluster (a
// gateway's own policy).
func listingMode(f *cmdutil.Factory, cfg *config.Config) (*cmdutil.Mode, error) {
	if cfg.Policy.Source == "" {
		return homeMode(f, cfg)
	}
	m := &cmdutil.Mode{Store: session.NewStore(cfg.Paths.ConfigDir)}
	m.Key = reachKey(f, m)
	return m, nil
}

func readable(st *session.Store) bool {
	_, err := st.Read()
	return err == nil
}

// modeFor is the mode that reaches cluster c.
func modeFor(f *cmdutil.Factory, cfg *config.Config, c policy.Cluster) (*cmdutil.Mode, error) {
	dir := cfg.Paths.ConfigDir
	if c.Context != "" {
		if cfg.Server != "" {
			return nil, errs.UsageErrorf("cluster %s is reached through the kubeconfig context %s, not a gateway: leave out --server", c.Name, c.Context)
		}
		if fl := f.Flags.Lookup("context"); fl != nil && fl.Changed && *f.KubeFlags.Context != c.Context {
			return nil, errs.UsageErrorf("--cluster %s is reached through the context %s, not %s: give one of --cluster and --context", c.Name, c.Context, *f.KubeFlags.Context)
		}
		*f.KubeFlags.Context = c.Context
		st := session.DirectStore(dir)
		s, err := st.Read()
		m := &cmdutil.Mode{Cluster: &c, Store: st, Session: s, SessionErr: err}
		m.Key = reachKey(f, m)
		return m, nil
	}
	base := GatewayBase(c.Gateway)
	if cfg.Server != "" {
		server, err := gateway.NormalizeURL(cfg.Server)
		if err != nil {
			return nil, err
		}
		if server != base && server != c.Gateway {
			return nil, errs.UsageErrorf("--cluster %s is reached through the gateway %s, not %s: give one of --cluster and --server", c.Name, c.Gateway, server)
		}
	}
	st := session.GatewayStore(dir, base)
	s, err := st.Read()
	if err != nil {
		return nil, err
	}
	if err := st.Check(s); err != nil {
		return nil, err
	}
	m := &cmdutil.Mode{Gateway: c.Gateway, Session: s, Store: st, Cluster: &c}
	m.Key = reachKey(f, m)
	return m, nil
}

// GatewayBase is the gateway a cluster URL belongs to: a gateway fronting
// several serves each at GATEWAY/clusters/NAME, and its sessions are the
// gateway's.
func GatewayBase(url string) string {
	if i := strings.Index(url, gateway.ClustersPrefix); i > 0 {
		return url[:i]
	}
	return url
}

// reachKey says where the mode reaches its cluster: the gateway's URL, or
// the kubeconfig context and its server. It keys the policy and discovery
// caches.
func reachKey(f *cmdutil.Factory, m *cmdutil.Mode) string {
	if !m.Direct() {
		return "gateway " + m.Gateway
	}
	raw, err := f.KubeConfig().RawConfig()
	if err != nil {
		return ""
	}
	name := raw.CurrentContext
	if *f.KubeFlags.Context != "" {
		name = *f.KubeFlags.Context
	}
	server := ""
	if kc, ok := raw.Contexts[name]; ok && kc != nil {
		if cl, ok := raw.Clusters[kc.Cluster]; ok && cl != nil {
			server = cl.Server
		}
	}
	return "context " + name + " " + server
}

// contextName is the kubeconfig context direct mode uses.
func contextName(f *cmdutil.Factory) string {
	if *f.KubeFlags.Context != "" {
		return *f.KubeFlags.Context
	}
	raw, err := f.KubeConfig().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// loadPolicy reads the policy through the local cache as mode m reaches
// it: the configured source (a configmap:// one read from m's cluster) in
// direct mode, the gateway's own policy in gateway mode.
func loadPolicy(f *cmdutil.Factory, cfg *config.Config, m *cmdutil.Mode, src *gwsession.Source) (*policycache.Loaded, error) {
	o := policycache.Options{
		Source: cfg.Policy.Source, CAFile: cfg.Policy.CAFile, TTL: cfg.Policy.TTL, MaxStale: cfg.Policy.MaxStale,
		Dir: cfg.Paths.CacheDir, Warn: f.IOStreams.ErrOut, Cluster: m.Key,
	}
	if m.Direct() {
		o.ConfigMaps = configMapGetterFor(func() (*rest.Config, error) { return f.KubeConfig().ClientConfig() })
	} else if err := gatewayPolicyFor(f, m, src, &o); err != nil {
		return nil, err
	}
	return policycache.New(o).Load(context.Background())
}

// inCluster is the policy as it applies to the cluster of mode m: the
// cluster chosen, or the policy's cluster that m reaches. It records that
// cluster in m. A policy that names clusters none of which m reaches is a
// usage error: choose one.
func inCluster(f *cmdutil.Factory, m *cmdutil.Mode, pol *policy.Policy, source string) (*policy.Policy, error) {
	if m.Cluster != nil {
		v, err := pol.InCluster(m.Cluster.Name)
		if err != nil {
			return nil, errs.WithHint(errs.UsageErrorf("the policy of cluster %s (%s) does not name it: %v", m.Cluster.Name, source, err),
				"Ask your kgate administrators: each cluster's policy must list the cluster.")
		}
		return v, nil
	}
	if len(pol.Clusters()) == 0 {
		return pol, nil
	}
	var found []policy.Cluster
	ctx := contextName(f)
	for _, c := range pol.Clusters() {
		if m.Direct() && c.Context != "" && c.Context == ctx || !m.Direct() && c.Gateway != "" && (c.Gateway == m.Gateway || GatewayBase(c.Gateway) == m.Gateway) {
			found = append(found, c)
		}
	}
	if len(found) == 0 && !m.Direct() {
		// A gateway fronting several clusters: the one its URL's
		// /clusters/NAME names, else the one its unprefixed paths serve.
		if name := frontedCluster(m); name != "" {
			if c, ok := pol.ClusterByName(name); ok {
				found = append(found, c)
			}
		}
	}
	if len(found) != 1 {
		how := "the kubeconfig context " + ctx
		if !m.Direct() {
			how = "the gateway " + m.Gateway
		}
		return nil, errs.WithHint(errs.UsageErrorf("the policy names clusters (%s) and %s reaches %s of them", strings.Join(pol.ClusterNames(), ", "), how,
			map[bool]string{true: "none", false: "several"}[len(found) == 0]),
			"Choose one with --cluster NAME (or the config key cluster); `kgate clusters` lists them.")
	}
	c := found[0]
	m.Cluster = &c
	return pol.InCluster(c.Name)
}

// frontedCluster is the cluster gateway mode m reaches at a gateway
// fronting several: NAME of a GATEWAY/clusters/NAME URL, else the default
// cluster the gateway's login answered; "" when neither says.
func frontedCluster(m *cmdutil.Mode) string {
	if i := strings.Index(m.Gateway, gateway.ClustersPrefix); i > 0 {
		name, _, _ := strings.Cut(m.Gateway[i+len(gateway.ClustersPrefix):], "/")
		return name
	}
	if m.Session != nil && m.Session.Issuer == m.Gateway {
		return m.Session.DefaultCluster
	}
	return ""
}

// clusterSession is the session cluster c is reached with, for `kgate
// clusters`: the direct LDAP login, or that gateway's own session.
func clusterSession(f *cmdutil.Factory) func(policy.Cluster) (*session.Session, error) {
	return func(c policy.Cluster) (*session.Session, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		if c.Context != "" {
			return session.DirectStore(cfg.Paths.ConfigDir).Load()
		}
		return session.GatewayStore(cfg.Paths.ConfigDir, GatewayBase(c.Gateway)).Load()
	}
}

// clusterFunc is the cluster in use, once the policy is loaded; nil for a
// policy that names none.
func clusterFunc(f *cmdutil.Factory) func() (*policy.Cluster, error) {
	return func() (*policy.Cluster, error) {
		if _, err := f.Policy(); err != nil {
			return nil, err
		}
		m, err := f.Mode()
		if err != nil {
			return nil, err
		}
		return m.Cluster, nil
	}
}

// configMapGetterFor reads configmap:// policy sources with rc, the
// kubeconfig's credentials for the cluster in use.
func configMapGetterFor(rc func() (*rest.Config, error)) policycache.ConfigMapGetter {
	return func(ctx context.Context, namespace, name string) (map[string]string, string, error) {
		c, err := rc()
		if err != nil {
			return nil, "", err
		}
		client, err := kube.NewClient(c)
		if err != nil {
			return nil, "", err
		}
		r, err := kube.Lookup("configmaps")
		if err != nil {
			return nil, "", err
		}
		o, err := client.Get(ctx, r, namespace, name)
		if err != nil {
			return nil, "", err
		}
		data := map[string]string{}
		if d, ok := o.Object["data"].(map[string]any); ok {
			for k, v := range d {
				if s, ok := v.(string); ok {
					data[k] = s
				}
			}
		}
		return data, o.GetResourceVersion(), nil
	}
}

// gatewayPolicyFor makes the policy cache read the gateway's own policy for
// mode m (the cluster's, at GATEWAY/clusters/NAME on a gateway fronting
// several), with m's session; src is the token source, nil for a new one.
func gatewayPolicyFor(f *cmdutil.Factory, m *cmdutil.Mode, src *gwsession.Source, o *policycache.Options) error {
	if src == nil {
		src = gwsession.New(m.Store, m.Session, f.IOStreams.ErrOut)
	}
	rc := gateway.RESTConfig(m.Gateway, "", []byte(m.Session.GatewayCA))
	rc.Wrap(src.WrapTransport)
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return err
	}
	o.Source = m.Gateway + gateway.PolicyPath
	o.CAFile = ""
	o.HTTPClient = hc
	return nil
}
