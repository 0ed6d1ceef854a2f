// Package enforce is kgate's one enforcement layer on the CLI side: every
// policy decision a command (or completion) makes goes through an Access,
// which asks the policy, writes the audit line, and hands back the context
// whose requests carry the decision's Audit-ID. It also turns a command's
// arguments into the objects to check (Targets, ChangeTargets) and says
// where a list may look (Scope).
package enforce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// AuthorizeFunc checks one request against the policy and logs the decision.
// Allowed, it returns a context whose API requests carry the decision's id as
// their Audit-ID header (a context that already has an id keeps it, so one
// command's decisions share one id). Denied, it returns an errs.KindForbidden
// error with the reason, and the caller must make no request.
type AuthorizeFunc func(ctx context.Context, req policy.Request, command ...string) (context.Context, error)

// Authorizer is the policy check of the CLI: identity, policy, decision,
// audit line.
type Authorizer struct {
	Identity func() (policy.Identity, error)
	Policy   func() (*policy.Policy, error)
	Audit    func() (audit.Logger, error)
	Now      func() time.Time
	// Unchosen, when set, turns a denial in a namespace the user never
	// chose (no -n, -p, `kgate project use` or kubeconfig namespace) into
	// an error that says how to choose one; see NoNamespaceChosen.
	Unchosen func(req policy.Request) error
}

