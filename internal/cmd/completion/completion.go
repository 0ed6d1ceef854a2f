// Package completion implements `kgate completion`.
package completion

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// Shells are the shells kgate writes completion scripts for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// Options are what `kgate completion` needs.
type Options struct {
	IO *iostreams.IOStreams
	// Root is the command tree the script completes.
	Root           func() *cobra.Command
	Shell          string
	NoDescriptions bool
}

// NewCmdCompletion returns `kgate completion`; runF replaces the run step in tests.
func NewCmdCompletion(io *iostreams.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "completion (bash | zsh | fish | powershell)",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `Print a script that teaches your shell to complete kgate's commands, flags and
arguments. Completion asks kgate itself, so it offers what is live in the
cluster: kinds, then names of pods and other objects, containers for -c,
namespaces for -n, projects for -p, contexts for --context.

It offers only what you may touch: pod names for exec only where you are an
admin, for logs where you are a guest or an admin, and only your namespaces
for -n. It reads your cached session and policy and never contacts LDAP; with
no session, or an expired one, it offers nothing and prints nothing. Requests
to the API server are small and time out after two seconds, so a slow cluster
never hangs your shell.

Release archives contain the scripts in completions/; this command prints the
same scripts for the kgate you run.

bash needs the bash-completion package (most distributions install it with
bash; on macOS, brew install bash-completion@2). To load completion in every
new shell, add to ~/.bashrc:

    source <(kgate completion bash)

zsh: add to ~/.zshrc (compinit must run first, as most setups do):

    source <(kgate completion zsh)

or put the script in a directory of your $fpath as _kgate.

fish:

    kgate completion fish > ~/.config/fish/completions/kgate.fish

PowerShell: add to your profile:

    kgate completion powershell | Out-String | Invoke-Expression`,
		Example: `  # try it in the current bash or zsh
  source <(kgate completion bash)
  source <(kgate completion zsh)

  # install for every new zsh, without descriptions
  kgate completion zsh --no-descriptions > "${fpath[1]}/_kgate"`,
		ValidArgs:             Shells,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.UsageErrorf("completion needs one shell: bash, zsh, fish or powershell")
			}
			opts.Shell = args[0]
			opts.Root = cmd.Root
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NoDescriptions, "no-descriptions", false, "Leave out the descriptions shown next to candidates (zsh, fish, PowerShell)")
	return cmd
}

func completionRun(opts *Options) error {
	return Write(opts.Root(), opts.IO.Out, opts.Shell, !opts.NoDescriptions)
}

// Write writes root's completion script for shell to w.
func Write(root *cobra.Command, w io.Writer, shell string, descriptions bool) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, descriptions)
	case "zsh":
		if descriptions {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	case "fish":
		return root.GenFishCompletion(w, descriptions)
	case "powershell":
		if descriptions {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	}
	return errs.UsageErrorf("unsupported shell %q: use bash, zsh, fish or powershell", shell)
}
