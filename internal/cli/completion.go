package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/cmd/completion"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// completionTimeout bounds everything one completion request does: reading
// the policy (when its cached copy is past its TTL) and the API requests.
// Completion never hangs a shell.
const completionTimeout = 2 * time.Second

// completionPageSize and completionMaxNames keep a name listing small: one
// request for a namespace of up to 1,000 objects, at most five.
const (
	completionPageSize = 1000
	completionMaxNames = 5000
)

// candidate is one completion: a value and what the shell shows next to it.
type candidate struct {
	Name, Desc string
}

// completionCluster is what completion asks the API server; tests fake it.
type completionCluster interface {
	// Names lists the names of r in namespace ns (all when empty), with a
	// short description, at most max of them.
	Names(ctx context.Context, r kube.Resource, ns string, max int) ([]candidate, error)
	// Namespaces lists the names of the cluster's namespaces.
	Namespaces(ctx context.Context) ([]string, error)
	// Containers lists the containers of an object (a pod, or the pod
	// template of a workload).
	Containers(ctx context.Context, r kube.Resource, ns, name string) ([]candidate, error)
}

// completer answers completion requests from the cached session and
// policy: no LDAP, no prompt, nothing printed, and only what the policy lets
// the user touch. Every field is a seam for tests.
type completer struct {
	// Identity is the session's identity; an error (no session, an expired
	// one) means nothing is offered.
	Identity func() (policy.Identity, error)
	// Policy is the policy in effect; an error means nothing is offered.
	Policy func(ctx context.Context) (*policy.Policy, error)
	// Namespace is where names are listed: -n, -p, `project use`, the kubeconfig.
	Namespace func() (string, error)
	// Project is -p/--project as given on the line, in the environment or
	// the config file; "" when none is.
	Project string
	Cluster completionCluster
	// Kinds knows the kinds without asking the cluster: the built-in ones
	// and the discovery cache's (nil: the built-in ones).
	Kinds *kube.Kinds
	// Contexts lists the kubeconfig's contexts (honouring --kubeconfig).
	Contexts func() ([]candidate, error)
	// Clusters lists the policy's clusters (none for a version-1 policy).
	Clusters func(ctx context.Context) ([]policy.Cluster, error)
}

// clusters completes --cluster: the policy's clusters, in its order, with
// how each is reached.
func (c *completer) clusters(ctx context.Context, toComplete string) []candidate {
	if c.Clusters == nil {
		return nil
	}
	cs, err := c.Clusters(ctx)
	if err != nil {
		debug("clusters: %v", err)
		return nil
	}
	var out []candidate
	for _, cl := range cs {
		if strings.HasPrefix(cl.Name, toComplete) {
			out = append(out, candidate{Name: cl.Name, Desc: cl.Reached()})
		}
	}
	return out
}

// argSpec says how a command's arguments complete.
type argSpec struct {
	// verb is what the policy is asked; sub the subresource (exec, logs).
	verb, sub string
	// kinds says which kinds the command takes; nil means every kind.
	kinds func(kube.Resource) bool
	// podFirst: the first argument is a pod, or TYPE/NAME (exec, logs).
	podFirst bool
	// single: only one object may be named (exec, logs).
	single bool
}

