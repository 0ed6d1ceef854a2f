package completion

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// newCompleter builds the completer of one completion request; tests
// replace it.
var newCompleter = fromFactory

// fromFactory builds the completer of one completion request from the
// Factory, with the flags cobra has parsed from the line. It first runs the
// root command's PersistentPreRunE, which cobra does not run for completion
// requests (Root makes it skip them): it loads the config (flags,
// environment, file) as every command sees it.
func fromFactory(cmd *cobra.Command, f *cmdutil.Factory) *completer {
	pre := cmd.Root().PersistentPreRunE
	c := &completer{
		Identity:  func() (policy.Identity, error) { return policy.Identity{}, fmt.Errorf("no configuration") },
		Policy:    func(context.Context) (*policy.Policy, error) { return nil, fmt.Errorf("no configuration") },
		Namespace: func() (string, error) { return "", fmt.Errorf("no configuration") },
		Cluster:   &apiCluster{client: func() (*kube.Client, error) { return nil, fmt.Errorf("no configuration") }},
	}
	if pre != nil {
		if err := pre(cmd, nil); err != nil {
			debug("configuration: %v", err)
			return c
		}
	}
	cfg, err := f.Config()
	if err != nil {
		debug("configuration: %v", err)
		return c
	}
	c.Project = cfg.Project
	c.Identity = f.Identity
	c.Kinds = f.Kinds.Offline()
	// The policy cache may fetch a policy past its TTL; completion waits
	// for it no longer than its deadline.
	c.Policy = func(ctx context.Context) (*policy.Policy, error) {
		return bounded(ctx, f.PolicyOnly)
	}
	c.Namespace = func() (string, error) {
		// A project of patterns may need the cluster's namespaces: bounded too.
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		return bounded(ctx, func() (string, error) {
			ns, _, err := f.Namespace()
			return ns, err
		})
	}
	var client *kube.Client
	c.Cluster = &apiCluster{client: func() (*kube.Client, error) {
		if client != nil {
			return client, nil
		}
		rc, err := f.RESTConfig()
		if err != nil {
			return nil, err
		}
		rc = rest.CopyConfig(rc)
		rc.Timeout = completionTimeout
		rc.WarningHandler = rest.NoWarnings{}
		if rc.ExecProvider != nil {
			// A credential plugin must not prompt in the middle of a shell line.
			ep := *rc.ExecProvider
			ep.StdinUnavailable = true
			ep.StdinUnavailableMessage = "kgate completion"
			rc.ExecProvider = &ep
		}
		client, err = kube.NewClient(rc)
		return client, err
	}}
	c.Clusters = func(ctx context.Context) ([]policy.Cluster, error) {
		pol, err := bounded(ctx, f.HomePolicy)
		if err != nil {
			return nil, err
		}
		return pol.Clusters(), nil
	}
	c.Contexts = func() ([]candidate, error) {
		raw, err := f.KubeConfig().RawConfig()
		if err != nil {
			return nil, err
		}
		var out []candidate
		for name, ctx := range raw.Contexts {
			desc := ctx.Cluster
			if ctx.Namespace != "" {
				desc += ", namespace " + ctx.Namespace
			}
			if name == raw.CurrentContext {
				desc += " (current)"
			}
			out = append(out, candidate{Name: name, Desc: desc})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	return c
}

// bounded returns fn's result, or ctx's error when ctx ends first (fn then
// finishes in the background; the process is about to exit).
func bounded[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
