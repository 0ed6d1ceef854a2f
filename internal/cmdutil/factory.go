// Package cmdutil holds what every command gets: the Factory with lazily
// built dependencies (wired in internal/factory), the confirmation prompt,
// and the argument validators that return typed usage errors.
package cmdutil

import (
	"context"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/gwsession"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// Factory builds what commands need, once, on first use; internal/factory
// wires every func (factory.New). Commands copy the funcs they use into
// their Options so tests can replace them.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// KubeFlags are cli-runtime's --kubeconfig, --context, -n as kubectl has them.
	KubeFlags *genericclioptions.ConfigFlags
	// KubeConfig is the kubeconfig as KubeFlags say at the time of asking,
	// over kubeconfig files read once per process.
	KubeConfig func() clientcmd.ClientConfig
	// Flags are the global flags (the root command's persistent ones): the
	// kube flags, -p, -o, -v and --server. Config reads them once parsed.
	Flags *pflag.FlagSet

	// Config is the configuration: flags the user set, KGATE_* environment,
	// config file, defaults. It is loaded once, on first use after the flags
	// are parsed.
	Config func() (*config.Config, error)
	// Mode is how this process reaches the cluster, direct or through a
	// gateway, decided once from the config and the session file (which it
	// reads once for the whole process).
	Mode func() (*Mode, error)
	// Session is the logged-in identity (user, groups) from `kgate login`.
	// No session, an expired, corrupt or loosely permitted one is an
	// errs.KindAuth error (exit 3) with the hint "Run `kgate login`".
	Session func() (*session.Session, error)
	// GatewaySource hands out the gateway session's access token, refreshed
	// when due; nil (and no error) in direct mode.
	GatewaySource func() (*gwsession.Source, error)
	// RESTConfig is the cluster's rest.Config in either mode.
	RESTConfig func() (*rest.Config, error)
	KubeClient func() (*kube.Client, error)
	// Kinds resolves the kinds users type against every kind the cluster
	// serves (built-in kinds without a request; others through discovery,
	// cached on disk per cluster).
	Kinds *kube.Kinds

	// Identity is the session's user and groups, as the policy sees them.
	Identity func() (policy.Identity, error)
	// Policy is the policy in effect, through the local policy cache; it is
	// loaded once per process.
	Policy func() (*policycache.Loaded, error)
	// Audit is the decision log.
	Audit func() (audit.Logger, error)
	// Authorize is the policy check every command makes before any request
	// reaches the cluster; see enforce.AuthorizeFunc. Commands reach it
	// through Access.
	Authorize enforce.AuthorizeFunc

	// Cluster is the cluster in use, once the policy is loaded: the one
	// chosen with --cluster, else the policy's cluster that the kubeconfig's
	// context or the session's gateway reaches; nil for a policy that names
	// no clusters.
	Cluster func() (*policy.Cluster, error)
	// HomePolicy is the whole policy as read without --cluster, whichever
	// cluster is chosen: the one that lists the clusters.
	HomePolicy func() (*policy.Policy, error)
	// ClusterSession is the session a cluster is reached with: the direct
	// LDAP login for a context, that gateway's own session for a gateway.
	ClusterSession func(c policy.Cluster) (*session.Session, error)

	// Namespace is -n, else the first exact namespace of -p/--project, else
	// that of the project chosen with `kgate project use`, else the
	// kubeconfig's namespace for the context, else "default". explicit
	// reports whether the user named it with -n or -p.
	Namespace func() (ns string, explicit bool, err error)
}

// Mode is how one process reaches the cluster. It is the one place that
// knows which gateway (and, later, which cluster) the commands talk to;
// Session, GatewaySource, RESTConfig and the policy source follow it.
type Mode struct {
	// Gateway is the gateway's URL in gateway mode, "" in direct mode.
	Gateway string
	// Session is the session file as read (not checked for expiry in
	// direct mode); nil when it could not be read, SessionErr says why.
	Session    *session.Session
	SessionErr error
	// Store is the session file of the mode: the current session, the
	// direct LDAP login's, or one gateway's.
	Store *session.Store
	// Cluster is the policy's cluster the mode reaches: chosen with
	// --cluster, or (set once the policy is loaded) found by context or
	// gateway; nil when the policy names none.
	Cluster *policy.Cluster
	// Key says where the cluster is reached (the kubeconfig context and its
	// server, or the gateway's URL): the policy and discovery caches are
	// kept per Key, so nothing answers for another cluster.
	Key string
}

// Direct reports whether kgate talks to the API server itself.
func (m *Mode) Direct() bool { return m.Gateway == "" }

// OutputFormat returns a func that reads -o (or its config/env value).
func (f *Factory) OutputFormat() func() (string, error) {
	return func() (string, error) {
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		return cfg.Output, nil
	}
}

// Access is the policy check as commands carry it (the one hook every
// command's Options has), built from f.
func (f *Factory) Access() *enforce.Access {
	return &enforce.Access{
		Check: func(ctx context.Context, req policy.Request, command ...string) (context.Context, error) {
			return f.Authorize(ctx, req, command...)
		},
		Identity: func() (policy.Identity, error) { return f.Identity() },
		Policy:   f.PolicyOnly,
		Namespaces: func(ctx context.Context) ([]string, error) {
			client, err := f.KubeClient()
			if err != nil {
				return nil, err
			}
			r, err := kube.Lookup("namespaces")
			if err != nil {
				return nil, err
			}
			l, err := client.Names(ctx, r, "", kube.ListOptions{ChunkSize: 500})
			if err != nil {
				return nil, err
			}
			names := make([]string, len(l))
			for i, m := range l {
				names[i] = m.Name
			}
			return names, nil
		},
	}
}

// PolicyOnly returns the policy in effect, without where it came from.
func (f *Factory) PolicyOnly() (*policy.Policy, error) {
	l, err := f.Policy()
	if err != nil {
		return nil, err
	}
	return l.Policy, nil
}