// argSpecs are the commands whose arguments name objects.
var argSpecs = map[string]argSpec{
	"get":      {verb: policy.VerbList},
	"describe": {verb: policy.VerbDescribe},
	"delete":   {verb: policy.VerbDelete, kinds: func(r kube.Resource) bool { return r.Deletable }},
	"scale":    {verb: policy.VerbScale, kinds: func(r kube.Resource) bool { return r.Scalable }},
	"logs": {verb: policy.VerbLogs, sub: "log", podFirst: true, single: true,
		kinds: func(r kube.Resource) bool { return r.HasPods }},
	"exec": {verb: policy.VerbExec, sub: "exec", podFirst: true, single: true,
		kinds: hasPods},
	"attach":          {verb: policy.VerbExec, sub: "attach", podFirst: true, single: true, kinds: hasPods},
	"port-forward":    {verb: policy.VerbExec, sub: "portforward", podFirst: true, single: true, kinds: hasPods},
	"debug":           {verb: "debug", sub: "ephemeralcontainers", podFirst: true, single: true, kinds: only("pods")},
	"top pods":        {verb: policy.VerbList, podFirst: true, single: true, kinds: only("pods")},
	"label":           {verb: "label"},
	"annotate":        {verb: "annotate"},
	"rollout status":  {verb: policy.VerbGet, kinds: rolloutKinds},
	"rollout history": {verb: policy.VerbGet, kinds: rolloutKinds},
	"rollout restart": {verb: "restart", kinds: rolloutKinds},
	"rollout undo":    {verb: "undo", kinds: rolloutKinds},
	"rollout pause":   {verb: "pause", kinds: only("deployments")},
	"rollout resume":  {verb: "resume", kinds: only("deployments")},
}

var rolloutKinds = only("deployments", "statefulsets", "daemonsets")

func hasPods(r kube.Resource) bool { return r.HasPods }

// only accepts the built-in kinds of these plural names.
func only(plurals ...string) func(kube.Resource) bool {
	return func(r kube.Resource) bool {
		return (r.GVR.Group == "" || r.GVR.Group == "apps") && slices.Contains(plurals, r.GVR.Resource)
	}
}

// specKey names a command in argSpecs: "exec", or "rollout status" for a
// subcommand.
func specKey(cmd *cobra.Command) string {
	if p := cmd.Parent(); p != nil && p.HasParent() {
		return p.Name() + " " + cmd.Name()
	}
	return cmd.Name()
}

// registerCompletions gives the command tree its live completion: object
// names, kinds, containers, namespaces, projects, contexts. It is called
// once, at the end of NewRootCmd.
func registerCompletions(root *cobra.Command, f *cmdutil.Factory) {
	c := completion.NewCmdCompletion(f.IOStreams, nil)
	c.GroupID = "other"
	root.AddCommand(c)
	pre := root.PersistentPreRunE
	registerCompletionsWith(root, func(cmd *cobra.Command) *completer { return newCompleter(cmd, f, pre) })
}

