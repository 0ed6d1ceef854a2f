package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Cluster is one cluster a version-2 policy names, and how kgate reaches it:
// through a kubeconfig context (direct mode) or a kgate gateway's URL.
// Exactly one of Context and Gateway is set.
type Cluster struct {
	Name    string `json:"name"`
	Context string `json:"context,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}

// Reached says how the cluster is reached, for listings: "context NAME" or
// "gateway URL".
func (c Cluster) Reached() string {
	if c.Gateway != "" {
		return "gateway " + c.Gateway
	}
	return "context " + c.Context
}

// ClusterRoles are a project's settings in one cluster of a version-2
// policy.
type ClusterRoles struct {
	// Namespaces replace the project's own in this cluster; nil keeps them.
	Namespaces []string `json:"namespaces,omitempty"`
	// Admins and Guests are given their role in this cluster on top of the
	// project's own admins and guests (who hold theirs everywhere).
	Admins Members `json:"admins,omitempty"`
	Guests Members `json:"guests,omitempty"`
	// Line is where the entry is defined in the document.
	Line int `json:"-"`

	globs []glob // Namespaces, compiled
}

// Clusters returns the clusters the policy names, in the document's order,
// or nil for a version-1 policy (which means every cluster). The slice is
// shared: do not modify it.
func (p *Policy) Clusters() []Cluster {
	if p.parent != nil {
		return p.parent.clusters
	}
	return p.clusters
}

// ClusterByName returns the cluster of the policy called name.
func (p *Policy) ClusterByName(name string) (Cluster, bool) {
	for _, c := range p.Clusters() {
		if c.Name == name {
			return c, true
		}
	}
	return Cluster{}, false
}

// ClusterNames returns the names of the policy's clusters, in order.
func (p *Policy) ClusterNames() []string {
	cs := p.Clusters()
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// Cluster names the cluster a view returned by ForCluster is for, or "" for
// a whole policy.
func (p *Policy) Cluster() string { return p.cluster }

// UnknownClusterError is ForCluster's error for a name the policy does not
// list.
type UnknownClusterError struct {
	Name  string
	Known []string
}

func (e *UnknownClusterError) Error() string {
	return fmt.Sprintf("the policy names no cluster %q (its clusters: %s)", e.Name, strings.Join(e.Known, ", "))
}

// ForCluster returns the policy as it applies to the cluster called name, in
// the shape of a version-1 policy: each project with its namespaces and
// roles in that cluster (a project with no namespaces there is left out), so
// Decide and everything built on a version-1 policy work on it unchanged. A
// version-1 policy means every cluster: it returns itself for any name. A
// name the policy does not list is an *UnknownClusterError. Views are built
// once and shared; they are immutable like the policy.
func (p *Policy) ForCluster(name string) (*Policy, error) {
	if p.parent != nil {
		if name == p.cluster {
			return p, nil
		}
		return p.parent.ForCluster(name)
	}
	if p.Version < 2 {
		return p, nil
	}
	if _, ok := p.ClusterByName(name); !ok {
		return nil, &UnknownClusterError{Name: name, Known: p.ClusterNames()}
	}
	v := p.views
	if v == nil {
		// A policy built by hand rather than parsed: build the view each time.
		return p.view(name), nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if view, ok := v.m[name]; ok {
		return view, nil
	}
	view := p.view(name)
	if v.m == nil {
		v.m = map[string]*Policy{}
	}
	v.m[name] = view
	return view, nil
}

// InCluster returns the policy as it applies to the cluster called name, as
// ForCluster does, except that a version-1 policy (which means every cluster)
// gives a copy whose decisions name the cluster too, so a denial says which
// cluster refused. The copy shares the policy's compiled form.
func (p *Policy) InCluster(name string) (*Policy, error) {
	if p.Version >= 2 || name == "" || p.cluster == name {
		return p.ForCluster(name)
	}
	base := p
	if p.parent != nil {
		base = p.parent
	}
	cp := *base
	cp.parent, cp.cluster, cp.views = base, name, nil
	return &cp, nil
}

type viewCache struct {
	mu sync.Mutex
	m  map[string]*Policy
}

func (p *Policy) view(name string) *Policy {
	out := &Policy{
		Version:        p.Version,
		SuperAdmins:    p.SuperAdmins,
		SensitiveKinds: p.SensitiveKinds,
		Projects:       make([]*Project, 0, len(p.Projects)),
		parent:         p,
		cluster:        name,
	}
	for _, pr := range p.Projects {
		cr, has := pr.Clusters[name]
		ns, globs := pr.Namespaces, pr.globs
		if has && cr.Namespaces != nil {
			ns, globs = cr.Namespaces, cr.globs
		}
		if len(ns) == 0 {
			continue
		}
		out.Projects = append(out.Projects, &Project{
			Name:             pr.Name,
			Namespaces:       ns,
			Admins:           mergeMembers(pr.Admins, cr.Admins),
			Guests:           mergeMembers(pr.Guests, cr.Guests),
			Line:             pr.Line,
			SystemNamespaces: pr.SystemNamespaces,
			globs:            globs,
		})
	}
	out.compile()
	return out
}

// mergeMembers lists a's members, then b's that a does not name.
func mergeMembers(a, b Members) Members {
	if len(b.Users) == 0 && len(b.Groups) == 0 {
		return a
	}
	return Members{Users: mergeNames(a.Users, b.Users), Groups: mergeNames(a.Groups, b.Groups)}
}

func mergeNames(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := slices.Clip(a)
	for _, n := range b {
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, n) }) {
			out = append(out, n)
		}
	}
	return out
}

// ClusterMembership is a user's role in one project in one cluster, for
// `kgate projects` and `kgate clusters`.
type ClusterMembership struct {
	Cluster string `json:"cluster"`
	Membership
}

// ProjectsByCluster returns id's projects in each of the policy's clusters,
// cluster by cluster in the policy's order, projects by name. For a
// version-1 policy it is ProjectsOf with an empty cluster name.
func (p *Policy) ProjectsByCluster(id Identity) []ClusterMembership {
	var out []ClusterMembership
	if len(p.Clusters()) == 0 {
		for _, m := range p.ProjectsOf(id) {
			out = append(out, ClusterMembership{Membership: m})
		}
		return out
	}
	for _, c := range p.Clusters() {
		v, err := p.ForCluster(c.Name)
		if err != nil {
			continue
		}
		for _, m := range v.ProjectsOf(id) {
			out = append(out, ClusterMembership{Cluster: c.Name, Membership: m})
		}
	}
	return out
}
