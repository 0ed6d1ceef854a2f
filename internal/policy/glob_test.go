package policy

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// globRegexp is a reference matcher: the same glob as a regular expression
// (Go's regexp is an automaton too, but written by someone else).
func globRegexp(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString("[a-z0-9-]*")
		case '?':
			b.WriteString("[a-z0-9-]")
		case '[':
			j := strings.IndexByte(pattern[i+2:], ']') + i + 2
			class := pattern[i+1 : j]
			if class[0] == '!' || class[0] == '^' {
				b.WriteString("[^" + class[1:] + "]")
			} else {
				b.WriteString("[" + class + "]")
			}
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestGlobMatchesLikeARegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"*", "?", "a", "b", "-", "[ab]", "[!a]", "[0-9]", "*?", "?*"}
	chars := "ab-0z"
	for n := 0; n < 3000; n++ {
		var pb strings.Builder
		for k := r.IntN(7); k >= 0; k-- {
			pb.WriteString(pieces[r.IntN(len(pieces))])
		}
		pattern := pb.String()
		g, err := compileGlob(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		re := globRegexp(t, pattern)
		for m := 0; m < 20; m++ {
			var sb strings.Builder
			for k := r.IntN(9); k > 0; k-- {
				sb.WriteByte(chars[r.IntN(len(chars))])
			}
			ns := sb.String()
			if got, want := g.match(ns), re.MatchString(ns); got != want {
				t.Fatalf("%q matches %q = %v, the regexp says %v", pattern, ns, got, want)
			}
		}
	}
}

func TestGlobFoldsStarsAndBoundsLength(t *testing.T) {
	g, err := compileGlob("*?*?*?*?*?*?*?*?-*")
	if err != nil {
		t.Fatal(err)
	}
	// Folded: eight '?', one '*', '-', '*'.
	if len(g.rest) != 11 {
		t.Errorf("%d tokens, want 11", len(g.rest))
	}
	if !g.match("abcdefgh-x") || g.match("abcdefg-x") {
		t.Error("folding changed what the pattern matches")
	}
	if _, err := compileGlob(strings.Repeat("*", 100000)); err == nil {
		t.Error("a pattern of 100,000 characters compiled")
	}
	g, err = compileGlob(strings.Repeat("*", 1000))
	if err != nil || len(g.rest) != 1 || !g.match("x") {
		t.Errorf("1,000 stars: %v, %d tokens", err, len(g.rest))
	}
	_, err = compileGlob(strings.Repeat("?", 64) + "*")
	if err == nil || !strings.Contains(err.Error(), "matches nothing") {
		t.Errorf("64 '?': %v", err)
	}
	if _, err := compileGlob(strings.Repeat("?*", 63)); err != nil {
		t.Errorf("63 '?*': %v", err)
	}
}

func TestGlobMatchIsLinear(t *testing.T) {
	// The classic backtracking pattern: many stars, a name that almost
	// matches. Each character costs one step of a bitset, whatever the
	// pattern, so this is as quick as any other match.
	g, err := compileGlob(strings.Repeat("a*", 31) + "b")
	if err != nil {
		t.Fatal(err)
	}
	ns := strings.Repeat("a", 63)
	allocs := testing.AllocsPerRun(100, func() {
		if g.match(ns) {
			t.Fatal("matched")
		}
	})
	if allocs != 0 {
		t.Errorf("a match allocates %v times", allocs)
	}
}

// hostilePolicy is n projects that all name the same backtracking-prone
// glob and one glob of their own.
func hostilePolicy(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  p%d:\n    systemNamespaces: allow\n    namespaces: [\"*?*?*?*?*?*?*?*?-*\", \"team%d-*\"]\n    admins: {users: [u%d]}\n", i, i, i)
	}
	return b.String()
}

func TestOverlapsOfManyHostilePatternsAreCheap(t *testing.T) {
	p := mustParse(t, hostilePolicy(300))
	var ov []Overlap
	// Each distinct pair of patterns is intersected once, in a dense
	// product automaton: the work (and so the allocations) grows with the
	// number of distinct patterns, not with the pairs of projects. The
	// pairs themselves are the answer: 300·299/2 + 300·299 of them.
	allocs := testing.AllocsPerRun(1, func() { ov = p.Overlaps() })
	if want := 300*299/2 + 300*299; len(ov) != want {
		t.Errorf("%d overlaps, want %d", len(ov), want)
	}
	for _, o := range ov[:50] {
		if !o.matchesBoth(p) {
			t.Errorf("example %q does not match both of %+v", o.Example, o)
		}
	}
	// Before: a map per pair, about 2 million allocations.
	if allocs > 20000 {
		t.Errorf("Overlaps allocated %v times", allocs)
	}
}

func TestSystemNamespacesNeedAllow(t *testing.T) {
	for _, pat := range []string{"*", "kube-*", "d*", "*-system", "kube-?ublic", "*lease", "[d]efault", "*?*?*?*?*?*?*?*?-*", "de*ult"} {
		doc := fmt.Sprintf("version: 1\nprojects:\n  p:\n    namespaces: [%q]\n", pat)
		_, err := Parse("policy.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), "system namespace") || !strings.Contains(err.Error(), "policy.yaml:4") {
			t.Errorf("%q: %v", pat, err)
			continue
		}
		allowed := fmt.Sprintf("version: 1\nprojects:\n  p:\n    systemNamespaces: allow\n    namespaces: [%q]\n", pat)
		p, err := Parse("policy.yaml", []byte(allowed))
		if err != nil {
			t.Errorf("%q with allow: %v", pat, err)
			continue
		}
		if !p.Projects[0].SystemNamespaces {
			t.Errorf("%q: SystemNamespaces not set", pat)
		}
		b, _ := p.MarshalBinary()
		var q Policy
		if err := q.UnmarshalBinary(b); err != nil || !q.Projects[0].SystemNamespaces {
			t.Errorf("%q: binary round trip: %v", pat, err)
		}
	}
	// Exact names are explicit; patterns that miss them are fine.
	for _, ok := range []string{"kube-system", "default", "kube-x*", "team-*", "defaults-*", "*-systems"} {
		doc := fmt.Sprintf("version: 1\nprojects:\n  p:\n    namespaces: [%q]\n", ok)
		if _, err := Parse("policy.yaml", []byte(doc)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	_, err := Parse("policy.yaml", []byte("version: 1\nprojects:\n  p:\n    systemNamespaces: yes\n    namespaces: [a]\n"))
	if err == nil || !strings.Contains(err.Error(), "want allow or deny") {
		t.Errorf("systemNamespaces: yes: %v", err)
	}
}
