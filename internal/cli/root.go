// Package cli is kgate's root command: it wires the Factory, registers the
// commands, and turns errors into text and exit codes.
package cli

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/kgate/kgate/internal/cmd/attach"
	"github.com/kgate/kgate/internal/cmd/cani"
	clusterscmd "github.com/kgate/kgate/internal/cmd/clusters"
	completioncmd "github.com/kgate/kgate/internal/cmd/completion"
	cpcmd "github.com/kgate/kgate/internal/cmd/cp"
	"github.com/kgate/kgate/internal/cmd/credential"
	debugcmd "github.com/kgate/kgate/internal/cmd/debug"
	deletecmd "github.com/kgate/kgate/internal/cmd/delete"
	"github.com/kgate/kgate/internal/cmd/describe"
	"github.com/kgate/kgate/internal/cmd/events"
	execcmd "github.com/kgate/kgate/internal/cmd/exec"
	"github.com/kgate/kgate/internal/cmd/get"
	"github.com/kgate/kgate/internal/cmd/label"
	"github.com/kgate/kgate/internal/cmd/lock"
	"github.com/kgate/kgate/internal/cmd/login"
	"github.com/kgate/kgate/internal/cmd/logout"
	"github.com/kgate/kgate/internal/cmd/logs"
	policycmd "github.com/kgate/kgate/internal/cmd/policy"
	"github.com/kgate/kgate/internal/cmd/portforward"
	projectcmd "github.com/kgate/kgate/internal/cmd/project"
	"github.com/kgate/kgate/internal/cmd/projects"
	"github.com/kgate/kgate/internal/cmd/rollout"
	"github.com/kgate/kgate/internal/cmd/scale"
	"github.com/kgate/kgate/internal/cmd/serve"
	"github.com/kgate/kgate/internal/cmd/top"
	"github.com/kgate/kgate/internal/cmd/version"
	"github.com/kgate/kgate/internal/cmd/whoami"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/factory"
	"github.com/kgate/kgate/internal/iostreams"
)

// Main runs kgate and returns its exit code.
func Main() int {
	streams := iostreams.System()
	if len(os.Args) > 1 && (os.Args[1] == cobra.ShellCompRequestCmd || os.Args[1] == cobra.ShellCompNoDescRequestCmd) {
		// A completion request prints nothing but its candidates: warnings
		// (a stale policy, ...) must not reach the shell.
		streams.ErrOut = io.Discard
	}
	ctx, stop, interrupted := signalContext()
	defer stop()
	f := factory.New(streams)
	root := NewRootCmd(f)
	err := execute(ctx, root, os.Args[1:])
	return handleError(streams.ErrOut, err, interrupted.Load())
}

// execute runs root with args. Every usage error comes back typed
// (errs.KindUsage): flags through the flag error func, arguments through
// cmdutil's validators, and cobra's one error of its own, an argument of
// the root command that names no command, here.
func execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	if err != nil {
		// Asking again tells cobra's own error from the commands' errors.
		if _, _, ferr := root.Find(args); ferr != nil && ferr.Error() == err.Error() {
			err = cmdutil.UnknownCommand(err)
		}
	}
	return err
}

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// exits at once.
func signalContext() (context.Context, func(), *atomic.Bool) {
	ctx, cancel := context.WithCancel(context.Background())
	var interrupted atomic.Bool
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range ch {
			interrupted.Store(true)
			if n++; n > 1 {
				os.Exit(ExitInterrupted)
			}
			cancel()
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }, &interrupted
}

// noOutputFormats are the commands that print text only: -o on them is a
// usage error, not silently ignored. (-o stays a global flag so that the
// config file and KGATE_OUTPUT can set it for the commands that have formats.)
var noOutputFormats = map[string]bool{
	"kgate describe": true, "kgate logs": true, "kgate exec": true, "kgate login": true, "kgate logout": true,
	"kgate can-i": true, "kgate project": true, "kgate project use": true, "kgate completion": true,
	"kgate serve": true, "kgate policy": true,
}

