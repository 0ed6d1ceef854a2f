package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const v2Policy = `version: 2
clusters:
  test: {context: kind-test}
  prod: {gateway: "https://kgate.prod.example:8443/"}
superAdmins: {groups: [ops]}
sensitiveKinds: [secrets, certificates.cert-manager.io]
projects:
  payments:
    namespaces: [payments]
    admins: {groups: [payments-leads]}
    clusters:
      test:
        admins: {groups: [team-payments]}
      prod:
        namespaces: [payments, "payments-prod-*"]
        guests: {groups: [team-payments]}
  sandbox:
    clusters:
      test:
        namespaces: [sandbox]
        admins: {users: [alice]}
  search:
    namespaces: [search]
    guests: {users: [bob]}
`

func TestClustersAndViews(t *testing.T) {
	p := mustParse(t, v2Policy)
	want := []Cluster{{Name: "test", Context: "kind-test"}, {Name: "prod", Gateway: "https://kgate.prod.example:8443"}}
	if got := p.Clusters(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Clusters() = %+v, want %+v", got, want)
	}
	alice := Identity{User: "alice", Groups: []string{"team-payments"}}
	exec := Request{Verb: VerbExec, Resource: "pods", Subresource: "exec", Namespace: "payments", Name: "web"}

	test, err := p.ForCluster("test")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := p.ForCluster("prod")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := p.ForCluster("test"); again != test {
		t.Error("ForCluster built the view twice")
	}
	if v, _ := test.ForCluster("test"); v != test {
		t.Error("a view's ForCluster of its own cluster is not itself")
	}
	if v, _ := test.ForCluster("prod"); v != prod {
		t.Error("a view's ForCluster of another cluster is not that cluster's view")
	}
	if test.Cluster() != "test" || prod.Cluster() != "prod" || p.Cluster() != "" {
		t.Errorf("Cluster() = %q, %q, %q", test.Cluster(), prod.Cluster(), p.Cluster())
	}
	if !reflect.DeepEqual(test.Clusters(), want) {
		t.Error("a view does not list the policy's clusters")
	}

	d := test.Decide(alice, exec)
	if !d.Allowed || d.Held != RoleAdmin || d.Cluster != "test" {
		t.Errorf("test: %+v", d)
	}
	d = prod.Decide(alice, exec)
	if d.Allowed || d.Held != RoleGuest || d.Cluster != "prod" {
		t.Errorf("prod: %+v", d)
	}
	if !strings.Contains(d.Reason, `(namespace "payments", cluster "prod")`) || !strings.Contains(d.Reason, "group payments-leads") {
		t.Errorf("prod reason: %s", d.Reason)
	}
	// payments-leads are admins everywhere.
	lead := Identity{User: "carol", Groups: []string{"Payments-Leads"}}
	for _, v := range []*Policy{test, prod} {
		if d := v.Decide(lead, exec); !d.Allowed {
			t.Errorf("%s: lead refused: %s", v.Cluster(), d.Reason)
		}
	}
	// prod's namespaces replace the project's; test keeps them.
	if r := prod.RoleIn(alice, "payments-prod-eu"); r != RoleGuest {
		t.Errorf("prod payments-prod-eu: %v", r)
	}
	if r := test.RoleIn(alice, "payments-prod-eu"); r != RoleNone {
		t.Errorf("test payments-prod-eu: %v", r)
	}
	// sandbox is only in test.
	if _, ok := prod.ProjectByName("sandbox"); ok {
		t.Error("sandbox in prod")
	}
	if r := test.RoleIn(Identity{User: "ALICE"}, "sandbox"); r != RoleAdmin {
		t.Errorf("test sandbox: %v", r)
	}
	d = prod.Decide(Identity{User: "alice"}, Request{Verb: VerbGet, Resource: "pods", Namespace: "sandbox"})
	if d.Allowed || !strings.Contains(d.Reason, `namespace "sandbox" belongs to no project in cluster "prod"`) {
		t.Errorf("prod sandbox: %s", d.Reason)
	}
	d = prod.Decide(Identity{User: "alice"}, Request{Verb: VerbGet, Resource: "nodes", ClusterScoped: true})
	if d.Allowed || !strings.Contains(d.Reason, `get nodes in cluster "prod": nodes are cluster-scoped`) {
		t.Errorf("prod nodes: %s", d.Reason)
	}
	// search has no per-cluster settings: the same everywhere.
	for _, v := range []*Policy{test, prod} {
		if r := v.RoleIn(Identity{User: "bob"}, "search"); r != RoleGuest {
			t.Errorf("%s search: %v", v.Cluster(), r)
		}
		if !v.IsSensitive("certificates", "cert-manager.io") || !v.IsSuperAdmin(Identity{User: "x", Groups: []string{"ops"}}) {
			t.Errorf("%s lost the policy's sensitive kinds or super admins", v.Cluster())
		}
	}

	// The merged members read as a v1 project's.
	pr, _ := test.ProjectByName("payments")
	if got := pr.AdminList(); !reflect.DeepEqual(got, []string{"group payments-leads", "group team-payments"}) {
		t.Errorf("test payments admins: %v", got)
	}

	_, err = p.ForCluster("staging")
	var ue *UnknownClusterError
	if !errors.As(err, &ue) || err.Error() != `the policy names no cluster "staging" (its clusters: test, prod)` {
		t.Errorf("unknown cluster: %v", err)
	}
	if _, err := test.ForCluster("nope"); !errors.As(err, &ue) {
		t.Errorf("view, unknown cluster: %v", err)
	}
}

