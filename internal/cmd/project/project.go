// Package project implements `kgate project use`.
package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
)

// UseOptions are what `kgate project use` needs.
type UseOptions struct {
	IO       *iostreams.IOStreams
	Identity func() (policy.Identity, error)
	Policy   func() (*policy.Policy, error)
	// Namespaces returns the project's namespaces: its exact names, then the
	// cluster's namespaces its patterns match (enforce.Access.ProjectNamespaces).
	Namespaces func(ctx context.Context, pr *policy.Project) ([]string, error)
	// Write records the current project ("" forgets it) and the namespace
	// chosen in it ("" for the project's first exact namespace).
	Write func(name, namespace string) error

	Name string
	// Namespace is -n: the namespace of the project to work in.
	Namespace string
	Clear     bool
}

// NewCmdProject returns `kgate project` and its subcommands.
func NewCmdProject(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project <command>",
		Short: "Choose the project commands work in",
		Long: `Choose the project whose namespace commands use when -n is not given.
The namespace is, in order: -n, that of -p/--project (its first namespace
that is not a pattern, else the first namespace of the cluster its patterns
match), that of the project chosen with 'kgate project use', and the
kubeconfig's namespace. With none of these, a user who holds a role in one
project only works in that project.`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(NewCmdUse(f, nil))
	return cmd
}

// NewCmdUse returns `kgate project use`; runF replaces the run step in tests.
func NewCmdUse(f *cmdutil.Factory, runF func(*UseOptions) error) *cobra.Command {
	opts := &UseOptions{IO: f.IOStreams, Identity: func() (policy.Identity, error) { return f.Identity() }, Policy: f.PolicyOnly}
	opts.Namespaces = func(ctx context.Context, pr *policy.Project) ([]string, error) {
		_, nss, err := f.Access().ProjectNamespaces(ctx, pr)
		return nss, err
	}
	opts.Write = func(name, namespace string) error {
		cfg, err := f.Config()
		if err != nil {
			return err
		}
		cluster := ""
		if f.Cluster != nil {
			c, err := f.Cluster()
			if err != nil {
				return err
			}
			if c != nil {
				cluster = c.Name
			}
		}
		return config.WriteCurrentIn(cfg.Paths.ConfigDir, cluster, name, namespace)
	}
	cmd := &cobra.Command{
		Use:   "use (NAME [-n NAMESPACE] | --clear)",
		Short: "Work in a project's namespace by default",
		Long: `Make NAME the current project: commands without -n or -p then work in its
first namespace that is not a pattern, or in the namespace chosen with -n.
A project defined by patterns (search-*) stands for the namespaces of the
cluster they match; without -n the first one you may see is chosen.
--clear goes back to the kubeconfig's namespace.`,
		Example: `  kgate project use payments
  kgate get pods            # in namespace payments

  # a project of patterns: choose which of its namespaces
  kgate project use search -n search-prod

  kgate project use --clear`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.Clear && len(args) > 0:
				return errs.UsageErrorf("give a project or --clear, not both")
			case !opts.Clear && len(args) != 1:
				return errs.UsageErrorf("give one project name (see `kgate projects`), or --clear")
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
				opts.Namespace = fl.Value.String()
				if opts.Clear {
					return errs.UsageErrorf("-n chooses a namespace of a project; it cannot be combined with --clear")
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return useRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Clear, "clear", false, "Forget the current project")
	cmd.ValidArgsFunction = completion.Projects(f)
	return cmd
}

func useRun(ctx context.Context, opts *UseOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Clear {
		if err := opts.Write("", ""); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, "No current project; commands use the kubeconfig's namespace.")
		return nil
	}
	pol, err := opts.Policy()
	if err != nil {
		return err
	}
	pr, ok := pol.ProjectByName(opts.Name)
	if !ok {
		return errs.WithHint(errs.NotFoundErrorf("project %q is not in the policy", opts.Name),
			"Run `kgate projects` to list yours.")
	}
	id, err := opts.Identity()
	if err != nil {
		return err
	}
	ns := opts.Namespace
	var others []string
	if ns != "" {
		if !pr.Matches(ns) {
			return errs.UsageErrorf("namespace %q is not one of project %q's (%s)", ns, pr.Name, strings.Join(pr.Namespaces, ", "))
		}
	} else if ns = pr.DefaultNamespace(); ns == "" {
		nss, err := opts.Namespaces(ctx, pr)
		if err != nil {
			return err
		}
		for _, n := range nss {
			if ns == "" && pol.Visible(id, n) {
				ns = n
			} else {
				others = append(others, n)
			}
		}
		if ns == "" && len(nss) > 0 {
			ns, others = nss[0], nss[1:]
		}
		if ns == "" {
			return enforce.NoNamespaceInProject(pol, id, pr)
		}
	}
	recorded := ns
	if ns == pr.DefaultNamespace() {
		recorded = "" // follows the policy if the project's first namespace changes
	}
	if err := opts.Write(pr.Name, recorded); err != nil {
		return err
	}
	role := "you hold no role there"
	if r := pol.RoleIn(id, ns); r > policy.RoleNone {
		role = "your role there: " + r.String()
	}
	fmt.Fprintf(opts.IO.Out, "Switched to project %q (namespace %q); %s.\n", pr.Name, ns, role)
	if len(others) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Its other namespaces: %s; choose one with `kgate project use %s -n NAMESPACE`.\n",
			strings.Join(others, ", "), pr.Name)
	}
	return nil
}
