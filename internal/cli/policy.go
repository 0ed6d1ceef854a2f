package cli

import (
	"context"
	"path/filepath"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

// wirePolicy gives the Factory the identity, the policy (through the local
// cache), the audit log and the policy check, and makes the namespace follow
// -p/--project and `kgate project use`.
func wirePolicy(f *cmdutil.Factory, kf *genericclioptions.ConfigFlags) {
	var id *policy.Identity
	f.Identity = func() (policy.Identity, error) {
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

	var loaded *policycache.Loaded
	var loadErr error
	f.Policy = func() (*policycache.Loaded, error) {
		if loaded != nil || loadErr != nil {
			return loaded, loadErr
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		o := policycache.Options{
			Source: cfg.Policy.Source, CAFile: cfg.Policy.CAFile, TTL: cfg.Policy.TTL, MaxStale: cfg.Policy.MaxStale,
			Dir: cfg.Paths.CacheDir, Warn: f.IOStreams.ErrOut, ConfigMaps: configMapGetter(f),
		}
		if err := gatewayPolicy(f, &o); err != nil {
			return nil, err
		}
		c := policycache.New(o)
		loaded, loadErr = c.Load(context.Background())
		return loaded, loadErr
	}

	var logger audit.Logger
	f.Audit = func() (audit.Logger, error) {
		if logger != nil {
			return logger, nil
		}
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		path := cfg.Audit.Path
		if path == "" {
			path = filepath.Join(cfg.Paths.StateDir, "audit.log")
		}
		logger, err = audit.NewFileLogger(audit.FileOptions{Path: path, MaxSizeMB: cfg.Audit.MaxSizeMB, MaxFiles: cfg.Audit.MaxFiles})
		return logger, err
	}

	a := &cmdutil.Authorizer{
		Identity: func() (policy.Identity, error) { return f.Identity() },
		Policy:   f.PolicyOnly,
		Audit:    func() (audit.Logger, error) { return f.Audit() },
	}
	f.Authorize = a.Authorize

	kubeNamespace := f.Namespace
	f.Namespace = func() (string, bool, error) {
		if *kf.Namespace != "" {
			return kubeNamespace()
		}
		cfg, err := f.Config()
		if err != nil {
			return "", false, err
		}
		project, explicit := cfg.Project, true
		if project == "" {
			explicit = false
			if project, err = cmdutil.ReadCurrentProject(cfg.Paths.ConfigDir); err != nil {
				return "", false, err
			}
		}
		if project == "" {
			return kubeNamespace()
		}
		ns, err := projectNamespace(f, project)
		return ns, explicit, err
	}
}

// projectNamespace is the namespace -p PROJECT selects: its first namespace
// that is not a glob.
func projectNamespace(f *cmdutil.Factory, name string) (string, error) {
	pol, err := f.PolicyOnly()
	if err != nil {
		return "", err
	}
	pr, ok := pol.ProjectByName(name)
	if !ok {
		return "", errs.WithHint(errs.NotFoundErrorf("project %q is not in the policy", name),
			"Run `kgate projects` to list yours.")
	}
	ns := pr.DefaultNamespace()
	if ns == "" {
		return "", errs.UsageErrorf("project %q has only namespace patterns (%v); name the namespace with -n", name, pr.Namespaces)
	}
	return ns, nil
}

// configMapGetter reads configmap:// policy sources with the user's own
// kubeconfig.
func configMapGetter(f *cmdutil.Factory) policycache.ConfigMapGetter {
	return func(ctx context.Context, namespace, name string) (map[string]string, string, error) {
		client, err := f.KubeClient()
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
