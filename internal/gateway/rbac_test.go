package gateway

import (
	"fmt"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kgate/kgate/internal/policy"
)

func TestRenderRBAC(t *testing.T) {
	pol, err := policy.Parse("p.yaml", []byte(`version: 1
superAdmins: {groups: [Ops], users: [root-ish]}
projects:
  payments:
    namespaces: [payments, payments-staging]
    admins: {users: [Alice], groups: [payments-leads]}
    guests: {groups: [team-payments, qa]}
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
    guests: {groups: [qa]}
  audit:
    namespaces: [payments]
    guests: {users: [alice, auditor]}
  ghost:
    namespaces: ["ghost-*"]
    admins: {users: [casper]}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := RenderRBAC(pol, []string{"default", "payments", "search-dev", "search-prod", "searchlight"})
	if len(r.ClusterRoles) != 2 || r.ClusterRoles[0].Name != GuestRole || r.ClusterRoles[1].Name != AdminRole {
		t.Fatalf("cluster roles %v", r.ClusterRoles)
	}
	got := map[string]string{}
	for _, rb := range r.RoleBindings {
		if rb.RoleRef.Name != rb.Name || rb.Labels[ManagedByLabel] != ManagedBy {
			t.Errorf("binding %s/%s: %+v", rb.Namespace, rb.Name, rb)
		}
		got[rb.Namespace+"/"+rb.Name] = subjectList(rb.Subjects)
	}
	want := map[string]string{
		// alice is an admin of payments: not listed again as a guest (from audit).
		"payments/kgate-admin":         "User:alice Group:payments-leads",
		"payments/kgate-guest":         "User:auditor Group:qa Group:team-payments",
		"payments-staging/kgate-admin": "User:alice Group:payments-leads",
		"payments-staging/kgate-guest": "Group:qa Group:team-payments",
		"search-dev/kgate-admin":       "Group:team-search",
		"search-dev/kgate-guest":       "Group:qa",
		"search-prod/kgate-admin":      "Group:team-search",
		"search-prod/kgate-guest":      "Group:qa",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("role bindings:\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(r.Namespaces, []string{"payments", "payments-staging", "search-dev", "search-prod"}) {
		t.Errorf("namespaces %v", r.Namespaces)
	}
	if !slices.Equal(r.UnmatchedGlobs, []string{"ghost: ghost-*"}) {
		t.Errorf("unmatched %v", r.UnmatchedGlobs)
	}
	if len(r.ClusterRoleBindings) != 1 || r.ClusterRoleBindings[0].RoleRef.Name != AdminRole ||
		subjectList(r.ClusterRoleBindings[0].Subjects) != "User:root-ish Group:ops" {
		t.Errorf("super admins %+v", r.ClusterRoleBindings)
	}
}

func subjectList(s []rbacv1.Subject) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x.Kind + ":" + x.Name
	}
	return out
}

// The roles are never more than the policy allows a guest: no Secrets, no
// exec, no writes; and never RBAC objects, impersonation or the namespace
// itself for an admin.
func TestClusterRolesStayWithinThePolicy(t *testing.T) {
	roles := ClusterRoles()
	can := func(r rbacv1.ClusterRole, group, resource, verb string) bool {
		for _, rule := range r.Rules {
			if (slices.Contains(rule.APIGroups, group) || slices.Contains(rule.APIGroups, "*")) &&
				(slices.Contains(rule.Resources, resource) || slices.Contains(rule.Resources, "*")) &&
				(slices.Contains(rule.Verbs, verb) || slices.Contains(rule.Verbs, "*")) {
				return true
			}
		}
		return false
	}
	guest, admin := roles[0], roles[1]
	for _, tc := range []struct {
		group, resource, verb string
		guest, admin          bool
	}{
		{"", "pods", "list", true, true},
		{"", "pods/log", "get", true, true},
		{"apps", "deployments", "get", true, true},
		{"apps", "deployments/scale", "update", false, true},
		{"", "secrets", "get", false, true},
		{"", "secrets", "list", false, true},
		{"", "pods/exec", "create", false, true},
		{"", "pods/exec", "get", false, true},
		{"", "pods/portforward", "create", false, true},
		{"", "pods", "delete", false, true},
		{"", "namespaces", "delete", false, false},
		{"", "namespaces", "update", false, false},
		{"", "resourcequotas", "update", false, false},
		{"", "serviceaccounts/token", "create", false, false},
		{"rbac.authorization.k8s.io", "rolebindings", "create", false, false},
		{"rbac.authorization.k8s.io", "roles", "escalate", false, false},
		{"", "users", "impersonate", false, false},
		{"", "serviceaccounts", "impersonate", false, false},
	} {
		if got := can(guest, tc.group, tc.resource, tc.verb); got != tc.guest {
			t.Errorf("kgate-guest %s %s/%s: %v", tc.verb, tc.group, tc.resource, got)
		}
		if got := can(admin, tc.group, tc.resource, tc.verb); got != tc.admin {
			t.Errorf("kgate-admin %s %s/%s: %v", tc.verb, tc.group, tc.resource, got)
		}
		// And the policy agrees that the guest role needs no more than guest.
		if tc.guest && policy.Needed(tc.verb, tc.resource, "") != policy.RoleGuest {
			t.Errorf("kgate-guest allows %s %s, which the policy gives admins only", tc.verb, tc.resource)
		}
	}
}

func TestRenderRBACNeverBindsSystemNamespacesThroughGlobs(t *testing.T) {
	cluster := []string{"default", "kube-system", "kube-public", "kube-node-lease", "apps"}
	// Such a glob is refused by the parser; with allow it binds, and an
	// exact name is explicit.
	if _, err := policy.Parse("p.yaml", []byte("version: 1\nprojects:\n  all:\n    namespaces: [\"*\"]\n    admins: {users: [eve]}\n")); err == nil {
		t.Fatal(`"*" parsed without systemNamespaces: allow`)
	}
	pol, err := policy.Parse("p.yaml", []byte(`version: 1
projects:
  all:
    systemNamespaces: allow
    namespaces: ["*"]
    admins: {users: [ops-eve]}
  apps:
    namespaces: ["app*", default]
    admins: {users: [bob]}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := RenderRBAC(pol, cluster)
	bound := map[string][]string{}
	for _, rb := range r.RoleBindings {
		bound[rb.Namespace] = append(bound[rb.Namespace], subjectList(rb.Subjects))
	}
	if fmt.Sprint(bound["kube-system"]) != "[User:ops-eve]" || fmt.Sprint(bound["default"]) != "[User:bob User:ops-eve]" {
		t.Errorf("bindings: %v", bound)
	}
	// With allow taken away after parsing, the glob alone never binds there.
	pol.Projects[0].SystemNamespaces = false
	r = RenderRBAC(pol, cluster)
	for _, rb := range r.RoleBindings {
		if policy.IsSystemNamespace(rb.Namespace) && rb.Namespace != "default" {
			t.Errorf("bound %s/%s: %s", rb.Namespace, rb.Name, subjectList(rb.Subjects))
		}
		if rb.Namespace == "default" && subjectList(rb.Subjects) != "User:bob" {
			t.Errorf("default bound to %s", subjectList(rb.Subjects))
		}
	}
}
