package factory

import (
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigFunc returns the kubeconfig as the kubeconfig flags say at the
// time of asking (--kubeconfig, --context, -n, --request-timeout: the
// config file fills them in, the mode may choose the context later), over
// kubeconfig files read and decoded once per process.
//
// cli-runtime's ConfigFlags reads the files again for every question it is
// asked: a command asked four or five (the namespace, the context's name,
// the cache key, the REST config), and each reading decoded the whole file
// (with its embedded certificates) from YAML: 11 M instructions of a 75 M
// completion. The client configs are cli-runtime's own otherwise: the same
// loading rules and defaults, the same message for a missing kubeconfig.
func kubeconfigFunc(kf *genericclioptions.ConfigFlags) func() clientcmd.ClientConfig {
	var mu sync.Mutex
	loaders := map[string]*onceLoader{} // by --kubeconfig
	return func() clientcmd.ClientConfig {
		mu.Lock()
		l := loaders[*kf.KubeConfig]
		if l == nil {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
			rules.ExplicitPath = *kf.KubeConfig
			l = &onceLoader{ClientConfigLoadingRules: rules}
			loaders[*kf.KubeConfig] = l
		}
		mu.Unlock()
		overrides := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults, CurrentContext: *kf.Context, Timeout: *kf.Timeout}
		overrides.Context.Namespace = *kf.Namespace
		return emptyConfigError{clientcmd.NewNonInteractiveDeferredLoadingClientConfig(l, overrides)}
	}
}

// onceLoader is the loading rules with their Load done once; each caller
// gets a copy of the merged config.
type onceLoader struct {
	*clientcmd.ClientConfigLoadingRules
	once sync.Once
	cfg  *clientcmdapi.Config
	err  error
}

func (l *onceLoader) Load() (*clientcmdapi.Config, error) {
	l.once.Do(func() { l.cfg, l.err = l.ClientConfigLoadingRules.Load() })
	if l.err != nil {
		return nil, l.err
	}
	return l.cfg.DeepCopy(), nil
}

// emptyConfigError says what cli-runtime's client config says when there
// is no kubeconfig: where kgate looks for one.
type emptyConfigError struct{ cc clientcmd.ClientConfig }

func emptyConfig(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return genericclioptions.ErrEmptyConfig
	}
	return err
}

func (c emptyConfigError) RawConfig() (clientcmdapi.Config, error) {
	raw, err := c.cc.RawConfig()
	return raw, emptyConfig(err)
}

func (c emptyConfigError) ClientConfig() (*rest.Config, error) {
	rc, err := c.cc.ClientConfig()
	return rc, emptyConfig(err)
}

func (c emptyConfigError) Namespace() (string, bool, error) {
	ns, explicit, err := c.cc.Namespace()
	return ns, explicit, emptyConfig(err)
}

func (c emptyConfigError) ConfigAccess() clientcmd.ConfigAccess { return c.cc.ConfigAccess() }
