package policy

import (
	"strconv"
	"strings"
)

// Identity is who asks: a user and their LDAP groups. Names compare
// case-insensitively, as LDAP does.
type Identity struct {
	User   string
	Groups []string
}

// Verbs kgate's commands ask about. Any other verb (create, update, patch,
// deletecollection, ...) needs admin.
const (
	VerbGet      = "get"
	VerbList     = "list"
	VerbWatch    = "watch"
	VerbDescribe = "describe"
	VerbLogs     = "logs"
	VerbExec     = "exec"
	VerbScale    = "scale"
	VerbDelete   = "delete"
)

// Request is what an identity wants to do.
type Request struct {
	Verb string
	// Resource is the plural, lower-case resource: "pods", "secrets", "namespaces".
	Resource string
	// Group is the resource's API group; "" is the core group. It tells a
	// sensitive kind from another group's kind of the same name.
	Group string
	// ClusterScoped marks a kind that has no namespace (nodes, ...), for
	// the denial's wording; a request without a namespace is for super
	// admins either way.
	ClusterScoped bool
	// Subresource is "log", "exec", "scale", ... as in the API path (gateway).
	Subresource string
	// Namespace is empty for cluster-scoped kinds and for a request across
	// all namespaces; both are for super admins only.
	Namespace string
	Name      string
}

// Decision is the engine's answer.
type Decision struct {
	Allowed bool
	// Project is the project that owns the namespace (the one that gave the
	// role, when allowed); empty when none does.
	Project string
	Needed  Role
	Held    Role
	// SuperAdmin is set when the role comes from being a super admin.
	SuperAdmin bool
	// Reason says who, what, where, the role needed and the role held, and,
	// for a denial, who the project's admins are.
	Reason string
	// Admins are whom to ask for access: the admins of the namespace's
	// projects, or the super admins. The slice may be shared: do not
	// modify it.
	Admins []string
	// Cluster is the cluster the decision is for (the policy is a
	// ForCluster view), named in Reason too; empty for a version-1 policy.
	Cluster string
}

// identity is an Identity with lower-cased names.
type identity struct {
	user   string
	name   string // as given, for messages
	groups []string
}

func (id Identity) normalize() identity {
	n := identity{user: strings.ToLower(id.User), name: id.User, groups: id.Groups}
	for i, g := range id.Groups {
		if l := strings.ToLower(g); l != g {
			// Copy only when a group is not already lower case.
			n.groups = make([]string, len(id.Groups))
			copy(n.groups, id.Groups[:i])
			for j := i; j < len(id.Groups); j++ {
				n.groups[j] = strings.ToLower(id.Groups[j])
			}
			break
		}
	}
	return n
}

func (p *Policy) isSuper(n identity) bool {
	return p.superUsers.has(n.user) || p.superGroups.hasAny(n.groups)
}

// Needed returns the role a request needs in the namespace's project, with
// the default sensitive kinds (Secrets); Policy.Needed knows the policy's.
func Needed(verb, resource, subresource string) Role {
	return (&Policy{}).needed(strings.ToLower(verb), strings.ToLower(resource), "", strings.ToLower(subresource))
}

// Needed returns the role req needs in the namespace's project.
func (p *Policy) Needed(req Request) Role {
	return p.needed(strings.ToLower(req.Verb), strings.ToLower(req.Resource), strings.ToLower(req.Group), strings.ToLower(req.Subresource))
}

func (p *Policy) needed(verb, resource, group, subresource string) Role {
	switch subresource {
	case "exec", "attach", "portforward", "proxy":
		return RoleAdmin
	}
	switch verb {
	case VerbGet, VerbList, VerbWatch, VerbDescribe, VerbLogs:
		if p.IsSensitive(resource, group) {
			return RoleAdmin
		}
		return RoleGuest
	}
	return RoleAdmin
}

// Decide says whether id may make req, and why. It is a pure function of
// the policy, the identity and the request: decide finds the decision's
// facts, reason words them.
func (p *Policy) Decide(id Identity, req Request) Decision {
	n := id.normalize()
	req.Verb, req.Resource, req.Subresource = strings.ToLower(req.Verb), strings.ToLower(req.Resource), strings.ToLower(req.Subresource)
	req.Group = strings.ToLower(req.Group)
	// The owners stay apart from the facts, and buf on the stack: the
	// Decision returned holds no pointer to them.
	var buf [8]int32
	f, owners := p.decide(n, req, buf[:0])
	f.Reason = p.reason(n, req, &f, owners)
	return f.Decision
}

