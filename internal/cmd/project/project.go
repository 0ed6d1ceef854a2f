// Package project implements `kgate project use`.
package project

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
)

// UseOptions are what `kgate project use` needs.
type UseOptions struct {
	IO       *iostreams.IOStreams
	Identity func() (policy.Identity, error)
	Policy   func() (*policy.Policy, error)
	// Write records the current project ("" forgets it).
	Write func(name string) error

	Name  string
	Clear bool
}

// NewCmdProject returns `kgate project` and its subcommands.
func NewCmdProject(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project <command>",
		Short: "Choose the project commands work in",
		Long: `Choose the project whose namespace commands use when -n is not given.
The namespace is, in order: -n, the first namespace (not a pattern) of
-p/--project, that of the project chosen with 'kgate project use', and the
kubeconfig's namespace.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdUse(f, nil))
	return cmd
}

// NewCmdUse returns `kgate project use`; runF replaces the run step in tests.
func NewCmdUse(f *cmdutil.Factory, runF func(*UseOptions) error) *cobra.Command {
	opts := &UseOptions{IO: f.IOStreams, Identity: func() (policy.Identity, error) { return f.Identity() }, Policy: f.PolicyOnly}
	opts.Write = func(name string) error {
		cfg, err := f.Config()
		if err != nil {
			return err
		}
		return cmdutil.WriteCurrentProject(cfg.Paths.ConfigDir, name)
	}
	cmd := &cobra.Command{
		Use:   "use (NAME | --clear)",
		Short: "Work in a project's namespace by default",
		Long: `Make NAME the current project: commands without -n or -p then work in its
first namespace that is not a pattern. --clear goes back to the kubeconfig's
namespace.`,
		Example: `  kgate project use payments
  kgate get pods            # in namespace payments

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
			if runF != nil {
				return runF(opts)
			}
			return useRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Clear, "clear", false, "Forget the current project")
	return cmd
}

func useRun(opts *UseOptions) error {
	if opts.Clear {
		if err := opts.Write(""); err != nil {
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
	ns := pr.DefaultNamespace()
	if ns == "" {
		return errs.UsageErrorf("project %q has only namespace patterns (%v); name the namespace with -n instead", pr.Name, pr.Namespaces)
	}
	id, err := opts.Identity()
	if err != nil {
		return err
	}
	if err := opts.Write(pr.Name); err != nil {
		return err
	}
	role := "you hold no role there"
	if r := pol.RoleIn(id, ns); r > policy.RoleNone {
		role = "your role there: " + r.String()
	}
	fmt.Fprintf(opts.IO.Out, "Switched to project %q (namespace %q); %s.\n", pr.Name, ns, role)
	return nil
}
