package gateway

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/policy"
)

// Names of what `kgate policy rbac` renders.
const (
	GuestRole = "kgate-guest"
	AdminRole = "kgate-admin"
	// SuperAdminBinding binds the policy's super admins to AdminRole in
	// every namespace.
	SuperAdminBinding = "kgate-super-admins"
	// ManagedByLabel marks every object kgate renders, so that --apply can
	// find and delete those the policy no longer asks for.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kgate"
)

var verbsRead = []string{"get", "list", "watch"}

var verbsWrite = []string{"create", "update", "patch", "delete", "deletecollection"}

// coreReadable are the core resources a guest may read: everything a
// project's workloads consist of, but not Secrets.
var coreReadable = []string{
	"pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "configmaps", "events",
	"persistentvolumeclaims", "persistentvolumeclaims/status", "replicationcontrollers", "replicationcontrollers/scale",
	"replicationcontrollers/status", "serviceaccounts", "resourcequotas", "resourcequotas/status", "limitranges",
	"namespaces", "namespaces/status",
}

// coreWritable are the core resources an admin may change. Namespaces,
// quotas and limit ranges are not: changing them is a cluster-wide matter
// in the policy. Service accounts are not: a token minted for one would be
// a credential that does not go through the gateway.
var coreWritable = []string{
	"pods", "services", "endpoints", "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
	"replicationcontrollers/scale", "secrets",
}

// workloadGroups are the API groups whose every resource guests may read
// and admins may change. rbac.authorization.k8s.io is not one: a project
// admin must not hand out access the policy does not know of.
var workloadGroups = []string{
	"apps", "batch", "autoscaling", "policy", "networking.k8s.io", "discovery.k8s.io", "events.k8s.io", "metrics.k8s.io",
}

// ClusterRoles returns kgate-guest and kgate-admin: what a guest and an
// admin of a project may do in its namespaces, as RBAC can say it. They are
// at most what the policy allows (the policy lets admins do anything in
// their namespaces; these roles leave out RBAC objects, quotas, the
// namespace itself and service account tokens), so that a request the
// gateway should have refused is refused by the cluster too.
func ClusterRoles() []rbacv1.ClusterRole {
	return ClusterRolesFor(nil, nil)
}

// Served is a namespaced resource the cluster serves (from discovery), as
// RBAC rendering needs it.
type Served struct {
	Group, Resource string
}

// ClusterRolesFor returns kgate-guest and kgate-admin for a cluster that
// serves served (nil: the built-in groups only), with pol's sensitive kinds
// (nil policy: Secrets). Guests read every served namespaced resource but
// the sensitive ones; admins also read those, and change the resources of
// the workload groups and of every group that is not part of Kubernetes
// itself (custom resources: cert-manager.io, argoproj.io, ...).
func ClusterRolesFor(pol *policy.Policy, served []Served) []rbacv1.ClusterRole {
	if pol == nil {
		pol = &policy.Policy{}
	}
	var coreRead []string
	for _, r := range coreReadable {
		if !pol.IsSensitive(strings.SplitN(r, "/", 2)[0], "") {
			coreRead = append(coreRead, r)
		}
	}
	guest := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: coreRead, Verbs: verbsRead}}
	var sensitive []rbacv1.PolicyRule
	for _, k := range pol.Sensitive() {
		res, group, _ := strings.Cut(k, ".")
		sensitive = append(sensitive, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{res}, Verbs: verbsRead})
	}
	// Groups in served's order; the workload groups are always there.
	byGroup := map[string][]string{}
	var groups []string
	for _, g := range workloadGroups {
		byGroup[g] = nil
		groups = append(groups, g)
	}
	for _, r := range served {
		if r.Group == "" || strings.Contains(r.Resource, "/") {
			continue
		}
		if _, ok := byGroup[r.Group]; !ok {
			groups = append(groups, r.Group)
		}
		byGroup[r.Group] = append(byGroup[r.Group], r.Resource)
	}
	var writeGroups []string
	var writeRules []rbacv1.PolicyRule
	for _, g := range groups {
		names := byGroup[g]
		workload := slices.Contains(workloadGroups, g)
		if !workload && (len(names) == 0 || g == rbacv1.GroupName) {
			// Nothing namespaced; or RBAC objects, which a project member
			// never reads or changes through the cluster's RBAC.
			continue
		}
		var readable []string
		anySensitive := false
		for _, n := range names {
			if pol.IsSensitive(n, g) {
				anySensitive = true
			} else {
				readable = append(readable, n)
			}
		}
		switch {
		case workload && !anySensitive:
			guest = append(guest, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{"*"}, Verbs: verbsRead})
		case len(readable) > 0:
			slices.Sort(readable)
			guest = append(guest, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: readable, Verbs: verbsRead})
		}
		switch {
		case workload:
			writeGroups = append(writeGroups, g)
		case !strings.HasSuffix(g, "k8s.io"):
			// Kubernetes' own other groups (storage, coordination, ...) are
			// read-only; custom resources are the project's to change.
			all := slices.Clone(names)
			slices.Sort(all)
			writeRules = append(writeRules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: all, Verbs: verbsWrite})
		}
	}
	admin := append(slices.Clone(guest), sensitive...)
	admin = append(admin,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: coreWritable, Verbs: verbsWrite},
		// exec and attach over WebSocket are GETs, over SPDY POSTs.
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy"}, Verbs: []string{"get", "create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/eviction", "pods/ephemeralcontainers"}, Verbs: []string{"create", "update", "patch"}},
		rbacv1.PolicyRule{APIGroups: writeGroups, Resources: []string{"*"}, Verbs: verbsWrite},
		// Read-only cluster-scoped kinds: they count only where kgate-admin is
		// bound cluster-wide, which is for super admins.
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes", "persistentvolumes"}, Verbs: verbsRead},
		rbacv1.PolicyRule{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: verbsRead},
		rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: verbsRead},
	)
	admin = append(admin, writeRules...)
	mk := func(name string, rules []rbacv1.PolicyRule) rbacv1.ClusterRole {
		return rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: managedLabels()},
			Rules:      rules,
		}
	}
	return []rbacv1.ClusterRole{mk(GuestRole, guest), mk(AdminRole, admin)}
}