func TestProjectsByCluster(t *testing.T) {
	p := mustParse(t, v2Policy)
	got := p.ProjectsByCluster(Identity{User: "alice", Groups: []string{"team-payments"}})
	type row struct {
		c, p string
		r    Role
	}
	var rows []row
	for _, m := range got {
		rows = append(rows, row{m.Cluster, m.Project, m.Role})
	}
	want := []row{{"test", "payments", RoleAdmin}, {"test", "sandbox", RoleAdmin}, {"prod", "payments", RoleGuest}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("ProjectsByCluster = %+v, want %+v", rows, want)
	}
	if got[2].Namespaces[1] != "payments-prod-*" {
		t.Errorf("prod namespaces: %v", got[2].Namespaces)
	}
}

func TestVersion1MeansEveryCluster(t *testing.T) {
	p := mustParse(t, "version: 1\nprojects:\n  p:\n    namespaces: [p]\n    admins: {users: [alice]}\n")
	for _, name := range []string{"test", "prod", "anything"} {
		v, err := p.ForCluster(name)
		if err != nil || v != p {
			t.Fatalf("ForCluster(%q) = %p, %v; want the policy itself", name, v, err)
		}
	}
	if p.Clusters() != nil || p.Cluster() != "" {
		t.Errorf("a v1 policy has clusters: %v", p.Clusters())
	}
	d := p.Decide(Identity{User: "bob"}, Request{Verb: VerbGet, Resource: "pods", Namespace: "p"})
	if strings.Contains(d.Reason, "cluster") || d.Cluster != "" {
		t.Errorf("a v1 denial names a cluster: %s", d.Reason)
	}
	if ms := p.ProjectsByCluster(Identity{User: "alice"}); len(ms) != 1 || ms[0].Cluster != "" || ms[0].Role != RoleAdmin {
		t.Errorf("ProjectsByCluster: %+v", ms)
	}
}

