package policy

import (
	"slices"
	"strings"
	"testing"
)

const basePolicy = `
version: 1
superAdmins:
  users: [root]
  groups: [ops]
projects:
  payments:
    namespaces: [payments, payments-staging]
    admins: {users: [alice], groups: [payments-leads]}
    guests: {users: [bob], groups: [team-payments, qa]}
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
  shared:
    namespaces: [shared, "pay*-staging"]
    admins: {users: [bob]}
    guests: {groups: [everyone]}
  orphans:
    namespaces: [orphans]
`

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	p := mustParse(t, basePolicy)
	alice := Identity{User: "alice"}
	bob := Identity{User: "bob"}
	carol := Identity{User: "carol", Groups: []string{"team-search"}}
	dave := Identity{User: "dave", Groups: []string{"qa"}}
	eve := Identity{User: "eve"}
	root := Identity{User: "root"}
	opsMember := Identity{User: "olga", Groups: []string{"ops"}}
	lead := Identity{User: "leo", Groups: []string{"team-payments", "payments-leads"}}

	req := func(verb, res, ns, name string) Request {
		return Request{Verb: verb, Resource: res, Namespace: ns, Name: name}
	}
	tests := []struct {
		name    string
		id      Identity
		req     Request
		allowed bool
		project string
		needed  Role
		held    Role
		reason  []string // substrings of the reason
	}{
		// guest may look
		{"guest gets pods", dave, req("get", "pods", "payments", ""), true, "payments", RoleGuest, RoleGuest, []string{`user "dave" is a guest in project "payments"`}},
		{"guest lists pods", dave, req("list", "pods", "payments", ""), true, "payments", RoleGuest, RoleGuest, nil},
		{"guest watches pods", dave, req("watch", "pods", "payments", ""), true, "payments", RoleGuest, RoleGuest, nil},
		{"guest describes a deployment", dave, req("describe", "deployments", "payments", "web"), true, "payments", RoleGuest, RoleGuest, nil},
		{"guest reads logs", dave, req("logs", "pods", "payments", "web-1"), true, "payments", RoleGuest, RoleGuest, nil},
		{"guest reads configmaps", dave, req("get", "configmaps", "payments", ""), true, "payments", RoleGuest, RoleGuest, nil},
		{"guest by user name", bob, req("get", "pods", "payments", ""), true, "payments", RoleGuest, RoleGuest, nil},
		// ... but not Secrets, exec, scale, delete
		{"guest gets secrets", dave, req("get", "secrets", "payments", ""), false, "payments", RoleAdmin, RoleGuest,
			[]string{`user "dave" is a guest in project "payments" (namespace "payments"); get secrets needs admin. Project admins: alice, group payments-leads`}},
		{"guest describes a secret", dave, req("describe", "secrets", "payments", "db"), false, "payments", RoleAdmin, RoleGuest, []string{"describe secrets/db needs admin"}},
		{"guest execs", dave, req("exec", "pods", "payments", "web-1"), false, "payments", RoleAdmin, RoleGuest, []string{"exec pods/web-1 needs admin", "Project admins: alice, group payments-leads"}},
		{"guest scales", dave, req("scale", "deployments", "payments", "web"), false, "payments", RoleAdmin, RoleGuest, nil},
		{"guest deletes", dave, req("delete", "pods", "payments", "web-1"), false, "payments", RoleAdmin, RoleGuest, nil},
		{"unknown verb needs admin", dave, req("patch", "pods", "payments", "web-1"), false, "payments", RoleAdmin, RoleGuest, nil},
		{"exec subresource needs admin", dave, Request{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: "payments", Name: "w"}, false, "payments", RoleAdmin, RoleGuest, nil},
		{"log subresource needs guest", dave, Request{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "payments", Name: "w"}, true, "payments", RoleGuest, RoleGuest, nil},
		// admin may do everything, and is a guest too
		{"admin gets secrets", alice, req("get", "secrets", "payments", ""), true, "payments", RoleAdmin, RoleAdmin, []string{`user "alice" is an admin in project "payments"`}},
		{"admin execs", alice, req("exec", "pods", "payments-staging", "w"), true, "payments", RoleAdmin, RoleAdmin, nil},
		{"admin deletes", alice, req("delete", "pods", "payments", "w"), true, "payments", RoleAdmin, RoleAdmin, nil},
		{"admin reads", alice, req("get", "pods", "payments", ""), true, "payments", RoleGuest, RoleAdmin, nil},
		{"admin by group", lead, req("scale", "deployments", "payments", "web"), true, "payments", RoleAdmin, RoleAdmin, nil},
		// admin of A is a stranger in B
		{"admin of payments in search", alice, req("get", "pods", "search-prod", ""), false, "search", RoleGuest, RoleNone,
			[]string{`user "alice" has no role in project "search" (namespace "search-prod"); get pods needs guest. Project admins: group team-search`}},
		{"glob admin", carol, req("delete", "pods", "search-prod", "x"), true, "search", RoleAdmin, RoleAdmin, nil},
		{"glob does not match the bare prefix", carol, req("get", "pods", "search", ""), false, "", RoleGuest, RoleNone, []string{`namespace "search" belongs to no project`}},
		// overlaps: the highest role in any project
		{"overlap: guest in payments, admin in shared", bob, req("exec", "pods", "payments-staging", "w"), true, "shared", RoleAdmin, RoleAdmin, nil},
		{"overlap: denial names every project", dave, req("exec", "pods", "payments-staging", "w"), false, "payments", RoleAdmin, RoleGuest,
			[]string{`projects "payments", "shared" (namespace "payments-staging")`, "Project admins: alice, group payments-leads, bob"}},
		// case-insensitive names
		{"user case", Identity{User: "ALICE"}, req("get", "secrets", "payments", ""), true, "payments", RoleAdmin, RoleAdmin, []string{`user "ALICE"`}},
		{"group case", Identity{User: "x", Groups: []string{"Team-Search"}}, req("get", "pods", "search-a", ""), true, "search", RoleGuest, RoleAdmin, nil},
		// nobody
		{"stranger", eve, req("get", "pods", "payments", ""), false, "payments", RoleGuest, RoleNone, []string{`user "eve" has no role in project "payments"`}},
		{"project without admins", eve, req("get", "pods", "orphans", ""), false, "orphans", RoleGuest, RoleNone, []string{"Project admins: none"}},
		// namespaces outside every project: super admins only
		{"no project", alice, req("get", "pods", "kube-system", ""), false, "", RoleGuest, RoleNone,
			[]string{`namespace "kube-system" belongs to no project and is reserved to super admins; user "alice" is not one. Super admins: root, group ops`}},
		{"no project, super admin", root, req("delete", "pods", "kube-system", "x"), true, "", RoleAdmin, RoleAdmin, []string{`user "root" is a super admin`}},
		{"super admin by group", opsMember, req("get", "secrets", "payments", ""), true, "payments", RoleAdmin, RoleAdmin, nil},
		{"super admin group case", Identity{User: "x", Groups: []string{"OPS"}}, req("exec", "pods", "search-a", "w"), true, "search", RoleAdmin, RoleAdmin, nil},
		// cluster-scoped kinds and all namespaces: super admins only
		{"nodes", alice, req("get", "nodes", "", ""), false, "", RoleGuest, RoleNone, []string{"get nodes without a namespace", "Super admins: root, group ops"}},
		{"all namespaces", alice, req("list", "pods", "", ""), false, "", RoleGuest, RoleNone, nil},
		{"nodes, super admin", root, req("get", "nodes", "", ""), true, "", RoleGuest, RoleAdmin, nil},
		// ... except listing namespaces, which the caller filters
		{"list namespaces", eve, req("list", "namespaces", "", ""), true, "", RoleNone, RoleNone, nil},
		{"get own namespace", dave, req("get", "namespaces", "", "payments"), true, "payments", RoleGuest, RoleGuest, nil},
		{"get other namespace", dave, req("get", "namespaces", "", "search-a"), false, "search", RoleGuest, RoleNone, nil},
		{"delete namespace", alice, req("delete", "namespaces", "", "payments"), false, "", RoleAdmin, RoleNone, []string{"cluster-wide"}},
		{"delete namespace, super admin", root, req("delete", "namespaces", "", "payments"), true, "", RoleAdmin, RoleAdmin, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.id, tt.req)
			if d.Allowed != tt.allowed || d.Project != tt.project || d.Needed != tt.needed || d.Held != tt.held {
				t.Errorf("got allowed=%v project=%q needed=%v held=%v, want %v %q %v %v\nreason: %s",
					d.Allowed, d.Project, d.Needed, d.Held, tt.allowed, tt.project, tt.needed, tt.held, d.Reason)
			}
			for _, s := range tt.reason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not contain %q", d.Reason, s)
				}
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
			if !d.Allowed && len(d.Admins) == 0 && tt.project != "orphans" {
				t.Errorf("denial names no admins: %s", d.Reason)
			}
		})
	}
}

