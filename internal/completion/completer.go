package completion

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

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

// debug writes to $BASH_COMP_DEBUG_FILE when it is set, never to the shell.
func debug(format string, a ...any) {
	cobra.CompDebugln("kgate: "+fmt.Sprintf(format, a...), false)
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