func TestClusterParseErrors(t *testing.T) {
	const head = "version: 2\nclusters:\n  test: {context: t}\n  prod: {gateway: \"https://gw\"}\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no clusters", "version: 2\nprojects: {}\n",
			[]string{"policy.yaml:1: clusters: missing; a version-2 policy lists its clusters (or use `version: 1`, which means every cluster)"}},
		{"empty clusters", "version: 2\nclusters: {}\n", []string{"policy.yaml:2: clusters: empty; a version-2 policy names at least one cluster"}},
		{"clusters in v1", "version: 1\nclusters:\n  test: {context: t}\n",
			[]string{"policy.yaml:2: clusters: clusters need `version: 2`; a version-1 policy means every cluster"}},
		{"project clusters in v1", "version: 1\nprojects:\n  p:\n    namespaces: [p]\n    clusters: {test: {}}\n",
			[]string{"policy.yaml:5: projects.p.clusters: per-cluster settings need `version: 2`; a version-1 policy means every cluster"}},
		{"bad cluster name", "version: 2\nclusters:\n  Prod/1: {context: t}\n",
			[]string{`policy.yaml:3: clusters.Prod/1: invalid cluster name "Prod/1": use lower-case letters, digits and '-' (at most 63)`}},
		{"dot-dot cluster name", "version: 2\nclusters:\n  \"..\": {context: t}\n",
			[]string{`policy.yaml:3: clusters...: invalid cluster name "..": use lower-case letters, digits and '-' (at most 63)`}},
		{"both", "version: 2\nclusters:\n  test: {context: t, gateway: \"https://gw\"}\n",
			[]string{"policy.yaml:3: clusters.test: give context or gateway, not both"}},
		{"neither", "version: 2\nclusters:\n  test: {}\n",
			[]string{"policy.yaml:3: clusters.test: missing how the cluster is reached: `context: KUBECONFIG-CONTEXT` or `gateway: https://GATEWAY`"}},
		{"null cluster", "version: 2\nclusters:\n  test:\n",
			[]string{"policy.yaml:3: clusters.test: missing how the cluster is reached: `context: KUBECONFIG-CONTEXT` or `gateway: https://GATEWAY`"}},
		{"empty context", "version: 2\nclusters:\n  test: {context: \"\"}\n",
			[]string{`policy.yaml:3: clusters.test.context: want a kubeconfig context name, got ""`}},
		{"http gateway", "version: 2\nclusters:\n  test: {gateway: \"http://gw\"}\n",
			[]string{`policy.yaml:3: clusters.test.gateway: "http://gw" is not a gateway URL: want https://HOST[:PORT][/PATH]`}},
		{"gateway with user", "version: 2\nclusters:\n  test: {gateway: \"https://u:p@gw\"}\n",
			[]string{`policy.yaml:3: clusters.test.gateway: "https://u:p@gw" is not a gateway URL: want https://HOST[:PORT][/PATH]`}},
		{"unknown cluster field", "version: 2\nclusters:\n  test: {context: t, server: x}\n",
			[]string{"policy.yaml:3: clusters.test.server: unknown field (known: context, gateway)"}},
		{"duplicate cluster", "version: 2\nclusters:\n  test: {context: t}\n  test: {context: u}\n",
			[]string{"policy.yaml:4: clusters.test: defined twice (first on line 3)"}},
		{"unknown project cluster", head + "projects:\n  p:\n    namespaces: [p]\n    clusters:\n      staging: {admins: {users: [a]}}\n",
			[]string{`policy.yaml:9: projects.p.clusters.staging: unknown cluster "staging" (the policy's clusters: test, prod)`}},
		{"unknown project cluster field", head + "projects:\n  p:\n    namespaces: [p]\n    clusters:\n      test: {owners: {}}\n",
			[]string{"policy.yaml:9: projects.p.clusters.test.owners: unknown field (known: namespaces, admins, guests)"}},
		{"empty cluster namespaces", head + "projects:\n  p:\n    namespaces: [p]\n    clusters:\n      test: {namespaces: []}\n",
			[]string{"policy.yaml:9: projects.p.clusters.test.namespaces: empty; leave the field out to keep the project's namespaces in this cluster"}},
		{"bad cluster namespace", head + "projects:\n  p:\n    namespaces: [p]\n    clusters:\n      test: {namespaces: [P]}\n",
			[]string{`policy.yaml:9: projects.p.clusters.test.namespaces[0]: invalid namespace "P": use lower-case letters, digits and '-' only`}},
		{"system glob in cluster", head + "projects:\n  p:\n    namespaces: [p]\n    clusters:\n      test: {namespaces: [\"kube-*\"]}\n",
			[]string{`policy.yaml:9: projects.p.clusters.test.namespaces[0]: the pattern "kube-*" matches the system namespace`}},
		{"no namespaces anywhere", head + "projects:\n  p:\n    clusters:\n      test: {admins: {users: [a]}}\n",
			[]string{"policy.yaml:6: projects.p.namespaces: missing; a project needs at least one namespace, of its own or in one of its clusters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("policy.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not a *policy.Error: %v", err)
			}
			if len(pe.Problems) != len(tt.want) {
				t.Fatalf("problems:\n%v\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			for i, w := range tt.want {
				if got := pe.Problems[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got, w)
				}
			}
		})
	}
}

