package kube

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kgate/kgate/internal/audit"
)

// WithAuditID returns a copy of rc that sends the audit id of ctx with every
// request, also those made without a context (kubectl's libraries make many).
func WithAuditID(ctx context.Context, rc *rest.Config) *rest.Config {
	id, ok := audit.IDFrom(ctx)
	if !ok {
		return rc
	}
	c := rest.CopyConfig(rc)
	c.Wrap(audit.FixedID(id))
	return c
}

// RESTGetter hands kgate's rest.Config (direct or gateway mode alike) and
// namespace to kubectl's libraries (polymorphichelpers, cp, ...), which take
// a genericclioptions.RESTClientGetter.
type RESTGetter struct {
	Config    *rest.Config
	Namespace string
}

var _ genericclioptions.RESTClientGetter = RESTGetter{}

// ToRESTConfig implements genericclioptions.RESTClientGetter.
func (g RESTGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.Config), nil }

// ToDiscoveryClient implements genericclioptions.RESTClientGetter.
func (g RESTGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	d, err := discovery.NewDiscoveryClientForConfig(g.Config)
	if err != nil {
		return nil, err
	}
	return memory.NewMemCacheClient(d), nil
}

// ToRESTMapper implements genericclioptions.RESTClientGetter.
func (g RESTGetter) ToRESTMapper() (meta.RESTMapper, error) {
	d, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(d), nil
}

// ToRawKubeConfigLoader implements genericclioptions.RESTClientGetter: a
// loader that answers with kgate's namespace and rest.Config.
func (g RESTGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig { return loader{g} }

type loader struct{ g RESTGetter }

func (l loader) RawConfig() (clientcmdapi.Config, error) { return clientcmdapi.Config{}, nil }
func (l loader) ClientConfig() (*rest.Config, error)     { return rest.CopyConfig(l.g.Config), nil }
func (l loader) Namespace() (string, bool, error)        { return l.g.Namespace, true, nil }
func (l loader) ConfigAccess() clientcmd.ConfigAccess {
	return clientcmd.NewDefaultClientConfigLoadingRules()
}
