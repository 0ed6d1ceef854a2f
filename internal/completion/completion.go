// Package completion is kgate's live shell completion: kinds, object names,
// containers, namespaces, projects, clusters and contexts, each offered only
// where the policy lets the user act. Every command wires its own arguments
// and flags in its NewCmdX, as kubectl's commands do:
//
//	completion.Objects(cmd, f, policy.VerbDelete, completion.Deletable)
//	_ = cmd.RegisterFlagCompletionFunc("container", completion.Containers(f))
//	completion.NoFiles(cmd, "selector")
//
// and Root, called once at the end of NewRootCmd, wires the global flags
// (-n, -p, --cluster, --context, -o, ...) and the defaults.
//
// A completion request reads the cached session and policy, never LDAP, asks
// the API server within a time limit, and prints nothing but candidates.
// Its policy checks are Policy.Decide's, not enforce.Access's: they decide
// only what is offered, and are not written to the audit log.
package completion

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// argSpec says how a command's arguments complete.
type argSpec struct {
	// verb is what the policy is asked; sub the subresource (exec, logs).
	verb, sub string
	// kinds says which kinds the command takes; nil means every kind.
	kinds func(kube.Resource) bool
	// podFirst: the argument is one pod, or TYPE/NAME (exec, logs).
	podFirst bool
}

// specs holds what each command said of its arguments (Objects, Pod), by
// command: -n, registered once at the root, offers the namespaces where the
// command being completed is allowed, and -c the containers.
var specs sync.Map // *cobra.Command → argSpec

// specOf is what cmd said of its arguments; a command that said nothing is
// asked about as a get.
func specOf(cmd *cobra.Command) argSpec {
	if s, ok := specs.Load(cmd); ok {
		return s.(argSpec)
	}
	return argSpec{verb: policy.VerbGet}
}

// Kinds a command may take, for Objects and Pod.
var (
	Deletable = func(r kube.Resource) bool { return r.Deletable }
	Scalable  = func(r kube.Resource) bool { return r.Scalable }
	HasPods   = func(r kube.Resource) bool { return r.HasPods }
)

// Only accepts the built-in kinds of these plural names.
func Only(plurals ...string) func(kube.Resource) bool {
	return func(r kube.Resource) bool {
		return (r.GVR.Group == "" || r.GVR.Group == "apps") && slices.Contains(plurals, r.GVR.Resource)
	}
}

// Objects completes the arguments of a command that names objects as
// TYPE[,TYPE] [NAME...] or TYPE/NAME... (get, describe, delete, ...): the
// kinds it takes (kinds; nil: every kind), then the names of the current
// namespace the policy lets verb touch.
func Objects(cmd *cobra.Command, f *cmdutil.Factory, verb string, kinds func(kube.Resource) bool) {
	spec := argSpec{verb: verb, kinds: kinds}
	specs.Store(cmd, spec)
	cmd.ValidArgsFunction = run(f, func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		return c.args(ctx, spec, cmd, args, toComplete)
	})
}

// Pod completes the one argument of a command that acts on a pod, named as
// POD or TYPE/NAME of a kind it takes (exec, logs, ...): the pods, or the
// names of TYPE, the policy lets verb touch; with sub, verb on the pods'
// subresource sub, whatever TYPE/NAME resolves through.
func Pod(cmd *cobra.Command, f *cmdutil.Factory, verb, sub string, kinds func(kube.Resource) bool) {
	spec := argSpec{verb: verb, sub: sub, kinds: kinds, podFirst: true}
	specs.Store(cmd, spec)
	cmd.ValidArgsFunction = run(f, func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		return c.args(ctx, spec, cmd, args, toComplete)
	})
}

