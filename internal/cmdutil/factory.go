// Package cmdutil holds what every command gets: the Factory with lazily
// built dependencies, and helpers shared by commands.
package cmdutil

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
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
	// Namespace is -n, else the kubeconfig's namespace for the context, else "default".
	// explicit reports whether the user named it with -n.
	Namespace func() (ns string, explicit bool, err error)
}
