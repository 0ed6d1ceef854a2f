// Package factory wires kgate's Factory: one named builder per dependency
// (config, mode, session, REST config, policy, audit, namespace), each
// built on first use and kept for the process, like gh's
// pkg/cmd/factory/default.go. Commands never build these themselves.
package factory

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/gwsession"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// New returns the Factory whose dependencies are built on first use. The
// order of the builders is the order of dependence: the config comes from
// the flags, the mode from the config and the session file, everything
// that reaches the cluster from the mode.
func New(streams *iostreams.IOStreams) *cmdutil.Factory {
	f := &cmdutil.Factory{IOStreams: streams}
	f.KubeFlags, f.Flags = globalFlags()
	f.KubeConfig = kubeconfigFunc(f.KubeFlags)
	f.Config = configFunc(f)
	f.Mode = modeFunc(f)
	f.GatewaySource = gatewaySourceFunc(f)
	f.Session = sessionFunc(f)
	f.RESTConfig = restConfigFunc(f)
	f.KubeClient = kubeClientFunc(f)
	f.Kinds = newKinds(f)
	f.Identity = identityFunc(f)
	f.Policy = policyFunc(f)
	f.Cluster = clusterFunc(f)
	f.HomePolicy = homePolicyFunc(f)
	f.ClusterSession = clusterSession(f)
	f.Audit = auditFunc(f)
	// A denial in a namespace the user never chose says how to choose one;
	// the namespace builder knows when that is.
	var unchosen func(policy.Request) error
	f.Authorize = authorizeFunc(f, &unchosen)
	f.Namespace = namespaceFunc(f, &unchosen)
	return f
}

// globalFlags are the flags every command has: cli-runtime's kubeconfig
// flags, -p, -o, -v and --server. The root command adds them as its
// persistent flags; the config builder reads them.
func globalFlags() (*genericclioptions.ConfigFlags, *pflag.FlagSet) {
	str := func() *string { s := ""; return &s }
	kf := &genericclioptions.ConfigFlags{
		KubeConfig: str(), Context: str(), Namespace: str(), Timeout: str(),
	}
	*kf.Timeout = "0"
	fs := pflag.NewFlagSet("kgate", pflag.ContinueOnError)
	kf.AddFlags(fs)
	fs.StringP("project", "p", "", "Project to work in: its first namespace (for patterns, the first existing match) when -n is not given")
	fs.StringP("output", "o", "", "Output format: wide, json, yaml, name, jsonpath=TEMPLATE, go-template=TEMPLATE")
	fs.IntP("v", "v", 0, "Log verbosity: 6 shows API requests, 8 their bodies")
	fs.String("server", "", "URL of the kgate gateway (gateway mode; default: config key server, else the session's gateway)")
	fs.String("cluster", "", "Cluster to work in, one the policy names (default: config key cluster, else the one the context or gateway reaches)")
	return kf, fs
}

// memo returns build's result, computed once.
func memo[T any](build func() (T, error)) func() (T, error) {
	var once sync.Once
	var v T
	var err error
	return func() (T, error) {
		once.Do(func() { v, err = build() })
		return v, err
	}
}

// configFunc loads the config from the global flags (only those the user
// set win), the environment and the config file, and gives the kubeconfig
// flags the config's values where the user did not set them.
func configFunc(f *cmdutil.Factory) func() (*config.Config, error) {
	return memo(func() (*config.Config, error) {
		cfg, err := config.Load(f.Flags)
		if err != nil {
			return nil, err
		}
		applyConfig(f.Flags, f.KubeFlags, cfg)
		return cfg, nil
	})
}

// applyConfig gives the kubeconfig flags the config file's and environment's
// values where the user did not set the flag.
func applyConfig(fs *pflag.FlagSet, kf *genericclioptions.ConfigFlags, cfg *config.Config) {
	set := func(name string, dst *string, val string) {
		if fl := fs.Lookup(name); fl != nil && fl.Changed {
			return
		}
		if val != "" {
			*dst = val
		}
	}
	set("kubeconfig", kf.KubeConfig, cfg.Kubeconfig)
	set("context", kf.Context, cfg.Context)
	set("namespace", kf.Namespace, cfg.Namespace)
}

