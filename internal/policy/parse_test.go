package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // one line per problem
	}{
		{"empty", "", []string{"policy.yaml: the policy is empty"}},
		{"comments only", "# nothing\n", []string{"policy.yaml: the policy is empty"}},
		{"syntax", "version: 1\nprojects: [\n", []string{"policy.yaml:2: did not find expected node content"}},
		{"not a mapping", "- a\n", []string{"policy.yaml:1: want a mapping, got a list"}},
		{"no version", "projects: {}\n", []string{"policy.yaml:1: version: missing; add `version: 1` (no clusters: every cluster) or `version: 2` (with clusters)"}},
		{"bad version", "version: 3\n", []string{`policy.yaml:1: version: unsupported version "3"; this kgate reads versions 1 and 2`}},
		{"unknown top-level field", "version: 1\nsuperadmins: {}\n", []string{"policy.yaml:2: superadmins: unknown field (known: version, clusters, superAdmins, sensitiveKinds, projects)"}},
		{"unknown project field", "version: 1\nprojects:\n  p:\n    namespaces: [p]\n    owners: {}\n",
			[]string{"policy.yaml:5: projects.p.owners: unknown field (known: namespaces, admins, guests, systemNamespaces, clusters)"}},
		{"unknown members field", "version: 1\nsuperAdmins:\n  user: [x]\n", []string{"policy.yaml:3: superAdmins.user: unknown field (known: users, groups)"}},
		{"bad glob", "version: 1\nprojects:\n  payments:\n    namespaces:\n      - payments\n      - pay[ments\n",
			[]string{`policy.yaml:6: projects.payments.namespaces[1]: invalid glob "pay[ments": unclosed '['`}},
		{"bad namespace", "version: 1\nprojects:\n  p:\n    namespaces: [Payments]\n",
			[]string{`policy.yaml:4: projects.p.namespaces[0]: invalid namespace "Payments": use lower-case letters, digits and '-' only`}},
		{"empty namespace", "version: 1\nprojects:\n  p:\n    namespaces: [\"\"]\n",
			[]string{`policy.yaml:4: projects.p.namespaces[0]: want a namespace name or pattern, got ""`}},
		{"no namespaces", "version: 1\nprojects:\n  p:\n    admins: {users: [a]}\n",
			[]string{"policy.yaml:3: projects.p.namespaces: missing; a project needs at least one namespace"}},
		{"empty namespaces", "version: 1\nprojects:\n  p:\n    namespaces: []\n",
			[]string{"policy.yaml:4: projects.p.namespaces: empty; a project needs at least one namespace"}},
		{"null project", "version: 1\nprojects:\n  p:\n", []string{"policy.yaml:3: projects.p.namespaces: missing; a project needs at least one namespace"}},
		{"empty project name", "version: 1\nprojects:\n  \"\": {namespaces: [a]}\n", []string{"policy.yaml:3: projects: empty project name"}},
		{"bad project name", "version: 1\nprojects:\n  \"a b\": {namespaces: [a]}\n",
			[]string{`policy.yaml:3: projects.a b: invalid project name "a b": use letters, digits, '.', '_' and '-'`}},
		{"duplicate project", "version: 1\nprojects:\n  p: {namespaces: [a]}\n  p: {namespaces: [b]}\n",
			[]string{"policy.yaml:4: projects.p: defined twice (first on line 3)"}},
		{"users not a list", "version: 1\nsuperAdmins: {users: root}\n", []string{`policy.yaml:2: superAdmins.users: want a list, got "root"`}},
		{"empty user", "version: 1\nsuperAdmins: {groups: [ops, \" \"]}\n", []string{"policy.yaml:2: superAdmins.groups[1]: empty name"}},
		{"nested user", "version: 1\nsuperAdmins: {groups: [[ops]]}\n", []string{"policy.yaml:2: superAdmins.groups[0]: want a name, got a list"}},
		{"two documents", "version: 1\n---\nversion: 1\n", []string{"policy.yaml:2: more than one YAML document; a policy is one document"}},
		{"several problems", "version: 3\nprojects:\n  a: {namespaces: [\"[\"]}\n  b: {namespaces: [ok], extra: 1}\n", []string{
			`policy.yaml:1: version: unsupported version "3"; this kgate reads versions 1 and 2`,
			`policy.yaml:3: projects.a.namespaces[0]: invalid glob "[": unclosed '['`,
			"policy.yaml:4: projects.b.extra: unknown field (known: namespaces, admins, guests, systemNamespaces, clusters)",
		}},
		{"alias bomb", aliasBomb(), []string{"too many nodes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("policy.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *policy.Error", err)
			}
			got := strings.Split(err.Error(), "\n")
			if tt.name == "alias bomb" {
				if !strings.Contains(err.Error(), tt.want[0]) {
					t.Fatalf("got %q", err)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems:\n%s\nwant:\n%s", len(got), err, strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// aliasBomb is a small document whose aliases expand to millions of nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("version: 1\nx: &p {namespaces: [")
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&b, "n%d,", i)
	}
	b.WriteString("]}\nprojects:\n")
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&b, "  p%d: *p\n", i)
	}
	return b.String()
}

func TestParseValid(t *testing.T) {
	p := mustParse(t, `
# comments, aliases, quoted and numeric names, nulls
version: 1
superAdmins:
  users: &sre [Root, "007"]
projects:
  payments:
    namespaces: [payments, "payments-*"]
    admins: {users: *sre}
    guests:
  empty-roles:
    namespaces: [lonely]
`)
	if p.Version != 1 || len(p.Projects) != 2 || p.Projects[0].Name != "empty-roles" {
		t.Fatalf("got %+v", p)
	}
	if !p.IsSuperAdmin(Identity{User: "root"}) || !p.IsSuperAdmin(Identity{User: "007"}) {
		t.Error("super admins")
	}
	pay, _ := p.ProjectByName("payments")
	if len(pay.Admins.Users) != 2 || pay.Admins.Users[0] != "Root" {
		t.Errorf("admins: %+v", pay.Admins)
	}
	if d := p.Decide(Identity{User: "007"}, Request{Verb: "exec", Resource: "pods", Namespace: "payments-x"}); !d.Allowed {
		t.Error(d.Reason)
	}
	if len(p.Overlaps()) != 0 {
		t.Errorf("overlaps within one project: %+v", p.Overlaps())
	}
	p = mustParse(t, "version: 1\n")
	if d := p.Decide(Identity{User: "a"}, Request{Verb: "get", Resource: "pods", Namespace: "a"}); d.Allowed {
		t.Error("an empty policy allows")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(basePolicy))
	f.Add([]byte("version: 1\nprojects:\n  a: {namespaces: [\"a-*\", \"[!x]?\"]}\n"))
	f.Add([]byte("version: 1\nsuperAdmins: {users: &a [x]}\nprojects: {p: {namespaces: *a, admins: {groups: *a}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %v is not a *policy.Error with problems", err)
			}
			return
		}
		id := Identity{User: "x", Groups: []string{"y"}}
		for _, pr := range p.Projects {
			for _, ns := range pr.Namespaces {
				p.Decide(id, Request{Verb: "get", Resource: "pods", Namespace: ns})
			}
			if len(pr.Namespaces) == 0 {
				t.Fatalf("project %q without namespaces", pr.Name)
			}
		}
		p.Overlaps()
		p.ProjectsOf(id)
	})
}