// Authorize implements AuthorizeFunc.
func (a *Authorizer) Authorize(ctx context.Context, req policy.Request, command ...string) (context.Context, error) {
	id, err := a.Identity()
	if err != nil {
		return ctx, err
	}
	pol, err := a.Policy()
	if err != nil {
		return ctx, err
	}
	log, err := a.Audit()
	if err != nil {
		return ctx, err
	}
	d := pol.Decide(id, req)
	auditID, ok := audit.IDFrom(ctx)
	if !ok {
		auditID = audit.NewID()
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	e := audit.Entry{
		Time: now(), ID: auditID, User: id.User, Groups: id.Groups, Cluster: d.Cluster, Project: d.Project,
		Namespace: req.Namespace, Verb: req.Verb, Resource: req.Resource, Subresource: req.Subresource,
		Name: req.Name, Decision: audit.Deny, Reason: d.Reason, Command: command,
	}
	if d.Allowed {
		e.Decision = audit.Allow
	}
	if err := log.Log(e); err != nil {
		// Every decision is logged; an action that cannot be is not taken.
		return ctx, fmt.Errorf("writing the audit log: %w", err)
	}
	if !d.Allowed {
		if a.Unchosen != nil {
			if err := a.Unchosen(req); err != nil {
				return ctx, err
			}
		}
		return ctx, errs.ForbiddenErrorf("%s", d.Reason)
	}
	return audit.WithID(ctx, auditID), nil
}

// NoNamespaceChosen is the error for a request refused in namespace ns that
// the user never chose: it names the user's projects and how to pick one.
// With no project at all, it is a denial (exit 4); with several, a usage
// error (exit 2): the namespace is missing, not refused.
func NoNamespaceChosen(user, ns string, projects []string) error {
	if len(projects) == 0 {
		return errs.WithHint(errs.ForbiddenErrorf("no namespace given (the kubeconfig's is %q), and user %q holds no role in any project", ns, user),
			"Ask a project's admins for a role; `kgate projects` lists yours.")
	}
	q := make([]string, len(projects))
	for i, p := range projects {
		q[i] = fmt.Sprintf("%q", p)
	}
	return errs.WithHint(errs.UsageErrorf("no namespace given (the kubeconfig's is %q, where user %q holds no role); pick one of your projects: %s",
		ns, user, strings.Join(q, ", ")),
		"Run `kgate project use "+projects[0]+"` to work there by default, or name the namespace with -n NAMESPACE (or the project with -p PROJECT).")
}

// Access is the policy check as every command carries it: the one hook of
// their Options. Authorize asks about one request; List, Targets and
// ChangeTargets about what a command's arguments name.
type Access struct {
	// Check is the decision with its audit line (Authorizer.Authorize in
	// the CLI); nil refuses everything.
	Check    AuthorizeFunc
	Identity func() (policy.Identity, error)
	Policy   func() (*policy.Policy, error)
	// Namespaces lists the names of the cluster's namespaces; it is used to
	// expand the globs of the user's projects for --all-namespaces.
	Namespaces func(ctx context.Context) ([]string, error)
}

// Authorize asks the policy about req (see AuthorizeFunc); command is
// recorded in the audit log. A nil Access, or one without Check, refuses:
// a command that was not given the policy check makes no request.
func (a *Access) Authorize(ctx context.Context, req policy.Request, command ...string) (context.Context, error) {
	if a == nil || a.Check == nil {
		return ctx, errors.New("internal error: no policy check for this command")
	}
	return a.Check(ctx, req, command...)
}

// Scope is where a list may look once the policy has been asked.
type Scope struct {
	// Namespaces are listed in turn. A single "" means all namespaces (a
	// super admin) or a cluster-scoped kind; none means nothing to list.
	Namespaces []string
	// Keep filters namespace objects to those the user may see; nil keeps
	// everything.
	Keep func(name string) bool
}

// List asks whether the user may make req, a list (or watch) of a kind in
// req.Namespace, or in every namespace they may see when all is set, and
// returns the context for the requests and where to look. A request marked
// ClusterScoped has no namespace.
//
// In all namespaces, a super admin lists cluster-wide; anyone else lists
// namespace by namespace, only in the namespaces of their projects where
// the policy allows it (the others are logged as denied and skipped). Listing
// namespaces themselves is allowed to everyone and filtered with Keep.
func (a *Access) List(ctx context.Context, req policy.Request, all bool) (context.Context, Scope, error) {
	if req.ClusterScoped {
		req.Namespace = ""
		ctx, err := a.Authorize(ctx, req)
		if err != nil {
			return ctx, Scope{}, err
		}
		sc := Scope{Namespaces: []string{""}}
		if req.Resource == "namespaces" && req.Group == "" {
			keep, err := a.visible()
			if err != nil {
				return ctx, Scope{}, err
			}
			sc.Keep = keep
		}
		return ctx, sc, nil
	}
	ns := req.Namespace
	if !all {
		ctx, err := a.Authorize(ctx, req)
		return ctx, Scope{Namespaces: []string{ns}}, err
	}
	id, err := a.Identity()
	if err != nil {
		return ctx, Scope{}, err
	}
	pol, err := a.Policy()
	if err != nil {
		return ctx, Scope{}, err
	}
	if pol.IsSuperAdmin(id) {
		req.Namespace = ""
		ctx, err := a.Authorize(ctx, req)
		return ctx, Scope{Namespaces: []string{""}}, err
	}
	ctx, candidates, err := a.myNamespaces(ctx, pol, id)
	if err != nil {
		return ctx, Scope{}, err
	}
	var sc Scope
	var denied error
	for _, n := range candidates {
		req.Namespace = n
		c, err := a.Authorize(ctx, req)
		if err != nil {
			if denied == nil {
				denied = err
			}
			continue
		}
		ctx = c
		sc.Namespaces = append(sc.Namespaces, n)
	}
	if len(sc.Namespaces) == 0 && denied != nil {
		return ctx, Scope{}, denied
	}
	return ctx, sc, nil
}

// Targets asks the policy about every target of a command (kube.ParseArgs)
// before any request is made: one denial fails the whole command, and nothing
// reaches the cluster. Each named object is asked about with nameVerb, each
// list with listVerb. It returns the context for the requests (carrying the
// audit id) and, for each target, where to list.
func (a *Access) Targets(ctx context.Context, nameVerb, listVerb string, targets []kube.Target, ns string, all bool) (context.Context, []Scope, error) {
	scopes := make([]Scope, len(targets))
	for i, t := range targets {
		if len(t.Names) == 0 {
			c, sc, err := a.List(ctx, RequestFor(listVerb, t.Resource, ns, ""), all)
			if err != nil {
				return ctx, nil, err
			}
			ctx, scopes[i] = c, sc
			continue
		}
		for _, name := range t.Names {
			c, err := a.Authorize(ctx, RequestFor(nameVerb, t.Resource, ns, name))
			if err != nil {
				return ctx, nil, err
			}
			ctx = c
		}
	}
	return ctx, scopes, nil
}

// List lists r in every namespace of the scope and keeps the objects the
// scope allows.
func (sc Scope) List(ctx context.Context, client *kube.Client, r kube.Resource, lo kube.ListOptions) ([]unstructured.Unstructured, error) {
	var items []unstructured.Unstructured
	for _, ns := range sc.Namespaces {
		l, err := client.List(ctx, r, ns, lo)
		if err != nil {
			return nil, err
		}
		for _, o := range l.Items {
			if sc.Keep == nil || sc.Keep(o.GetName()) {
				items = append(items, o)
			}
		}
	}
	return items, nil
}

// Names lists only the names of r's objects within the scope, with
// metadata-only responses (for -o name).
func (sc Scope) Names(ctx context.Context, client *kube.Client, r kube.Resource, lo kube.ListOptions) ([]kube.RowMeta, error) {
	var out []kube.RowMeta
	for _, ns := range sc.Namespaces {
		l, err := client.Names(ctx, r, ns, lo)
		if err != nil {
			return nil, err
		}
		for _, m := range l {
			if sc.Keep == nil || sc.Keep(m.Name) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// myNamespaces returns the namespaces of the user's projects, sorted. The
// cluster's namespaces are listed (itself a decision) only when a project
// names a glob.
func (a *Access) myNamespaces(ctx context.Context, pol *policy.Policy, id policy.Identity) (context.Context, []string, error) {
	var cluster []string
	if pol.NeedsClusterNamespaces(id) {
		var err error
		if ctx, err = a.Authorize(ctx, policy.Request{Verb: policy.VerbList, Resource: "namespaces"}); err != nil {
			return ctx, nil, err
		}
		if cluster, err = a.Namespaces(ctx); err != nil {
			return ctx, nil, err
		}
	}
	return ctx, pol.NamespacesOf(id, cluster), nil
}

// ProjectNamespaces returns the namespaces of project pr (policy.Project.Expand):
// its exact names, then the cluster's namespaces its patterns match. The
// cluster's namespaces are listed (itself a decision) only when pr has a
// pattern.
func (a *Access) ProjectNamespaces(ctx context.Context, pr *policy.Project) (context.Context, []string, error) {
	if !pr.HasPattern() {
		return ctx, pr.Expand(nil), nil
	}
	ctx, err := a.Authorize(ctx, policy.Request{Verb: policy.VerbList, Resource: "namespaces"})
	if err != nil {
		return ctx, nil, err
	}
	cluster, err := a.Namespaces(ctx)
	if err != nil {
		return ctx, nil, err
	}
	return ctx, pr.Expand(cluster), nil
}

// PickNamespace is the namespace a project stands for when no namespace is
// named: the first of its namespaces (ProjectNamespaces) that id may see,
// else the first at all, so that a stranger's request is decided, and
// refused, like any other. A project whose patterns match no namespace of
// the cluster is an error (exit 5).
func (a *Access) PickNamespace(ctx context.Context, pr *policy.Project) (string, []string, error) {
	_, nss, err := a.ProjectNamespaces(ctx, pr)
	if err != nil {
		return "", nil, err
	}
	id, err := a.Identity()
	if err != nil {
		return "", nil, err
	}
	pol, err := a.Policy()
	if err != nil {
		return "", nil, err
	}
	if len(nss) == 0 {
		return "", nil, NoNamespaceInProject(pol, id, pr)
	}
	for _, ns := range nss {
		if pol.Visible(id, ns) {
			return ns, nss, nil
		}
	}
	return nss[0], nss, nil
}

// NoNamespaceInProject is the error for a project of patterns that matched
// none of the cluster's namespaces: for a member, there is none yet (exit
// 5); for a stranger, to whom a gateway lists none of them, a denial (exit 4).
func NoNamespaceInProject(pol *policy.Policy, id policy.Identity, pr *policy.Project) error {
	if !slices.ContainsFunc(pol.ProjectsOf(id), func(m policy.Membership) bool { return m.Project == pr.Name }) {
		admins := strings.Join(pr.AdminList(), ", ")
		if admins == "" {
			admins = "none"
		}
		return errs.ForbiddenErrorf("user %q has no role in project %q (namespaces %s). Project admins: %s",
			id.User, pr.Name, strings.Join(pr.Namespaces, ", "), admins)
	}
	return errs.WithHint(errs.NotFoundErrorf("project %q has no namespace yet: no namespace of the cluster matches %s",
		pr.Name, strings.Join(pr.Namespaces, ", ")), "Name the namespace with -n once it exists.")
}

func (a *Access) visible() (func(string) bool, error) {
	id, err := a.Identity()
	if err != nil {
		return nil, err
	}
	pol, err := a.Policy()
	if err != nil {
		return nil, err
	}
	if pol.IsSuperAdmin(id) {
		return nil, nil
	}
	return func(ns string) bool { return pol.Visible(id, ns) }, nil
}
