package factory

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/kube"
)

// newKinds returns the resolver of kinds for f's cluster. Nothing is read or
// asked until a name outside the built-in kinds is: discovery goes through
// f's client (the gateway in gateway mode), and its cache is kept per
// server and user under the cache directory.
func newKinds(f *cmdutil.Factory) *kube.Kinds {
	return &kube.Kinds{
		Discover: func() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
			c, err := f.KubeClient()
			if err != nil {
				return nil, nil, err
			}
			d, err := discovery.NewDiscoveryClientForConfigAndClient(c.Config, c.HTTP)
			if err != nil {
				return nil, nil, err
			}
			return discovery.ServerGroupsAndResources(d)
		},
		FileFor: func() string {
			cfg, err := f.Config()
			if err != nil || cfg.Paths.CacheDir == "" {
				return ""
			}
			rc, err := f.RESTConfig()
			if err != nil {
				return ""
			}
			key := ""
			if m, err := f.Mode(); err == nil {
				key = m.Key
			}
			return kube.CacheFile(cfg.Paths.CacheDir, key, rc.Host, cacheUser(f, rc.Username))
		},
	}
}

// cacheUser names whom a cluster's discovery cache belongs to: the kgate
// user when logged in, else the kubeconfig's user name.
func cacheUser(f *cmdutil.Factory, fallback string) string {
	if f.Session != nil {
		if s, err := f.Session(); err == nil && s.User != "" {
			return s.User
		}
	}
	if fallback == "" {
		return "default"
	}
	return fallback
}