func TestBinaryRoundTripV2(t *testing.T) {
	p := mustParse(t, v2Policy)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Clusters(), p.Clusters()) || q.Version != 2 {
		t.Fatalf("clusters: %+v", q.Clusters())
	}
	alice := Identity{User: "alice", Groups: []string{"team-payments"}}
	for _, c := range []string{"test", "prod"} {
		a, _ := p.ForCluster(c)
		b, err := q.ForCluster(c)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.ProjectsOf(alice), b.ProjectsOf(alice)) {
			t.Errorf("%s: %+v != %+v", c, a.ProjectsOf(alice), b.ProjectsOf(alice))
		}
		for _, ns := range []string{"payments", "payments-prod-x", "sandbox", "search"} {
			if a.RoleIn(alice, ns) != b.RoleIn(alice, ns) {
				t.Errorf("%s %s: %v != %v", c, ns, a.RoleIn(alice, ns), b.RoleIn(alice, ns))
			}
		}
	}
	// A view encodes the whole policy.
	v, _ := p.ForCluster("prod")
	if vb, _ := v.MarshalBinary(); string(vb) != string(b) {
		t.Error("a view does not encode its policy")
	}
	// Every truncation is refused, never a panic or a partial policy. (The
	// sensitive kinds are an optional trailer: leave them out here.)
	b, _ = mustParse(t, strings.Replace(v2Policy, "sensitiveKinds: [secrets, certificates.cert-manager.io]\n", "", 1)).MarshalBinary()
	for i := range b {
		var r Policy
		if err := r.UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("truncated at %d: decoded", i)
		}
	}
}

func TestInClusterNamesTheClusterOfAV1Policy(t *testing.T) {
	p := mustParse(t, "version: 1\nprojects:\n  p:\n    namespaces: [p]\n    guests: {users: [bob]}\n")
	v, err := p.InCluster("prod")
	if err != nil || v == p || v.Cluster() != "prod" {
		t.Fatalf("InCluster: %p %v %q", v, err, v.Cluster())
	}
	d := v.Decide(Identity{User: "bob"}, Request{Verb: VerbExec, Resource: "pods", Subresource: "exec", Namespace: "p"})
	if d.Allowed || d.Cluster != "prod" || !strings.Contains(d.Reason, `cluster "prod"`) {
		t.Errorf("decision: %+v", d)
	}
	if w, _ := v.ForCluster("test"); w != p {
		t.Error("the copy's ForCluster of another name is not the policy")
	}
	a, _ := v.MarshalBinary()
	b, _ := p.MarshalBinary()
	if string(a) != string(b) {
		t.Error("the copy encodes differently")
	}
	v2 := mustParse(t, v2Policy)
	x, _ := v2.InCluster("prod")
	y, _ := v2.ForCluster("prod")
	if x != y {
		t.Error("InCluster of a v2 policy is not ForCluster")
	}
}
