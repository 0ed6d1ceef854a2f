// Package cmdutil holds what every command gets: the Factory with lazily
// built dependencies, and helpers shared by commands.
package cmdutil

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/gwsession"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// Factory builds what commands need, once, on first use. Commands copy the
// funcs they use into their Options so tests can replace them.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// KubeFlags are cli-runtime's --kubeconfig, --context, -n as kubectl has them.
	KubeFlags *genericclioptions.ConfigFlags

	Config     func() (*config.Config, error)
	RESTConfig func() (*rest.Config, error)
	KubeClient func() (*kube.Client, error)
	// Kinds resolves the kinds users type against every kind the cluster
	// serves (built-in kinds without a request; others through discovery,
	// cached on disk per cluster).
	Kinds *kube.Kinds
	// Namespace is -n, else the first exact namespace of -p/--project, else
	// that of the project chosen with `kgate project use`, else the
	// kubeconfig's namespace for the context, else "default". explicit
	// reports whether the user named it with -n or -p.
	Namespace func() (ns string, explicit bool, err error)
	// Session is the logged-in identity (user, groups) from `kgate login`.
	// No session, an expired, corrupt or loosely permitted one is an
	// errs.KindAuth error (exit 3) with the hint "Run `kgate login`".
	Session func() (*session.Session, error)

	// GatewaySource hands out the gateway session's access token, refreshed
	// when due; nil (and no error) in direct mode.
	GatewaySource func() (*gwsession.Source, error)

	// Identity is the session's user and groups, as the policy sees them.
	Identity func() (policy.Identity, error)
	// Policy is the policy in effect, through the local policy cache; it is
	// loaded once per process.
	Policy func() (*policycache.Loaded, error)
	// Audit is the decision log.
	Audit func() (audit.Logger, error)
	// Authorize is the policy check every command makes before any request
	// reaches the cluster; see AuthorizeFunc.
	Authorize AuthorizeFunc
}

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