// ground is why a decision is what it is: which reason words it.
type ground int

const (
	// groundListNamespaces: anyone may list (and watch) namespaces.
	groundListNamespaces ground = iota
	// groundSuperAdmin: a super admin may do anything.
	groundSuperAdmin
	// groundNoProject: no namespace, or one no project owns, is reserved
	// to super admins.
	groundNoProject
	// groundProject: the role held in the namespace's project(s) against
	// the role needed.
	groundProject
)

// facts are what decide finds: the Decision but for its Reason, and what
// the reason names.
type facts struct {
	Decision
	ground ground
	// ns is the namespace the request acts in; "" for a cluster-wide one.
	ns string
}

// decide finds the facts of a decision on req (lower-cased) for n, and the
// projects that own its namespace, in the policy's order (appended to buf).
func (p *Policy) decide(n identity, req Request, buf []int32) (f facts, owners []int32) {
	f = facts{Decision: Decision{Needed: p.needed(req.Verb, req.Resource, req.Group, req.Subresource), Cluster: p.cluster}}
	ns := req.Namespace
	if req.Resource == "namespaces" && req.Group == "" {
		if req.Name == "" && (req.Verb == VerbList || req.Verb == VerbWatch) {
			// Anyone may list namespaces; the caller shows only those
			// NamespacesVisible returns.
			f.Allowed, f.Needed = true, RoleNone
			if p.isSuper(n) {
				f.Held, f.SuperAdmin = RoleAdmin, true
			}
			f.ground = groundListNamespaces
			return f, owners
		}
		// Reading a namespace object is reading in that namespace; changing
		// one is a cluster-wide change.
		ns = ""
		if f.Needed == RoleGuest {
			ns = req.Name
		}
	}
	f.ns = ns
	if ns != "" {
		owners = p.projectsOf(ns, buf)
	}
	if p.isSuper(n) {
		f.Allowed, f.Held, f.SuperAdmin = true, RoleAdmin, true
		if len(owners) > 0 {
			f.Project = p.Projects[owners[0]].Name
		}
		f.ground = groundSuperAdmin
		return f, owners
	}
	if ns == "" || len(owners) == 0 {
		f.Admins = p.superList
		f.ground = groundNoProject
		return f, owners
	}
	best := owners[0]
	for _, i := range owners {
		if r := p.Projects[i].roleOf(n.user, n.groups); r > f.Held {
			f.Held, best = r, i
		}
	}
	f.Project = p.Projects[best].Name
	f.Allowed = f.Held >= f.Needed
	if !f.Allowed {
		if len(owners) == 1 {
			f.Admins = p.Projects[best].adminList()
		} else {
			for _, i := range owners {
				f.Admins = append(f.Admins, p.Projects[i].adminList()...)
			}
		}
	}
	f.ground = groundProject
	return f, owners
}

// reason words the facts of a decision on req (lower-cased) for n: who,
// what, where, the role needed and the role held, and, for a denial, whom
// to ask.
func (p *Policy) reason(n identity, req Request, f *facts, owners []int32) string {
	if f.ground == groundListNamespaces {
		return "user " + strconv.Quote(n.name) + " may list namespaces; only those of their projects are shown"
	}
	// Each reason is built with one allocation, sized for its kind.
	var m msg
	switch f.ground {
	case groundSuperAdmin:
		m.Grow(64)
		m.WriteString("user ")
		m.quote(n.name)
		m.WriteString(" is a super admin")
	case groundNoProject:
		m.Grow(256)
		switch ns := f.ns; {
		case ns == "" && req.ClusterScoped:
			m.action(req)
			m.inCluster(p.cluster)
			m.WriteString(": ")
			m.WriteString(req.Resource)
			m.WriteString(" are cluster-scoped, and cluster-scoped kinds are reserved to super admins; user ")
		case ns == "" && (req.Name != "" || req.Resource == "namespaces"):
			// A named object without a namespace, or a namespace itself, is
			// cluster-scoped: there is no namespace the user left out.
			m.action(req)
			m.inCluster(p.cluster)
			m.WriteString(" acts on a cluster-wide object and is reserved to super admins; user ")
		case ns == "":
			m.action(req)
			m.inCluster(p.cluster)
			m.WriteString(" without a namespace (cluster-wide, or across all namespaces) is reserved to super admins; user ")
		default:
			m.WriteString("namespace ")
			m.quote(ns)
			m.WriteString(" belongs to no project")
			m.inCluster(p.cluster)
			m.WriteString(" and is reserved to super admins; user ")
		}
		m.quote(n.name)
		m.WriteString(" is not one. Super admins: ")
		m.list(f.Admins)
	default:
		p.projectReason(&m, n, req, f, owners)
	}
	return m.String()
}