// NewRootCmd returns the kgate command with every subcommand.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "kgate <command> [flags]",
		Short: "Safe, simple access to Kubernetes for engineers and scripts",
		Long: `kgate gives you the parts of Kubernetes you need day to day - get, describe,
logs, exec, scale, delete, rollout, events, top, port-forward, attach, cp,
debug, label, annotate - in the projects you belong to, with the role you
hold there. It speaks kubectl's flags and output shapes where the idea is the
same, never prompts in a script, and exits with codes a script can branch on.

Exit codes:
  0    success
  1    any other error (e.g. a precondition that did not hold)
  2    usage: bad flags or arguments, an unknown kind, --yes missing
  3    not logged in, session expired, wrong credentials
  4    forbidden: by the policy, or a 403 from the API server
  5    not found (object, pod, container, project)
  6    unavailable: LDAP, API server or policy source unreachable
  130  interrupted (Ctrl-C)
  exec passes on the remote command's own exit code, as kubectl does.`,
		Example: `  # list the pods of your current namespace
  kgate get pods

  # describe a deployment in another namespace
  kgate describe deploy/web -n payments`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// The config reads the global flags cobra has just parsed.
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			if fl := cmd.Flags().Lookup("output"); fl != nil && fl.Changed && noOutputFormats[cmd.CommandPath()] {
				return errs.WithHint(errs.UsageErrorf("%s has no output formats; -o/--output does not apply", cmd.CommandPath()),
					"See '"+cmd.CommandPath()+" --help' for usage.")
			}
			setVerbosity(cfg.Verbosity)
			return nil
		},
	}
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errs.WithHint(errs.UsageErrorf("%s", err.Error()), "See '"+c.CommandPath()+" --help' for usage.")
	})

	root.PersistentFlags().AddFlagSet(f.Flags)

	root.AddGroup(&cobra.Group{ID: "basic", Title: "Working with workloads:"})
	root.AddGroup(&cobra.Group{ID: "identity", Title: "Identity:"})
	root.AddGroup(&cobra.Group{ID: "access", Title: "Projects and access:"})
	root.AddGroup(&cobra.Group{ID: "other", Title: "Other commands:"})
	for _, c := range []*cobra.Command{
		get.NewCmdGet(f, nil),
		describe.NewCmdDescribe(f, nil),
		logs.NewCmdLogs(f, nil),
		execcmd.NewCmdExec(f, nil),
		scale.NewCmdScale(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		rollout.NewCmdRollout(f, nil),
		portforward.NewCmdPortForward(f, nil),
		attach.NewCmdAttach(f, nil),
		cpcmd.NewCmdCp(f, nil),
		debugcmd.NewCmdDebug(f, nil),
		events.NewCmdEvents(f, nil),
		top.NewCmdTop(f, nil),
		label.NewCmdLabel(f, nil),
		label.NewCmdAnnotate(f, nil),
	} {
		c.GroupID = "basic"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		login.NewCmdLogin(f, nil),
		logout.NewCmdLogout(f, nil),
		whoami.NewCmdWhoami(f, nil),
		credential.NewCmdCredential(f, nil),
	} {
		c.GroupID = "identity"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		projects.NewCmdProjects(f, nil),
		clusterscmd.NewCmdClusters(f, nil),
		projectcmd.NewCmdProject(f),
		cani.NewCmdCanI(f, nil),
		policycmd.NewCmdPolicy(f),
		lock.NewCmdLock(f, nil),
		lock.NewCmdUnlock(f, nil),
	} {
		c.GroupID = "access"
		root.AddCommand(c)
	}
	v := version.NewCmdVersion(f, nil)
	v.GroupID = "other"
	root.AddCommand(v)
	sv := serve.NewCmdServe(f, nil)
	sv.GroupID = "other"
	root.AddCommand(sv)
	c := completioncmd.NewCmdCompletion(f.IOStreams, nil)
	c.GroupID = "other"
	root.AddCommand(c)
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	// Each command wires the completion of its own arguments and flags;
	// the global flags and the defaults are wired here, once, last.
	completion.Root(root, f)
	return root
}

func setVerbosity(v int) {
	if v <= 0 {
		return
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(v))
}