func managedLabels() map[string]string { return map[string]string{ManagedByLabel: ManagedBy} }

// RBAC is the policy rendered as Kubernetes RBAC objects.
type RBAC struct {
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	// RoleBindings are sorted by namespace, then name.
	RoleBindings []rbacv1.RoleBinding
	// Namespaces are the namespaces that have RoleBindings.
	Namespaces []string
	// UnmatchedGlobs are the namespace patterns ("project: pattern") of
	// projects whose patterns matched none of the cluster's namespaces.
	UnmatchedGlobs []string
}

// RenderRBAC renders pol as RBAC: ClusterRoles kgate-guest and kgate-admin,
// in every namespace of a project RoleBindings of those roles to the
// project's guests and admins (a namespace in several projects gets the
// members of all of them), and a ClusterRoleBinding of kgate-admin to the
// super admins. Exact namespace names are rendered whether or not they
// exist; a glob is rendered for the names in clusterNamespaces it matches,
// since RBAC has no patterns. Users and groups are bound in lower case, as
// the gateway impersonates them.
func RenderRBAC(pol *policy.Policy, clusterNamespaces []string) RBAC {
	return RenderRBACFor(pol, clusterNamespaces, nil)
}

// RenderRBACFor is RenderRBAC for a cluster that serves served (from
// discovery), so that the roles cover its custom resources too.
func RenderRBACFor(pol *policy.Policy, clusterNamespaces []string, served []Served) RBAC {
	out := RBAC{ClusterRoles: ClusterRolesFor(pol, served)}
	type members struct{ admins, guests map[rbacv1.Subject]bool }
	byNS := map[string]*members{}
	add := func(ns string, pr *policy.Project) {
		m := byNS[ns]
		if m == nil {
			m = &members{admins: map[rbacv1.Subject]bool{}, guests: map[rbacv1.Subject]bool{}}
			byNS[ns] = m
		}
		for _, s := range subjects(pr.Admins) {
			m.admins[s] = true
		}
		for _, s := range subjects(pr.Guests) {
			m.guests[s] = true
		}
	}
	for _, pr := range pol.Projects {
		var globs []string
		for _, ns := range pr.Namespaces {
			if policy.IsGlob(ns) {
				globs = append(globs, ns)
			} else {
				add(ns, pr)
			}
		}
		if len(globs) == 0 {
			continue
		}
		matched := false
		for _, c := range clusterNamespaces {
			if policy.IsSystemNamespace(c) && !pr.SystemNamespaces {
				// The policy refuses such a glob; this holds even if it did not.
				continue
			}
			if pr.Matches(c) && !slices.Contains(pr.Namespaces, c) {
				// add merges: another project may claim the same namespace.
				add(c, pr)
				matched = true
			}
		}
		if !matched {
			for _, g := range globs {
				out.UnmatchedGlobs = append(out.UnmatchedGlobs, pr.Name+": "+g)
			}
		}
	}
	for ns, m := range byNS {
		out.Namespaces = append(out.Namespaces, ns)
		for s := range m.admins {
			delete(m.guests, s) // an admin is a guest already
		}
		if len(m.admins) > 0 {
			out.RoleBindings = append(out.RoleBindings, roleBinding(ns, AdminRole, m.admins))
		}
		if len(m.guests) > 0 {
			out.RoleBindings = append(out.RoleBindings, roleBinding(ns, GuestRole, m.guests))
		}
	}
	slices.Sort(out.Namespaces)
	slices.SortFunc(out.RoleBindings, func(a, b rbacv1.RoleBinding) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if s := subjects(pol.SuperAdmins); len(s) > 0 {
		out.ClusterRoleBindings = append(out.ClusterRoleBindings, rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: SuperAdminBinding, Labels: managedLabels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AdminRole},
			Subjects:   s,
		})
	}
	return out
}

func subjects(m policy.Members) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, u := range m.Users {
		out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: strings.ToLower(u)})
	}
	for _, g := range m.Groups {
		out = append(out, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: strings.ToLower(g)})
	}
	return out
}

func roleBinding(ns, role string, set map[rbacv1.Subject]bool) rbacv1.RoleBinding {
	s := make([]rbacv1.Subject, 0, len(set))
	for k := range set {
		s = append(s, k)
	}
	slices.SortFunc(s, func(a, b rbacv1.Subject) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return -c // User before Group
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: role, Namespace: ns, Labels: managedLabels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   s,
	}
}
