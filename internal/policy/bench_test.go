package policy

import (
	"fmt"
	"strings"
	"testing"
)

// bigPolicy generates a policy of n projects, each with two exact
// namespaces and one glob, admins and guests by user and group.
func bigPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nsuperAdmins:\n  groups: [ops]\nprojects:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  project-%d:\n    namespaces: [p%d, p%d-staging, \"p%d-dev-*\"]\n", i, i, i, i)
		fmt.Fprintf(&b, "    admins: {users: [admin%d], groups: [leads-%d]}\n", i, i)
		fmt.Fprintf(&b, "    guests: {users: [guest%d, guest%d], groups: [team-%d, qa]}\n", i, i+1, i)
	}
	return []byte(b.String())
}

func BenchmarkParse10kProjects(b *testing.B) {
	data := bigPolicy(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("policy.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	p, err := Parse("policy.yaml", bigPolicy(10000))
	if err != nil {
		b.Fatal(err)
	}
	groups := []string{"engineering", "team-4242", "vpn-users", "qa", "developers", "all-staff", "oncall", "building-3"}
	cases := []struct {
		name string
		id   Identity
		req  Request
	}{
		{"guest-allowed", Identity{User: "someone", Groups: groups}, Request{Verb: "get", Resource: "pods", Namespace: "p4242"}},
		{"glob-admin", Identity{User: "admin4242"}, Request{Verb: "exec", Resource: "pods", Namespace: "p4242-dev-x", Name: "web-1"}},
		{"denied", Identity{User: "someone", Groups: groups}, Request{Verb: "exec", Resource: "pods", Namespace: "p4242", Name: "web-1"}},
		{"no-project", Identity{User: "someone", Groups: groups}, Request{Verb: "get", Resource: "pods", Namespace: "kube-system"}},
		{"super-admin", Identity{User: "root", Groups: []string{"OPS"}}, Request{Verb: "delete", Resource: "pods", Namespace: "p17", Name: "x"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(c.id, c.req)
			}
		})
	}
}

// BenchmarkLoad10kProjects is what the cache does on every command: decode
// and compile the binary form of a validated policy.
func BenchmarkLoad10kProjects(b *testing.B) {
	p, err := Parse("policy.yaml", bigPolicy(10000))
	if err != nil {
		b.Fatal(err)
	}
	bin, err := p.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	for b.Loop() {
		var q Policy
		if err := q.UnmarshalBinary(bin); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverlapsHostile300 is `kgate policy check` on 300 projects that
// share a backtracking-prone glob (14–21 s before the product automaton
// and the cache of pattern pairs).
func BenchmarkOverlapsHostile300(b *testing.B) {
	p, err := Parse("policy.yaml", []byte(hostilePolicy(300)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Overlaps()
	}
}