func TestNoSuperAdmins(t *testing.T) {
	p := mustParse(t, "version: 1\nprojects: {a: {namespaces: [a], guests: {users: [u]}}}\n")
	d := p.Decide(Identity{User: "u"}, Request{Verb: "get", Resource: "pods", Namespace: "b"})
	if d.Allowed || !strings.Contains(d.Reason, "Super admins: none") {
		t.Errorf("got %+v", d)
	}
}

func TestVisibility(t *testing.T) {
	p := mustParse(t, basePolicy)
	all := []string{"default", "kube-system", "orphans", "payments", "payments-staging", "search-a", "search-b", "shared"}
	tests := []struct {
		id   Identity
		want []string
	}{
		{Identity{User: "dave", Groups: []string{"qa"}}, []string{"payments", "payments-staging"}},
		{Identity{User: "carol", Groups: []string{"TEAM-SEARCH"}}, []string{"search-a", "search-b"}},
		{Identity{User: "bob"}, []string{"payments", "payments-staging", "shared"}},
		{Identity{User: "eve"}, []string{}},
		{Identity{User: "root"}, all},
	}
	for _, tt := range tests {
		got := p.NamespacesVisible(tt.id, all)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: NamespacesVisible = %v, want %v", tt.id.User, got, tt.want)
		}
		for _, ns := range all {
			if p.Visible(tt.id, ns) != slices.Contains(tt.want, ns) {
				t.Errorf("%s: Visible(%s) disagrees with NamespacesVisible", tt.id.User, ns)
			}
		}
	}
	if !p.IsSuperAdmin(Identity{User: "x", Groups: []string{"Ops"}}) || p.IsSuperAdmin(Identity{User: "alice"}) {
		t.Error("IsSuperAdmin")
	}
	if r := p.RoleIn(Identity{User: "bob"}, "payments-staging"); r != RoleAdmin {
		t.Errorf("RoleIn = %v", r)
	}
}

