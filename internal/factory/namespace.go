package factory

import (
	"context"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

// resolveNamespace is the one place that says where a command works, in
// this order: -n; else that of -p (cfg.Project); else that of the project
// chosen with `kgate project use`; else the kubeconfig context's. When the
// context names none (or "default"), and the user holds no role in
// "default", the user's only project stands in; with several, a refused
// request there says how to choose (set in *unchosen). explicit reports
// whether the user named it with -n or -p.
func resolveNamespace(f *cmdutil.Factory, unchosen *func(policy.Request) error) (string, bool, error) {
	kf := f.KubeFlags
	// The kubeconfig's answer, with -n as its override.
	kubeNamespace := func() (string, bool, error) {
		ns, explicit, err := f.KubeConfig().Namespace()
		if err != nil {
			return "", false, err
		}
		return ns, explicit || *kf.Namespace != "", nil
	}
	// The config gives -n its KGATE_NAMESPACE or config file value.
	cfg, err := f.Config()
	if err != nil {
		return "", false, err
	}
	// The mode chooses the kubeconfig context of the cluster (--cluster):
	// its namespace is the one to read. Its errors are the command's to say.
	_, _ = f.Mode()
	if *kf.Namespace != "" {
		return kubeNamespace()
	}
	project, explicit, chosenNS := cfg.Project, true, ""
	if project == "" {
		explicit = false
		// Each cluster has its own current project.
		cluster := ""
		if c, err := f.Cluster(); err == nil && c != nil {
			cluster = c.Name
		}
		if project, chosenNS, err = config.ReadCurrentIn(cfg.Paths.ConfigDir, cluster); err != nil {
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
	if cn := contextNamespace(f); err != nil || explicit || cn != "" && cn != "default" {
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
		return enforce.NoNamespaceChosen(id.User, ns, names)
	}
	return ns, false, nil
}

// contextNamespace is the namespace the kubeconfig's current context names,
// or "".
func contextNamespace(f *cmdutil.Factory) string {
	kf := f.KubeFlags
	raw, err := f.KubeConfig().RawConfig()
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
// its patterns match (enforce.Access.PickNamespace).
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