// projectReason words a decision by the role n holds in the projects that
// own the namespace.
func (p *Policy) projectReason(m *msg, n identity, req Request, f *facts, owners []int32) {
	if f.Allowed {
		m.Grow(128)
	} else {
		m.Grow(256)
	}
	m.WriteString("user ")
	m.quote(n.name)
	if f.Held > RoleNone {
		m.WriteString(" is ")
		m.WriteString(article(f.Held))
		m.WriteString(" in ")
	} else {
		m.WriteString(" has no role in ")
	}
	if len(owners) > 1 && !f.Allowed {
		m.WriteString("projects ")
		for k, i := range owners {
			if k > 0 {
				m.WriteString(", ")
			}
			m.quote(p.Projects[i].Name)
		}
	} else {
		m.WriteString("project ")
		m.quote(f.Project)
	}
	m.WriteString(" (namespace ")
	m.quote(f.ns)
	if p.cluster != "" {
		m.WriteString(", cluster ")
		m.quote(p.cluster)
	}
	m.WriteByte(')')
	if !f.Allowed {
		m.WriteString("; ")
		m.action(req)
		m.WriteString(" needs ")
		m.WriteString(f.Needed.String())
		m.WriteString(". Project admins: ")
		m.list(f.Admins)
	}
}

// msg builds a reason with one allocation.
type msg struct{ strings.Builder }

// quote writes s quoted as strconv.Quote does, without its cost for the
// usual plain names.
func (m *msg) quote(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			m.WriteString(strconv.Quote(s))
			return
		}
	}
	m.WriteByte('"')
	m.WriteString(s)
	m.WriteByte('"')
}

// inCluster writes ` in cluster "NAME"`, or nothing for a version-1 policy.
func (m *msg) inCluster(name string) {
	if name != "" {
		m.WriteString(" in cluster ")
		m.quote(name)
	}
}

func (m *msg) list(names []string) {
	if len(names) == 0 {
		m.WriteString("none")
		return
	}
	for i, n := range names {
		if i > 0 {
			m.WriteString(", ")
		}
		m.WriteString(n)
	}
}

// action writes what a request (lower-cased) does: "exec pods/web-1",
// "get secrets".
func (m *msg) action(req Request) {
	sub := req.Subresource
	switch {
	case req.Verb == VerbExec && sub == "portforward":
		// Decided as an exec, but what the user ran is a port-forward.
		m.WriteString("port-forward")
		sub = ""
	case req.Verb == VerbExec && sub == "attach":
		m.WriteString("attach")
		sub = ""
	default:
		m.WriteString(req.Verb)
	}
	m.WriteByte(' ')
	m.WriteString(req.Resource)
	if req.Group != "" && !kubernetesGroup(req.Group) {
		m.WriteByte('.')
		m.WriteString(req.Group)
	}
	if req.Name != "" {
		m.WriteByte('/')
		m.WriteString(req.Name)
	}
	if sub != "" {
		m.WriteString(" (")
		m.WriteString(sub)
		m.WriteByte(')')
	}
}

func article(r Role) string {
	if r == RoleAdmin {
		return "an admin"
	}
	return "a " + r.String()
}

// kubernetesGroup reports whether group is one of Kubernetes' own API
// groups (apps, batch, networking.k8s.io, …), whose kinds a message names
// as kubectl does, without the group: "exec deployments/web", but "get
// widgets.example.com".
func kubernetesGroup(group string) bool {
	return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
}