func TestProjectsOf(t *testing.T) {
	p := mustParse(t, basePolicy)
	got := p.ProjectsOf(Identity{User: "Bob", Groups: []string{"team-search"}})
	want := []Membership{
		{Project: "payments", Role: RoleGuest, Namespaces: []string{"payments", "payments-staging"}},
		{Project: "search", Role: RoleAdmin, Namespaces: []string{"search-*"}},
		{Project: "shared", Role: RoleAdmin, Namespaces: []string{"shared", "pay*-staging"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range got {
		if got[i].Project != want[i].Project || got[i].Role != want[i].Role || !slices.Equal(got[i].Namespaces, want[i].Namespaces) {
			t.Errorf("got %+v, want %+v", got[i], want[i])
		}
	}
	if n := len(p.ProjectsOf(Identity{User: "root"})); n != 4 {
		t.Errorf("super admin sees %d projects, want all 4", n)
	}
	if n := len(p.ProjectsOf(Identity{User: "nobody"})); n != 0 {
		t.Errorf("stranger sees %d projects", n)
	}
	pr, ok := p.ProjectByName("shared")
	if !ok || pr.DefaultNamespace() != "shared" || !pr.Matches("payments-staging") || pr.Matches("payments") {
		t.Errorf("ProjectByName(shared) = %+v, %v", pr, ok)
	}
	if pr, _ := p.ProjectByName("search"); pr.DefaultNamespace() != "" {
		t.Error("a glob is not a default namespace")
	}
}

func TestOverlaps(t *testing.T) {
	p := mustParse(t, `
version: 1
projects:
  a: {namespaces: [web, "api-*", "x-[ab]c"]}
  b: {namespaces: ["*-staging", web]}
  c: {namespaces: [api-internal, "x-?d"]}
  d: {namespaces: ["api-*"]}
`)
	var got []string
	for _, o := range p.Overlaps() {
		if !o.matchesBoth(p) {
			t.Errorf("example %q does not match both of %+v", o.Example, o)
		}
		got = append(got, o.A.Project+":"+o.A.Pattern+" "+o.B.Project+":"+o.B.Pattern)
	}
	want := []string{
		"a:api-* b:*-staging",
		"a:api-* c:api-internal",
		"a:api-* d:api-*",
		"a:web b:web",
		"b:*-staging d:api-*",
		"c:api-internal d:api-*",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Overlaps:\n got %q\nwant %q", got, want)
	}
}

func (o Overlap) matchesBoth(p *Policy) bool {
	a, _ := p.ProjectByName(o.A.Project)
	b, _ := p.ProjectByName(o.B.Project)
	return a.Matches(o.Example) && b.Matches(o.Example)
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, ns string
		want        bool
	}{
		{"payments-*", "payments-", true},
		{"payments-*", "payments-a-b", true},
		{"payments-*", "payments", false},
		{"*", "anything", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"x-[ab]", "x-b", true},
		{"x-[ab]", "x-c", false},
		{"x-[!ab]", "x-c", true},
		{"x-[^ab]", "x-a", false},
		{"x-[a-c]", "x-b", true},
		{"x-[0-9]*", "x-7z", true},
		{"*-staging", "PAY-staging", false},
		{"a**b", "ab", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := g.match(tt.ns); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.ns, got, tt.want)
		}
	}
	for _, bad := range []string{"pay[ments", "a[]", "a[z-a]", "A*", "a/b*", "x[!-a-z0-9]"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}

// TestDecideWording pins the words of denials a user reads: what they ran,
// not how it is decided.
func TestDecideWording(t *testing.T) {
	p := mustParse(t, basePolicy)
	bob := Identity{User: "bob", Groups: []string{"qa"}}
	alice := Identity{User: "alice"}
	tests := []struct {
		name string
		id   Identity
		req  Request
		want string
	}{
		{"port-forward", Identity{User: "dave", Groups: []string{"qa"}},
			Request{Verb: VerbExec, Resource: "pods", Subresource: "portforward", Namespace: "payments", Name: "web-1"},
			`user "dave" is a guest in project "payments" (namespace "payments"); port-forward pods/web-1 needs admin. Project admins: alice, group payments-leads`},
		{"attach", Identity{User: "dave", Groups: []string{"qa"}},
			Request{Verb: VerbExec, Resource: "pods", Subresource: "attach", Namespace: "payments", Name: "web-1"},
			`user "dave" is a guest in project "payments" (namespace "payments"); attach pods/web-1 needs admin. Project admins: alice, group payments-leads`},
		{"exec keeps its words", Identity{User: "dave", Groups: []string{"qa"}},
			Request{Verb: VerbExec, Resource: "pods", Subresource: "exec", Namespace: "payments", Name: "web-1"},
			`exec pods/web-1 (exec) needs admin`},
		{"delete a namespace", alice, Request{Verb: VerbDelete, Resource: "namespaces", Name: "payments"},
			`delete namespaces/payments acts on a cluster-wide object and is reserved to super admins; user "alice" is not one. Super admins: root, group ops`},
		{"a named cluster-scoped object", bob, Request{Verb: VerbGet, Resource: "nodes", Name: "n1"},
			`get nodes/n1 acts on a cluster-wide object and is reserved to super admins`},
		{"a list without a namespace keeps its words", bob, Request{Verb: VerbList, Resource: "pods"},
			`list pods without a namespace (cluster-wide, or across all namespaces) is reserved to super admins`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.id, tt.req)
			if d.Allowed || !strings.Contains(d.Reason, tt.want) {
				t.Errorf("reason %q\n  want %q", d.Reason, tt.want)
			}
			if strings.Contains(d.Reason, "(portforward)") || (tt.req.Name != "" && strings.Contains(d.Reason, "without a namespace")) {
				t.Errorf("reason %q uses the engine's words", d.Reason)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	p := mustParse(t, basePolicy)
	search, _ := p.ProjectByName("search")
	shared, _ := p.ProjectByName("shared")
	pay, _ := p.ProjectByName("payments")
	cluster := []string{"search-prod", "default", "search-dev", "payments-staging", "shared"}
	if got := search.Expand(cluster); !slices.Equal(got, []string{"search-dev", "search-prod"}) {
		t.Errorf("search: %q", got)
	}
	if got := shared.Expand(cluster); !slices.Equal(got, []string{"shared", "payments-staging"}) {
		t.Errorf("shared: %q", got)
	}
	if got := pay.Expand(nil); !slices.Equal(got, []string{"payments", "payments-staging"}) || pay.HasPattern() || !search.HasPattern() {
		t.Errorf("payments: %q", got)
	}
	if got := search.Expand(nil); len(got) != 0 {
		t.Errorf("search without the cluster: %q", got)
	}
}

// A kind of Kubernetes' own groups is named without its group, a custom
// resource with it.
func TestDecideWordingGroups(t *testing.T) {
	p := mustParse(t, basePolicy)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Verb: VerbExec, Resource: "deployments", Group: "apps", Name: "web", Namespace: "payments"}, "exec deployments/web needs"},
		{Request{Verb: VerbDelete, Resource: "ingresses", Group: "networking.k8s.io", Name: "web", Namespace: "payments"}, "delete ingresses/web needs"},
		{Request{Verb: VerbDelete, Resource: "widgets", Group: "kgate.test", Name: "big", Namespace: "payments"}, "delete widgets.kgate.test/big needs"},
	} {
		if d := p.Decide(Identity{User: "bob"}, tc.req); !strings.Contains(d.Reason, tc.want) {
			t.Errorf("%+v: %q lacks %q", tc.req, d.Reason, tc.want)
		}
	}
}