// Containers completes -c/--container with the containers of the pod (or
// TYPE/NAME) already on the line, where the policy lets the command (as
// Pod wired it) touch it.
func Containers(f *cmdutil.Factory) cobra.CompletionFunc {
	return run(f, func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		return c.containers(ctx, specOf(cmd), args, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// Projects completes one project name (`kgate project use NAME`): the
// projects the user holds a role in.
func Projects(f *cmdutil.Factory) cobra.CompletionFunc {
	return run(f, func(ctx context.Context, c *completer, _ *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.projects(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// CanI completes `kgate can-i VERB RESOURCE`: verbs, then kinds.
func CanI(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return canI(newCompleter(cmd, f), args, toComplete)
	}
}

// Fixed completes a flag with these values and no file.
func Fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// Root wires what belongs to the whole command tree, once, after every
// command is added: the global flags (-n, -p, --context, --cluster, -o and
// those whose values are no file), a completion request that loads no
// configuration, and no file completion where a command said nothing: its
// arguments unless its Use names a FILE, and flags of numbers and
// durations.
func Root(root *cobra.Command, f *cmdutil.Factory) {
	// `kgate completion` is kgate's own, with help a man page can use.
	root.CompletionOptions.DisableDefaultCmd = true

	// The completion request itself needs no configuration: a broken config
	// file must not print errors into the shell. Completion functions load
	// it themselves, and give up quietly.
	if pre := root.PersistentPreRunE; pre != nil {
		root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
			if cmd.Name() == cobra.ShellCompRequestCmd {
				return nil
			}
			return pre(cmd, args)
		}
	}

	flagFuncs := map[string]cobra.CompletionFunc{
		"namespace": run(f, func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.namespaces(ctx, specOf(cmd), args, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"project": run(f, func(ctx context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.projects(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"context": run(f, func(_ context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.contexts(toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"cluster": run(f, func(ctx context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.clusters(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"output": Fixed("wide", "json", "yaml", "name", "jsonpath=", "go-template="),
		// A URL, a duration, a number: no file.
		"server":          cobra.NoFileCompletions,
		"request-timeout": cobra.NoFileCompletions,
		"v":               cobra.NoFileCompletions,
	}
	for name, fn := range flagFuncs {
		if root.PersistentFlags().Lookup(name) != nil {
			_ = root.RegisterFlagCompletionFunc(name, fn)
		}
	}
	defaults(root)
}

// NoFiles completes no file for these flags of cmd, whose values never
// are one (a selector, a time, a URL).
func NoFiles(cmd *cobra.Command, flags ...string) {
	for _, name := range flags {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
}

// defaults gives cmd and its subcommands no file completion where they
// said nothing of their own.
func defaults(cmd *cobra.Command) {
	// Values no file could be.
	types := map[string]bool{"int": true, "int64": true, "int32": true, "uint": true, "duration": true, "float64": true}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.ValidArgsFunction == nil && len(cmd.ValidArgs) == 0 && !acceptsFiles(cmd) {
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
		cmd.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
			if _, ok := cmd.GetFlagCompletionFunc(fl.Name); ok {
				return
			}
			if types[fl.Value.Type()] {
				_ = cmd.RegisterFlagCompletionFunc(fl.Name, cobra.NoFileCompletions)
			}
		})
		for _, s := range cmd.Commands() {
			walk(s)
		}
	}
	walk(cmd)
}

// acceptsFiles reports whether a command's arguments are local files.
func acceptsFiles(cmd *cobra.Command) bool {
	return strings.Contains(cmd.Use, "FILE")
}

// run turns fn into a completion function: one completer per request,
// built after cobra has parsed the flags on the line, and a time limit on
// everything the request does.
func run(f *cmdutil.Factory, fn func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		cands, dir := fn(ctx, newCompleter(cmd, f), cmd, args, toComplete)
		return render(cands), dir
	}
}

// canI completes `kgate can-i VERB RESOURCE`: verbs, then kinds.
func canI(c *completer, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []candidate
	switch len(args) {
	case 0:
		for _, v := range []string{policy.VerbGet, policy.VerbList, policy.VerbWatch, policy.VerbDescribe,
			policy.VerbLogs, policy.VerbExec, policy.VerbScale, policy.VerbDelete} {
			out = append(out, candidate{Name: v})
		}
		out = filterPrefix(out, toComplete)
	case 1:
		out = c.kinds(nil, "", toComplete, "")
	}
	return render(out), cobra.ShellCompDirectiveNoFileComp
}