// registerCompletionsWith registers completion functions that get their
// completer from newC, called once per completion request, after cobra has
// parsed the flags on the line.
func registerCompletionsWith(root *cobra.Command, newC func(cmd *cobra.Command) *completer) {
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

	run := func(fn func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective)) cobra.CompletionFunc {
		return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithTimeout(ctx, completionTimeout)
			defer cancel()
			cands, dir := fn(ctx, newC(cmd), cmd, args, toComplete)
			return render(cands), dir
		}
	}

	flagFuncs := map[string]cobra.CompletionFunc{
		"namespace": run(func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.namespaces(ctx, specOf(cmd), args, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"project": run(func(ctx context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.projects(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"context": run(func(_ context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.contexts(toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"cluster": run(func(ctx context.Context, c *completer, _ *cobra.Command, _ []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
			return c.clusters(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
		}),
		"output": fixed("wide", "json", "yaml", "name", "jsonpath=", "go-template="),
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

	container := run(func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		return c.containers(ctx, specOf(cmd), args, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	names := run(func(ctx context.Context, c *completer, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		return c.args(ctx, specOf(cmd), cmd, args, toComplete)
	})
	projects := run(func(ctx context.Context, c *completer, _ *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.projects(ctx, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	// Values no file could be.
	noFiles := map[string]bool{"int": true, "int64": true, "int32": true, "uint": true, "duration": true, "float64": true}
	noFileNames := map[string]bool{"selector": true, "field-selector": true, "since-time": true, "username": true, "ldap-url": true}
	static := map[string]cobra.CompletionFunc{
		"transport": fixed("auto", "websocket", "spdy"),
		"color":     fixed("auto", "always", "never"),
		"dry-run":   fixed("none", "client", "server"),
		"cascade":   fixed("background", "foreground", "orphan"),
	}

	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		switch {
		case argSpecs[specKey(cmd)].verb != "" && (cmd.Parent() == root || cmd.Parent().Parent() == root):
			cmd.ValidArgsFunction = names
		case cmd.Name() == "use" && cmd.Parent() != nil && cmd.Parent().Name() == "project":
			cmd.ValidArgsFunction = projects
		case cmd.Name() == "can-i" && cmd.Parent() == root:
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return canI(newC(cmd), args, toComplete)
			}
		case cmd.ValidArgsFunction == nil && len(cmd.ValidArgs) == 0 && !acceptsFiles(cmd):
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
		cmd.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
			if _, ok := cmd.GetFlagCompletionFunc(fl.Name); ok {
				return
			}
			switch {
			case fl.Name == "container" && argSpecs[specKey(cmd)].podFirst:
				_ = cmd.RegisterFlagCompletionFunc(fl.Name, container)
			case static[fl.Name] != nil:
				_ = cmd.RegisterFlagCompletionFunc(fl.Name, static[fl.Name])
			case noFiles[fl.Value.Type()] || noFileNames[fl.Name]:
				_ = cmd.RegisterFlagCompletionFunc(fl.Name, cobra.NoFileCompletions)
			}
		})
		for _, s := range cmd.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// acceptsFiles reports whether a command's arguments are local files.
func acceptsFiles(cmd *cobra.Command) bool {
	return strings.Contains(cmd.Use, "FILE")
}

func fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
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

// debug writes to $BASH_COMP_DEBUG_FILE when it is set, never to the shell.
func debug(format string, a ...any) {
	cobra.CompDebugln("kgate: "+fmt.Sprintf(format, a...), false)
}

func specOf(cmd *cobra.Command) argSpec {
	if s, ok := argSpecs[specKey(cmd)]; ok {
		return s
	}
	return argSpec{verb: policy.VerbGet}
}

func render(cands []candidate) []cobra.Completion {
	out := make([]cobra.Completion, 0, len(cands))
	for _, c := range cands {
		out = append(out, cobra.CompletionWithDesc(c.Name, c.Desc))
	}
	return out
}

func filterPrefix(cands []candidate, prefix string) []candidate {
	if prefix == "" {
		return cands
	}
	out := cands[:0]
	for _, c := range cands {
		if strings.HasPrefix(c.Name, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// kinds offers the kinds allowed (every kind when nil) whose plural name
// starts with toComplete, each prefixed with before and followed by after
// ("/"): the built-in kinds and those of the discovery cache, with no
// request. A plural served by several groups is offered as NAME.GROUP for
// the others.
func (c *completer) kinds(allowed func(kube.Resource) bool, before, toComplete, after string) []candidate {
	var out []candidate
	seen := map[string]bool{}
	for _, r := range c.Kinds.Known() {
		if allowed != nil && !allowed(r) {
			continue
		}
		name := r.GVR.Resource
		if seen[name] {
			name += "." + r.GVR.Group
		}
		seen[r.GVR.Resource] = true
		if !strings.HasPrefix(name, toComplete) {
			continue
		}
		desc := r.Kind
		if len(r.ShortNames) > 0 {
			desc += " (" + strings.Join(r.ShortNames, ", ") + ")"
		}
		out = append(out, candidate{Name: before + name + after, Desc: desc})
	}
	slices.SortFunc(out, func(a, b candidate) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// args completes the arguments of get, describe, delete, scale, logs and exec.
func (c *completer) args(ctx context.Context, spec argSpec, cmd *cobra.Command, args []string, toComplete string) ([]candidate, cobra.ShellCompDirective) {
	const noFiles = cobra.ShellCompDirectiveNoFileComp
	// After --: the remote command's words, nothing of ours. (Cobra parses
	// the line once with a -- of its own appended, so without a real one
	// ArgsLenAtDash is len(args).)
	if dash := cmd.ArgsLenAtDash(); dash >= 0 && dash < len(args) {
		return nil, noFiles
	}
	if fl := cmd.Flags().Lookup("all-namespaces"); fl != nil && fl.Changed {
		return nil, noFiles
	}
	if spec.podFirst {
		if len(args) > 0 {
			return nil, noFiles
		}
		if fl := cmd.Flags().Lookup("selector"); fl != nil && fl.Changed {
			return nil, noFiles
		}
		if kind, prefix, ok := strings.Cut(toComplete, "/"); ok {
			return c.typeName(ctx, spec, kind, prefix, nil), noFiles
		}
		pods, _ := kube.Lookup("pods")
		return c.names(ctx, spec, pods, toComplete, "", nil), noFiles
	}

	// get, describe, delete, scale: TYPE[,TYPE] [NAME...] or TYPE/NAME...
	if len(args) == 0 || strings.Contains(args[0], "/") {
		if kind, prefix, ok := strings.Cut(toComplete, "/"); ok {
			return c.typeName(ctx, spec, kind, prefix, args), noFiles
		}
		if len(args) > 0 {
			// More TYPE/NAME pairs: the kind first, then its names.
			return c.kinds(spec.kinds, "", toComplete, "/"), noFiles | cobra.ShellCompDirectiveNoSpace
		}
		before, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			before, last = toComplete[:i+1], toComplete[i+1:]
		}
		return c.kinds(spec.kinds, before, last, ""), noFiles
	}
	if strings.Contains(args[0], ",") {
		return nil, noFiles
	}
	r, err := c.Kinds.Lookup(args[0])
	if err != nil {
		return nil, noFiles
	}
	return c.names(ctx, spec, r, toComplete, "", args[1:]), noFiles
}

// typeName completes "KIND/prefix" with the names of KIND, as typed.
func (c *completer) typeName(ctx context.Context, spec argSpec, kind, prefix string, typed []string) []candidate {
	r, err := c.Kinds.Lookup(kind)
	if err != nil || (spec.kinds != nil && !spec.kinds(r)) {
		return nil
	}
	var skip []string
	for _, a := range typed {
		if k, n, ok := strings.Cut(a, "/"); ok {
			if kr, err := c.Kinds.Lookup(k); err == nil && kr.GVR == r.GVR {
				skip = append(skip, n)
			}
		}
	}
	return c.names(ctx, spec, r, prefix, kind+"/", skip)
}

// session returns the identity and the policy, or false when there is no
// usable session or policy.
func (c *completer) session(ctx context.Context) (policy.Identity, *policy.Policy, bool) {
	id, err := c.Identity()
	if err != nil {
		debug("no session: %v", err)
		return policy.Identity{}, nil, false
	}
	pol, err := c.Policy(ctx)
	if err != nil || pol == nil {
		debug("no policy: %v", err)
		return policy.Identity{}, nil, false
	}
	return id, pol, true
}

// request is what the policy is asked before names of r in ns are offered.
func (spec argSpec) request(r kube.Resource, ns string) policy.Request {
	if spec.sub != "" {
		// exec and logs act on pods, whatever TYPE/NAME resolves through.
		return policy.Request{Verb: spec.verb, Resource: "pods", Subresource: spec.sub, Namespace: ns}
	}
	return policy.Request{Verb: spec.verb, Resource: r.GVR.Resource, Group: r.GVR.Group, Namespace: ns}
}

// names offers the names of r in the current namespace that start with
// prefix, each prefixed with before, leaving out skip; nothing unless the
// policy allows the command there.
func (c *completer) names(ctx context.Context, spec argSpec, r kube.Resource, prefix, before string, skip []string) []candidate {
	id, pol, ok := c.session(ctx)
	if !ok {
		return nil
	}
	if !r.Namespaced {
		if r.GVR.Resource != "namespaces" {
			return nil
		}
		var out []candidate
		for _, ns := range c.myNamespaces(ctx, id, pol) {
			req := policy.Request{Verb: spec.verb, Resource: "namespaces", Name: ns}
			if strings.HasPrefix(ns, prefix) && !slices.Contains(skip, ns) && pol.Decide(id, req).Allowed {
				out = append(out, candidate{Name: before + ns})
			}
		}
		return out
	}
	ns, err := c.Namespace()
	if err != nil {
		debug("namespace: %v", err)
		return nil
	}
	if d := pol.Decide(id, spec.request(r, ns)); !d.Allowed {
		debug("%s", d.Reason)
		return nil
	}
	list, err := c.Cluster.Names(ctx, r, ns, completionMaxNames)
	if err != nil {
		debug("listing %s in %s: %v", r.GVR.Resource, ns, err)
		return nil
	}
	out := make([]candidate, 0, len(list))
	for _, n := range list {
		if strings.HasPrefix(n.Name, prefix) && !slices.Contains(skip, n.Name) {
			out = append(out, candidate{Name: before + n.Name, Desc: n.Desc})
		}
	}
	return out
}

// myNamespaces are the namespaces id holds a role in (all of the cluster's
// for a super admin). When the cluster cannot be asked, the exact names of
// id's projects alone.
func (c *completer) myNamespaces(ctx context.Context, id policy.Identity, pol *policy.Policy) []string {
	var cluster []string
	if pol.NeedsClusterNamespaces(id) {
		if all, err := c.Cluster.Namespaces(ctx); err == nil {
			cluster = all
		}
	}
	return pol.NamespacesOf(id, cluster)
}

// namespaces completes -n: the user's namespaces where the command is
// allowed (exec, scale, delete: admin; the others: guest), within -p's
// project when one is given.
func (c *completer) namespaces(ctx context.Context, spec argSpec, args []string, toComplete string) []candidate {
	id, pol, ok := c.session(ctx)
	if !ok {
		return nil
	}
	var project *policy.Project
	if c.Project != "" {
		if project, ok = pol.ProjectByName(c.Project); !ok {
			return nil
		}
	}
	r, _ := kube.Lookup("pods")
	if !spec.podFirst && len(args) > 0 {
		kind, _, _ := strings.Cut(args[0], "/")
		kind, _, _ = strings.Cut(kind, ",")
		if k, err := c.Kinds.Lookup(kind); err == nil && k.Namespaced {
			r = k
		}
	}
	var out []candidate
	for _, ns := range c.myNamespaces(ctx, id, pol) {
		if !strings.HasPrefix(ns, toComplete) || (project != nil && !project.Matches(ns)) {
			continue
		}
		d := pol.Decide(id, spec.request(r, ns))
		if !d.Allowed {
			continue
		}
		desc := d.Held.String()
		if d.Project != "" {
			desc = d.Project + ", " + desc
		}
		out = append(out, candidate{Name: ns, Desc: desc})
	}
	return out
}

// projects completes -p and `project use`: the projects the user holds a role in.
func (c *completer) projects(ctx context.Context, toComplete string) []candidate {
	id, pol, ok := c.session(ctx)
	if !ok {
		return nil
	}
	var out []candidate
	for _, m := range pol.ProjectsOf(id) {
		if strings.HasPrefix(m.Project, toComplete) {
			out = append(out, candidate{Name: m.Project, Desc: m.Role.String() + ": " + strings.Join(m.Namespaces, ", ")})
		}
	}
	return out
}

// contexts completes --context from the kubeconfig. They are the user's own
// file's, so no session is needed.
func (c *completer) contexts(toComplete string) []candidate {
	if c.Contexts == nil {
		return nil
	}
	all, err := c.Contexts()
	if err != nil {
		return nil
	}
	return filterPrefix(all, toComplete)
}

// containers completes -c from the pod (or TYPE/NAME) already on the line.
func (c *completer) containers(ctx context.Context, spec argSpec, args []string, toComplete string) []candidate {
	if len(args) == 0 {
		return nil
	}
	kind, name, ok := strings.Cut(args[0], "/")
	if !ok {
		kind, name = "pods", args[0]
	}
	r, err := kube.Lookup(kind)
	if err != nil || !r.Namespaced || name == "" {
		return nil
	}
	id, pol, ok := c.session(ctx)
	if !ok {
		return nil
	}
	ns, err := c.Namespace()
	if err != nil || !pol.Decide(id, spec.request(r, ns)).Allowed {
		return nil
	}
	list, err := c.Cluster.Containers(ctx, r, ns, name)
	if err != nil {
		return nil
	}
	return filterPrefix(list, toComplete)
}

// newCompleter builds the completer of one completion request from the
// Factory, with the flags cobra has parsed from the line. pre is the root
// command's PersistentPreRunE, which cobra does not run for completion
// requests: it loads the config (flags, environment, file) as every command
// sees it.
func newCompleter(cmd *cobra.Command, f *cmdutil.Factory, pre func(*cobra.Command, []string) error) *completer {
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
		raw, err := f.KubeFlags.ToRawKubeConfigLoader().RawConfig()
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

// apiCluster asks the API server as little as it can: names as server-side
// Tables without objects, one small page at a time.
type apiCluster struct {
	client func() (*kube.Client, error)
}

// namesAccept asks for a Table; includeObject=None leaves the objects out,
// so a row is little more than its cells.
const namesAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// Names implements completionCluster.
func (a *apiCluster) Names(ctx context.Context, r kube.Resource, ns string, max int) ([]candidate, error) {
	client, err := a.client()
	if err != nil {
		return nil, err
	}
	var out []candidate
	cont := ""
	for {
		req := client.REST().Get().AbsPath(r.Path(ns, "")).SetHeader("Accept", namesAccept).
			Param("includeObject", "None").Param("limit", strconv.Itoa(completionPageSize))
		if cont != "" {
			req = req.Param("continue", cont)
		}
		body, err := req.Do(ctx).Raw()
		if err != nil {
			return nil, err
		}
		var t metav1.Table
		if err := json.Unmarshal(body, &t); err != nil {
			return nil, err
		}
		nameCol, statusCol := -1, -1
		for i, col := range t.ColumnDefinitions {
			switch col.Name {
			case "Name":
				nameCol = i
			case "Status":
				statusCol = i
			}
		}
		if nameCol < 0 {
			return nil, fmt.Errorf("%s: the server's table has no Name column", r.GVR.Resource)
		}
		for _, row := range t.Rows {
			if nameCol >= len(row.Cells) {
				continue
			}
			name, _ := row.Cells[nameCol].(string)
			if name == "" {
				continue
			}
			cand := candidate{Name: name}
			if statusCol >= 0 && statusCol < len(row.Cells) && r.GVR.Resource == "pods" {
				cand.Desc, _ = row.Cells[statusCol].(string)
			}
			out = append(out, cand)
		}
		cont = t.Continue
		if cont == "" || len(out) >= max {
			return out, nil
		}
	}
}

// Namespaces implements completionCluster.
func (a *apiCluster) Namespaces(ctx context.Context) ([]string, error) {
	r, err := kube.Lookup("namespaces")
	if err != nil {
		return nil, err
	}
	cands, err := a.Names(ctx, r, "", completionMaxNames)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.Name
	}
	return out, nil
}

// Containers implements completionCluster.
func (a *apiCluster) Containers(ctx context.Context, r kube.Resource, ns, name string) ([]candidate, error) {
	client, err := a.client()
	if err != nil {
		return nil, err
	}
	o, err := client.Get(ctx, r, ns, name)
	if err != nil {
		return nil, err
	}
	return containersOf(o), nil
}

// containersOf lists the containers of a pod, or of the pod template of a
// workload, init containers last.
func containersOf(o *unstructured.Unstructured) []candidate {
	spec := []string{"spec"}
	switch o.GetKind() {
	case "Pod":
	case "CronJob":
		spec = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		spec = []string{"spec", "template", "spec"}
	}
	var out []candidate
	for _, field := range []string{"containers", "initContainers"} {
		list, _, _ := unstructured.NestedSlice(o.Object, append(slices.Clone(spec), field)...)
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["name"].(string)
			image, _ := m["image"].(string)
			if name == "" {
				continue
			}
			desc := image
			if field == "initContainers" {
				desc = "init: " + image
			}
			out = append(out, candidate{Name: name, Desc: desc})
		}
	}
	return out
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