// readSession reads the session file; tests count the reads through it.
var readSession = func(st *session.Store) (*session.Session, error) { return st.Read() }

// modeFunc decides, once, whether kgate runs direct or through a gateway
// (decideMode), reading the session file once for the whole process. A
// choice of cluster belongs here too: everything that reaches the cluster
// asks the mode.
func modeFunc(f *cmdutil.Factory) func() (*cmdutil.Mode, error) {
	return memo(func() (*cmdutil.Mode, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		if cfg.Cluster != "" {
			return clusterMode(f, cfg)
		}
		return homeMode(f, cfg)
	})
}

// gatewaySourceFunc hands out the gateway session's token source; nil in
// direct mode.
func gatewaySourceFunc(f *cmdutil.Factory) func() (*gwsession.Source, error) {
	return memo(func() (*gwsession.Source, error) {
		m, err := f.Mode()
		if err != nil || m.Direct() {
			return nil, err
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		st := m.Store
		if st == nil {
			st = session.NewStore(cfg.Paths.ConfigDir)
		}
		return gwsession.New(st, m.Session, f.IOStreams.ErrOut), nil
	})
}

// sessionFunc is the session as commands see it, refreshed when due: a
// gateway session's token (so the local policy check sees the groups the
// gateway will), a direct session's groups once it is older than the
// refresh interval (refreshDirect).
func sessionFunc(f *cmdutil.Factory) func() (*session.Session, error) {
	direct := memo(func() (*session.Session, error) {
		m, err := f.Mode()
		if err != nil {
			return nil, err
		}
		if m.SessionErr != nil {
			return nil, m.SessionErr
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		st := m.Store
		if st == nil {
			st = session.NewStore(cfg.Paths.ConfigDir)
		}
		if err := st.Check(m.Session); err != nil {
			return nil, err
		}
		return refreshDirect(context.Background(), cfg, st, m.Session, nil, f.IOStreams.ErrOut, time.Now())
	})
	return func() (*session.Session, error) {
		m, err := f.Mode()
		if err != nil {
			return nil, err
		}
		if m.Direct() {
			return direct()
		}
		src, err := f.GatewaySource()
		if err != nil {
			return nil, err
		}
		if _, _, err := src.Token(context.Background()); err != nil {
			return nil, err
		}
		return src.Session(), nil
	}
}

// restConfigFunc is the rest.Config of every command: the gateway's URL and
// the session's token in gateway mode, else the kubeconfig. Requests made
// under an allowed decision carry its id as Audit-ID.
func restConfigFunc(f *cmdutil.Factory) func() (*rest.Config, error) {
	return memo(func() (*rest.Config, error) {
		m, err := f.Mode()
		if err != nil {
			return nil, err
		}
		var c *rest.Config
		if m.Direct() {
			if c, err = f.KubeConfig().ClientConfig(); err != nil {
				return nil, err
			}
		} else if c, err = gatewayRESTConfig(f, m); err != nil {
			return nil, err
		}
		c.UserAgent = "kgate/" + rest.DefaultKubernetesUserAgent()
		c.Wrap(audit.WrapTransport)
		return c, nil
	})
}

func kubeClientFunc(f *cmdutil.Factory) func() (*kube.Client, error) {
	return memo(func() (*kube.Client, error) {
		c, err := f.RESTConfig()
		if err != nil {
			return nil, err
		}
		return kube.NewClient(c)
	})
}

// identityFunc is the session's user and groups, read once.
func identityFunc(f *cmdutil.Factory) func() (policy.Identity, error) {
	var id *policy.Identity
	return func() (policy.Identity, error) {
		if id != nil {
			return *id, nil
		}
		s, err := f.Session()
		if err != nil {
			return policy.Identity{}, err
		}
		id = &policy.Identity{User: s.User, Groups: s.Groups}
		return *id, nil
	}
}

// policyFunc is the policy in effect through the local policy cache: the
// configured source in direct mode, the gateway's own policy in gateway
// mode. It is loaded once per process.
func policyFunc(f *cmdutil.Factory) func() (*policycache.Loaded, error) {
	return memo(func() (*policycache.Loaded, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		m, err := f.Mode()
		if err != nil {
			return nil, err
		}
		var src *gwsession.Source
		if !m.Direct() {
			if src, err = f.GatewaySource(); err != nil {
				return nil, err
			}
		}
		l, err := loadPolicy(f, cfg, m, src)
		if err != nil {
			return nil, err
		}
		// The policy in effect is its view of the cluster in use.
		view, err := inCluster(f, m, l.Policy, l.Source)
		if err != nil {
			return nil, err
		}
		cp := *l
		cp.Policy = view
		return &cp, nil
	})
}

// homePolicyFunc is the whole policy as read without --cluster (the one
// that lists the clusters), for `kgate clusters` and completion of
// --cluster.
func homePolicyFunc(f *cmdutil.Factory) func() (*policy.Policy, error) {
	return memo(func() (*policy.Policy, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		m, err := listingMode(f, cfg)
		if err != nil {
			return nil, err
		}
		l, err := loadPolicy(f, cfg, m, nil)
		if err != nil {
			return nil, err
		}
		return l.Policy, nil
	})
}

// auditFunc is the decision log: the config's audit path, else audit.log in
// the state directory.
func auditFunc(f *cmdutil.Factory) func() (audit.Logger, error) {
	return memo(func() (audit.Logger, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		path := cfg.Audit.Path
		if path == "" {
			path = filepath.Join(cfg.Paths.StateDir, "audit.log")
		}
		return audit.NewFileLogger(audit.FileOptions{Path: path, MaxSizeMB: cfg.Audit.MaxSizeMB, MaxFiles: cfg.Audit.MaxFiles})
	})
}

// authorizeFunc is the policy check of the CLI (enforce.Authorizer) over
// the Factory's identity, policy and audit log. *unchosen, set by the
// namespace builder, explains a denial in a namespace the user never chose.
func authorizeFunc(f *cmdutil.Factory, unchosen *func(policy.Request) error) enforce.AuthorizeFunc {
	a := &enforce.Authorizer{
		Identity: func() (policy.Identity, error) { return f.Identity() },
		Policy:   f.PolicyOnly,
		Audit:    func() (audit.Logger, error) { return f.Audit() },
		Unchosen: func(req policy.Request) error {
			if *unchosen == nil {
				return nil
			}
			return (*unchosen)(req)
		},
	}
	return a.Authorize
}

// namespaceFunc is the namespace of every command (resolveNamespace), found
// once per process: resolving may list the cluster's namespaces.
func namespaceFunc(f *cmdutil.Factory, unchosen *func(policy.Request) error) func() (string, bool, error) {
	type result struct {
		ns       string
		explicit bool
	}
	resolve := memo(func() (result, error) {
		ns, explicit, err := resolveNamespace(f, unchosen)
		return result{ns, explicit}, err
	})
	return func() (string, bool, error) {
		r, err := resolve()
		return r.ns, r.explicit, err
	}
}

// gatewayRESTConfig is the rest.Config of gateway mode: the gateway's URL
// and CA, and the session's token on every request.
func gatewayRESTConfig(f *cmdutil.Factory, m *cmdutil.Mode) (*rest.Config, error) {
	src, err := f.GatewaySource()
	if err != nil {
		return nil, err
	}
	c := gateway.RESTConfig(m.Gateway, "", []byte(m.Session.GatewayCA))
	c.Wrap(src.WrapTransport)
	return c, nil
}
