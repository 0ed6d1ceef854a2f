// Package policy is kgate's policy: projects that own namespaces, the admins
// and guests of each, and super admins; the parser that reads it (every error
// names file, line and field); and Decide, the pure function that says whether
// an identity may make a request, and why. The CLI and the gateway share it.
package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Role is what a user may do in a project. Roles are ordered: an admin is
// also a guest.
type Role uint8

// The roles, weakest first.
const (
	RoleNone  Role = iota // may do nothing
	RoleGuest             // may look: get, describe, logs (but not Secrets)
	RoleAdmin             // may also change: Secrets, exec, scale, delete
)

func (r Role) String() string {
	switch r {
	case RoleGuest:
		return "guest"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// MarshalText writes the role as "none", "guest" or "admin".
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "none", "guest" or "admin".
func (r *Role) UnmarshalText(b []byte) error {
	for _, x := range []Role{RoleNone, RoleGuest, RoleAdmin} {
		if string(b) == x.String() {
			*r = x
			return nil
		}
	}
	return fmt.Errorf("unknown role %q", b)
}

// Members are the users and LDAP groups given a role.
type Members struct {
	Users  []string `json:"users,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Project owns namespaces and gives roles in them.
type Project struct {
	Name string
	// Namespaces are exact names or globs such as "payments-*".
	Namespaces []string
	Admins     Members
	Guests     Members
	// Line is where the project is defined in the document.
	Line int
	// SystemNamespaces lets the project's globs match the system namespaces
	// (kube-system, kube-public, kube-node-lease, default); without it a
	// policy whose glob does is refused. Set by "systemNamespaces: allow".
	SystemNamespaces bool
	// Clusters are the project's settings per cluster (version 2), keyed by
	// cluster name. A project with no Namespaces of its own is only in the
	// clusters that give it some.
	Clusters map[string]ClusterRoles

	globs                   []glob // Namespaces, compiled
	adminUsers, adminGroups nameSet
	guestUsers, guestGroups nameSet
	// admins lists the admins for messages, built on the first denial.
	adminsOnce sync.Once
	admins     []string
}

// AdminList names the project's admins as denials do: users, then
// "group NAME". The slice is shared: do not modify it.
func (pr *Project) AdminList() []string { return pr.adminList() }

func (pr *Project) adminList() []string {
	pr.adminsOnce.Do(func() { pr.admins = memberList(pr.Admins) })
	return pr.admins
}

// Policy is a parsed, validated and compiled policy document. It is
// immutable and safe for concurrent use.
type Policy struct {
	Version     int
	SuperAdmins Members
	// Projects are sorted by name.
	Projects []*Project
	// SensitiveKinds are the kinds only admins may read: plural resource
	// names, with .GROUP outside the core group. nil means the default,
	// DefaultSensitiveKinds.
	SensitiveKinds []string

	// clusters are the clusters of a version-2 policy, in order.
	clusters []Cluster
	// parent is the whole policy a ForCluster view was made from, cluster
	// the name it was made for; views caches the views of a whole policy.
	parent  *Policy
	cluster string
	views   *viewCache

	sensitive               map[string]bool // resource or resource.group
	byName                  map[string]*Project
	superUsers, superGroups nameSet
	superList               []string
	// exact maps a namespace named exactly to the index of its project, or,
	// when several projects name it, to -1-k for shared[k].
	exact  map[string]int32
	shared [][]int32
	// Glob patterns are grouped by their literal prefix: globIndex maps a
	// prefix to its group, globRefs[globSpans[group]] are the patterns.
	// prefixLens are the distinct prefix lengths, so a namespace is matched
	// with one map lookup per length instead of a scan of every pattern.
	globIndex  map[string]int32
	globSpans  []span
	globRefs   []globRef
	prefixLens []int
}

type span struct{ lo, hi int32 }

type globRef struct {
	g       *glob
	project int32
}

// nameSet is a sorted set of lower-cased names.
type nameSet []string

// slab hands out string slices from large blocks, so that compiling ten
// thousand projects does not cost a hundred thousand small allocations.
type slab struct{ buf []string }

func (s *slab) take(n int) []string {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]string, 0, max(n, 4096))
	}
	l := len(s.buf)
	s.buf = s.buf[:l+n]
	return s.buf[l : l+n : l+n]
}

func (s *slab) nameSet(names []string) nameSet {
	if len(names) == 0 {
		return nil
	}
	set := s.take(len(names))
	for i, n := range names {
		set[i] = strings.ToLower(n)
	}
	if len(set) > 1 {
		slices.Sort(set)
		set = slices.Compact(set)
	}
	return set
}

func (s nameSet) has(name string) bool {
	if len(s) <= 8 {
		// Most sets hold a few names; comparing each beats a binary search.
		for _, x := range s {
			if x == name {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearch(s, name)
	return ok
}

func (s nameSet) hasAny(names []string) bool {
	if len(s) == 0 {
		return false
	}
	for _, n := range names {
		if s.has(n) {
			return true
		}
	}
	return false
}

// memberList lists members for messages: "alice", "group payments-leads".
func memberList(m Members) []string {
	out := make([]string, 0, len(m.Users)+len(m.Groups))
	out = append(out, m.Users...)
	for _, g := range m.Groups {
		out = append(out, "group "+g)
	}
	return out
}

// DefaultSensitiveKinds are the sensitive kinds of a policy that names none.
var DefaultSensitiveKinds = []string{"secrets"}

// Sensitive returns the kinds only admins may read.
func (p *Policy) Sensitive() []string {
	if p.SensitiveKinds == nil {
		return DefaultSensitiveKinds
	}
	return p.SensitiveKinds
}

// IsSensitive reports whether reading resource of group needs admin.
func (p *Policy) IsSensitive(resource, group string) bool {
	if p.sensitive == nil {
		return group == "" && resource == "secrets"
	}
	if group == "" {
		return p.sensitive[resource]
	}
	return p.sensitive[resource+"."+group]
}

// compile builds the lookup structures Decide uses. The projects' globs
// are already compiled.
func (p *Policy) compile() {
	if p.Version >= 2 && p.parent == nil {
		p.views = &viewCache{}
	}
	p.sensitive = map[string]bool{}
	for _, k := range p.Sensitive() {
		p.sensitive[strings.ToLower(k)] = true
	}
	var sl slab
	p.superUsers, p.superGroups = sl.nameSet(p.SuperAdmins.Users), sl.nameSet(p.SuperAdmins.Groups)
	p.superList = memberList(p.SuperAdmins)
	p.byName = make(map[string]*Project, len(p.Projects))
	p.exact = make(map[string]int32, len(p.Projects))
	p.globIndex = map[string]int32{}
	var counts []int32
	nGlobs := 0
	for i, pr := range p.Projects {
		p.byName[pr.Name] = pr
		pr.adminUsers, pr.adminGroups = sl.nameSet(pr.Admins.Users), sl.nameSet(pr.Admins.Groups)
		pr.guestUsers, pr.guestGroups = sl.nameSet(pr.Guests.Users), sl.nameSet(pr.Guests.Groups)
		for k := range pr.globs {
			g := &pr.globs[k]
			if len(g.rest) == 0 {
				p.addExact(g.prefix, int32(i))
				continue
			}
			grp, ok := p.globIndex[g.prefix]
			if !ok {
				grp = int32(len(counts))
				p.globIndex[g.prefix] = grp
				counts = append(counts, 0)
			}
			counts[grp]++
			nGlobs++
		}
	}
	// Lay the patterns out group by group in one slice.
	p.globSpans = make([]span, len(counts))
	off := int32(0)
	for grp, c := range counts {
		p.globSpans[grp] = span{off, off}
		off += c
	}
	p.globRefs = make([]globRef, nGlobs)
	lens := map[int]bool{}
	for i, pr := range p.Projects {
		for k := range pr.globs {
			g := &pr.globs[k]
			if len(g.rest) == 0 {
				continue
			}
			sp := &p.globSpans[p.globIndex[g.prefix]]
			p.globRefs[sp.hi] = globRef{g: g, project: int32(i)}
			sp.hi++
			lens[len(g.prefix)] = true
		}
	}
	for l := range lens {
		p.prefixLens = append(p.prefixLens, l)
	}
	sort.Ints(p.prefixLens)
}

func (p *Policy) addExact(ns string, project int32) {
	cur, ok := p.exact[ns]
	switch {
	case !ok:
		p.exact[ns] = project
	case cur == project:
	case cur >= 0:
		p.exact[ns] = int32(-1 - len(p.shared))
		p.shared = append(p.shared, []int32{cur, project})
	default:
		l := p.shared[-1-cur]
		if l[len(l)-1] != project {
			p.shared[-1-cur] = append(l, project)
		}
	}
}

// ProjectByName returns the project called name.
func (p *Policy) ProjectByName(name string) (*Project, bool) {
	pr, ok := p.byName[name]
	return pr, ok
}

// Matches reports whether the project owns namespace ns.
func (pr *Project) Matches(ns string) bool {
	for _, g := range pr.globs {
		if g.match(ns) {
			return true
		}
	}
	return false
}

// DefaultNamespace is the project's first namespace that is not a glob, the
// one `-p PROJECT` selects, or "" when every namespace is a glob.
func (pr *Project) DefaultNamespace() string {
	for _, n := range pr.Namespaces {
		if !IsGlob(n) {
			return n
		}
	}
	return ""
}

// HasPattern reports whether one of the project's namespaces is a glob,
// so that which namespaces it owns can only be told from the cluster's.
func (pr *Project) HasPattern() bool {
	for _, n := range pr.Namespaces {
		if IsGlob(n) {
			return true
		}
	}
	return false
}

// Expand returns the namespaces of the project: its exact names in the
// policy's order, then the names of cluster (the cluster's namespaces) that
// its patterns match, sorted, each once.
func (pr *Project) Expand(cluster []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range pr.Namespaces {
		if !IsGlob(n) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	var matched []string
	if pr.HasPattern() {
		for _, n := range cluster {
			if !seen[n] && pr.Matches(n) {
				seen[n] = true
				matched = append(matched, n)
			}
		}
	}
	slices.Sort(matched)
	return append(out, matched...)
}

// projectsOf appends to buf the indexes of the projects that own ns, each
// once, in name order.
func (p *Policy) projectsOf(ns string, buf []int32) []int32 {
	if i, ok := p.exact[ns]; ok {
		if i >= 0 {
			buf = append(buf, i)
		} else {
			buf = append(buf, p.shared[-1-i]...)
		}
	}
	for _, l := range p.prefixLens {
		if l > len(ns) {
			break
		}
		grp, ok := p.globIndex[ns[:l]]
		if !ok {
			continue
		}
		sp := p.globSpans[grp]
		for _, r := range p.globRefs[sp.lo:sp.hi] {
			if r.g.matchRest(ns[l:]) && !slices.Contains(buf, r.project) {
				buf = append(buf, r.project)
			}
		}
	}
	if len(buf) > 1 {
		slices.Sort(buf)
		buf = slices.Compact(buf)
	}
	return buf
}

func (pr *Project) roleOf(user string, groups []string) Role {
	if pr.adminUsers.has(user) || pr.adminGroups.hasAny(groups) {
		return RoleAdmin
	}
	if pr.guestUsers.has(user) || pr.guestGroups.hasAny(groups) {
		return RoleGuest
	}
	return RoleNone
}

// Membership is one of a user's projects, for `kgate projects`.
type Membership struct {
	Project    string   `json:"project"`
	Role       Role     `json:"role"`
	Namespaces []string `json:"namespaces"`
}

// ProjectsOf returns the projects in which id holds a role, sorted by name. A
// super admin is an admin of every project.
func (p *Policy) ProjectsOf(id Identity) []Membership {
	n := id.normalize()
	super := p.isSuper(n)
	var out []Membership
	for _, pr := range p.Projects {
		r := RoleAdmin
		if !super {
			r = pr.roleOf(n.user, n.groups)
		}
		if r > RoleNone {
			out = append(out, Membership{Project: pr.Name, Role: r, Namespaces: pr.Namespaces})
		}
	}
	return out
}

// IsSuperAdmin reports whether id is a super admin.
func (p *Policy) IsSuperAdmin(id Identity) bool { return p.isSuper(id.normalize()) }

// RoleIn returns the highest role id holds in namespace ns, over every
// project that owns it.
func (p *Policy) RoleIn(id Identity, ns string) Role {
	n := id.normalize()
	if p.isSuper(n) {
		return RoleAdmin
	}
	var buf [8]int32
	best := RoleNone
	for _, i := range p.projectsOf(ns, buf[:0]) {
		best = max(best, p.Projects[i].roleOf(n.user, n.groups))
	}
	return best
}

// Visible reports whether id may see namespace ns (is at least a guest there).
func (p *Policy) Visible(id Identity, ns string) bool { return p.RoleIn(id, ns) >= RoleGuest }

// NamespacesVisible filters names to the namespaces id may see, keeping
// their order. It is how `get namespaces` and `get -A` show only the user's
// namespaces.
func (p *Policy) NamespacesVisible(id Identity, names []string) []string {
	n := id.normalize()
	if p.isSuper(n) {
		return names
	}
	out := make([]string, 0, len(names))
	var buf [8]int32
	for _, ns := range names {
		for _, i := range p.projectsOf(ns, buf[:0]) {
			if p.Projects[i].roleOf(n.user, n.groups) >= RoleGuest {
				out = append(out, ns)
				break
			}
		}
	}
	return out
}

// NeedsClusterNamespaces reports whether the namespaces id may work in can
// only be told with the cluster's list of namespaces: a project of id's names
// a glob, or id is a super admin.
func (p *Policy) NeedsClusterNamespaces(id Identity) bool {
	if p.IsSuperAdmin(id) {
		return true
	}
	for _, m := range p.ProjectsOf(id) {
		for _, ns := range m.Namespaces {
			if IsGlob(ns) {
				return true
			}
		}
	}
	return false
}

// NamespacesOf returns the namespaces where id holds a role, sorted: the exact
// names of its projects, and those of cluster (the cluster's namespaces, or
// nil when they were not listed) that id may see. Without cluster, globs and a
// super admin's reach are left out.
func (p *Policy) NamespacesOf(id Identity, cluster []string) []string {
	var out []string
	for _, m := range p.ProjectsOf(id) {
		for _, ns := range m.Namespaces {
			if !IsGlob(ns) {
				out = append(out, ns)
			}
		}
	}
	out = append(out, p.NamespacesVisible(id, cluster)...)
	slices.Sort(out)
	return slices.Compact(out)
}

// PatternRef is one namespace pattern of one project.
type PatternRef struct {
	Project string `json:"project"`
	Pattern string `json:"pattern"`
}

// Overlap is a namespace claimed by two projects: it gets the highest role
// a user holds in either.
type Overlap struct {
	A PatternRef `json:"a"`
	B PatternRef `json:"b"`
	// Example is a namespace both patterns match.
	Example string `json:"example"`
}

// Overlaps returns every pair of patterns of different projects that match
// a common namespace, for `kgate policy check`.
func (p *Policy) Overlaps() []Overlap {
	type entry struct {
		g       *glob
		project int
	}
	var all []entry
	for i, pr := range p.Projects {
		for k := range pr.globs {
			all = append(all, entry{&pr.globs[k], i})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].g.prefix < all[j].g.prefix })
	var out []Overlap
	// Many projects may share a pattern: each pair of texts is intersected
	// once.
	type pair struct{ a, b string }
	type answer struct {
		ex string
		ok bool
	}
	seen := map[pair]answer{}
	// Two patterns can match a common namespace only if one's literal
	// prefix is a prefix of the other's: with the entries sorted by prefix,
	// those are the entries right after each one.
	for i, a := range all {
		for _, b := range all[i+1:] {
			if !strings.HasPrefix(b.g.prefix, a.g.prefix) {
				break
			}
			if a.project == b.project {
				continue
			}
			k := pair{a.g.text, b.g.text}
			if k.b < k.a {
				k.a, k.b = k.b, k.a
			}
			ans, done := seen[k]
			if !done {
				ans.ex, ans.ok = intersect(a.g, b.g)
				seen[k] = ans
			}
			if ex, ok := ans.ex, ans.ok; ok {
				ra := PatternRef{p.Projects[a.project].Name, a.g.text}
				rb := PatternRef{p.Projects[b.project].Name, b.g.text}
				if rb.Project < ra.Project {
					ra, rb = rb, ra
				}
				out = append(out, Overlap{A: ra, B: rb, Example: ex})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.A != y.A {
			return x.A.Project < y.A.Project || x.A.Project == y.A.Project && x.A.Pattern < y.A.Pattern
		}
		return x.B.Project < y.B.Project || x.B.Project == y.B.Project && x.B.Pattern < y.B.Pattern
	})
	return out
}
