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

	// unchosen is set when the namespace is the kubeconfig's default one,
	// which the user never chose and holds no role in.
	var unchosen func(req policy.Request) error
	a := &cmdutil.Authorizer{
		Identity: func() (policy.Identity, error) { return f.Identity() },
		Policy:   f.PolicyOnly,
		Audit:    func() (audit.Logger, error) { return f.Audit() },
		Unchosen: func(req policy.Request) error {
			if unchosen == nil {
				return nil
			}
			return unchosen(req)
		},
	}
	f.Authorize = a.Authorize

	kubeNamespace := f.Namespace
	var nsDone bool
	var nsVal string
	var nsExplicit bool
	var nsErr error
	f.Namespace = func() (string, bool, error) {
		if *kf.Namespace != "" {
			return kubeNamespace()
		}
		// Resolving may list the cluster's namespaces: once per process.
		if !nsDone {
			nsVal, nsExplicit, nsErr = resolveNamespace(f, kf, kubeNamespace, &unchosen)
			nsDone = true
		}
		return nsVal, nsExplicit, nsErr
	}
}

// resolveNamespace is the namespace without -n: that of -p, else of the
// project chosen with `kgate project use`, else the kubeconfig context's.
// When the context names none (or "default"), and the user holds no role in
// "default", the user's only project stands in; with several, a refused
// request there says how to choose (set in *unchosen).
func resolveNamespace(f *cmdutil.Factory, kf *genericclioptions.ConfigFlags, kubeNamespace func() (string, bool, error),
	unchosen *func(policy.Request) error) (string, bool, error) {
	cfg, err := f.Config()
	if err != nil {
		return "", false, err
	}
	project, explicit, chosenNS := cfg.Project, true, ""
	if project == "" {
		explicit = false
		if project, chosenNS, err = cmdutil.ReadCurrent(cfg.Paths.ConfigDir); err != nil {
			return "", false, err
		}
	}
	if project != "" {
		ns, err := projectNamespace(f, project, chosenNS)
		return ns, explicit, err
	}
	ns, explicit, err := kubeNamespace()
	// A context's namespace is the user's choice, except "default": kubectl's
	// own fallback, which many kubeconfigs spell out.
	if cn := contextNamespace(kf); err != nil || explicit || cn != "" && cn != "default" {
		return ns, explicit, err
	}
	// Without a session or a policy the command fails later, in its own words.
	id, err := f.Identity()
	if err != nil {
		return ns, false, nil
	}
	pol, err := f.PolicyOnly()
	if err != nil {
		return ns, false, nil
	}
	if pol.RoleIn(id, ns) > policy.RoleNone {
		return ns, false, nil
	}
	mine := pol.ProjectsOf(id)
	if len(mine) == 1 {
		pns, err := projectNamespace(f, mine[0].Project, "")
		return pns, false, err
	}
	names := make([]string, len(mine))
	for i, m := range mine {
		names[i] = m.Project
	}
	*unchosen = func(req policy.Request) error {
		if req.Namespace != ns {
			return nil
		}
		return cmdutil.NoNamespaceChosen(id.User, ns, names)
	}
	return ns, false, nil
}

// contextNamespace is the namespace the kubeconfig's current context names,
// or "".
func contextNamespace(kf *genericclioptions.ConfigFlags) string {
	raw, err := kf.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	name := raw.CurrentContext
	if kf.Context != nil && *kf.Context != "" {
		name = *kf.Context
	}
	if c, ok := raw.Contexts[name]; ok && c != nil {
		return c.Namespace
	}
	return ""
}

// projectNamespace is the namespace -p PROJECT selects: chosen (recorded by
// `kgate project use -n`) when the project still owns it, else its first
// namespace that is not a pattern, else the first namespace of the cluster
// its patterns match (cmdutil.Access.PickNamespace).
func projectNamespace(f *cmdutil.Factory, name, chosen string) (string, error) {
	pol, err := f.PolicyOnly()
	if err != nil {
		return "", err
	}
	pr, ok := pol.ProjectByName(name)
	if !ok {
		return "", errs.WithHint(errs.NotFoundErrorf("project %q is not in the policy", name),
			"Run `kgate projects` to list yours.")
	}
	if chosen != "" && pr.Matches(chosen) {
		return chosen, nil
	}
	if ns := pr.DefaultNamespace(); ns != "" {
		return ns, nil
	}
	ns, _, err := f.Access().PickNamespace(context.Background(), pr)
	return ns, err
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
