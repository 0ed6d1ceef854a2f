// Package projects implements `kgate projects`.
package projects

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/printers"
)

// Options are what `kgate projects` needs.
type Options struct {
	IO       *iostreams.IOStreams
	Identity func() (policy.Identity, error)
	Policy   func() (*policy.Policy, error)
	Output   func() (string, error)
	// Current is the project chosen with `kgate project use` ("" for none).
	Current func() (string, error)
	// Namespaces returns a project's namespaces with its patterns expanded
	// against the cluster's (enforce.Access.ProjectNamespaces); nil shows
	// the patterns.
	Namespaces func(ctx context.Context, pr *policy.Project) ([]string, error)
}

// Project is one of the user's projects, as printed with -o json|yaml.
type Project struct {
	// Cluster is the cluster the role is held in (a policy that names
	// clusters); empty for a version-1 policy, which means every cluster.
	Cluster string      `json:"cluster,omitempty"`
	Name    string      `json:"name"`
	Role    policy.Role `json:"role"`
	// Namespaces are the project's namespaces: its exact names, then those
	// of the cluster its patterns match.
	Namespaces []string `json:"namespaces"`
	// Patterns are the project's namespace patterns, as the policy has them.
	Patterns []string `json:"patterns,omitempty"`
	Current  bool     `json:"current"`
}

// NewCmdProjects returns `kgate projects`; runF replaces the run step in tests.
func NewCmdProjects(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Identity: func() (policy.Identity, error) { return f.Identity() }, Policy: f.PolicyOnly}
	opts.Output = f.OutputFormat()
	opts.Namespaces = func(ctx context.Context, pr *policy.Project) ([]string, error) {
		_, nss, err := f.Access().ProjectNamespaces(ctx, pr)
		return nss, err
	}
	opts.Current = func() (string, error) {
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		cluster := ""
		if f.Cluster != nil {
			c, err := f.Cluster()
			if err != nil {
				return "", err
			}
			if c != nil {
				cluster = c.Name
			}
		}
		name, _, err := config.ReadCurrentIn(cfg.Paths.ConfigDir, cluster)
		return name, err
	}
	return &cobra.Command{
		Use:   "projects",
		Short: "List your projects, your role in each and their namespaces",
		Long: `List the projects in which you hold a role, the role (guest: may look; admin:
may also change) and the namespaces each owns. A project defined by patterns
(search-*) shows the namespaces of the cluster they match. A super admin is
an admin of every project. The current project (kgate project use) is marked
with '*'. When the policy names clusters, each row names the cluster the role
is held in: a project can have other namespaces and roles in each (the
namespaces matched by patterns are listed for the cluster in use).`,
		Example: `  kgate projects

  # for a script
  kgate projects -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return projectsRun(cmd.Context(), opts)
		},
	}
}

func projectsRun(ctx context.Context, opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for projects: use json or yaml", out)
	}
	id, err := opts.Identity()
	if err != nil {
		return err
	}
	pol, err := opts.Policy()
	if err != nil {
		return err
	}
	current, err := opts.Current()
	if err != nil {
		return err
	}
	list := []Project{}
	warned := false
	for _, m := range pol.ProjectsByCluster(id) {
		here := m.Cluster == pol.Cluster()
		p := Project{Cluster: m.Cluster, Name: m.Project, Role: m.Role, Namespaces: m.Namespaces, Current: here && m.Project == current}
		var pr *policy.Project
		if view, err := pol.ForCluster(m.Cluster); err == nil {
			pr, _ = view.ProjectByName(m.Project)
		}
		if pr != nil && pr.HasPattern() {
			for _, n := range pr.Namespaces {
				if policy.IsGlob(n) {
					p.Patterns = append(p.Patterns, n)
				}
			}
			if opts.Namespaces != nil && here {
				nss, err := opts.Namespaces(ctx, pr)
				switch {
				case err == nil:
					p.Namespaces = nss
				case !warned:
					// The policy alone still answers; say what is missing.
					fmt.Fprintf(opts.IO.ErrOut, "Warning: the cluster's namespaces could not be listed (%v); showing the patterns.\n", err)
					warned = true
				}
			}
		}
		if p.Namespaces == nil {
			p.Namespaces = []string{}
		}
		list = append(list, p)
	}
	switch out {
	case "json":
		return printers.Value(opts.IO.Out, "json", list)
	case "yaml":
		return printers.Value(opts.IO.Out, "yaml", list)
	}
	if len(list) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%s holds no role in any project; ask a project's admins for one.\n", id.User)
		return nil
	}
	clusters := len(pol.Clusters()) > 0
	rows := make([]printers.Row, len(list))
	for i, p := range list {
		mark := ""
		if p.Current {
			mark = "*"
		}
		nss := strings.Join(p.Namespaces, ",")
		if nss == "" {
			nss = "(none yet: " + strings.Join(p.Patterns, ",") + ")"
		}
		rows[i] = printers.Row{mark, p.Name, p.Role.String(), nss}
		if clusters {
			rows[i] = printers.Row{mark, p.Cluster, p.Name, p.Role.String(), nss}
		}
	}
	if clusters {
		return printers.Print(opts.IO.Out, printers.Row{"CURRENT", "CLUSTER", "PROJECT", "ROLE", "NAMESPACES"}, rows)
	}
	return printers.Print(opts.IO.Out, printers.Row{"CURRENT", "PROJECT", "ROLE", "NAMESPACES"}, rows)
}
