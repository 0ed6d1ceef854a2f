package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Namespace names are DNS-1123 labels: lower-case letters, digits and '-'.
// Patterns are compiled over that alphabet, so a set of characters is a
// bitmask and two patterns can be intersected exactly (Overlaps).
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"

const anyChar = uint64(1)<<len(alphabet) - 1

// symbol returns the bit of c in the alphabet, or 0 when c is not in it.
func symbol(c byte) uint64 {
	switch {
	case c >= 'a' && c <= 'z':
		return 1 << (c - 'a')
	case c >= '0' && c <= '9':
		return 1 << (26 + c - '0')
	case c == '-':
		return 1 << 36
	}
	return 0
}

// token is one element of a compiled pattern: a set of characters that
// matches exactly one character, or, when star is set, any number of them.
type token struct {
	set  uint64
	star bool
}

// glob is a compiled namespace pattern: an exact name or a shell-style glob
// with '*', '?' and '[...]' (ranges, and negation with '!' or '^').
type glob struct {
	text   string
	prefix string // the literal characters before the first wildcard
	rest   []token
}

// IsGlob reports whether a namespace pattern contains wildcards.
func IsGlob(pattern string) bool { return strings.ContainsAny(pattern, "*?[") }

// compileNamespace compiles an exact namespace name or a glob.
func compileNamespace(s string) (glob, error) {
	if IsGlob(s) {
		g, err := compileGlob(s)
		if err != nil {
			return glob{}, fmt.Errorf("invalid glob %q: %w", s, err)
		}
		return g, nil
	}
	if msg := checkNamespace(s); msg != "" {
		return glob{}, fmt.Errorf("invalid namespace %q: %s", s, msg)
	}
	return glob{text: s, prefix: s}, nil
}

// checkNamespace validates a DNS-1123 label, as Kubernetes does for
// namespace names, and says what is wrong.
func checkNamespace(s string) string {
	if s == "" {
		return "empty"
	}
	if len(s) > 63 {
		return "longer than 63 characters"
	}
	for i := 0; i < len(s); i++ {
		if symbol(s[i]) == 0 {
			return "use lower-case letters, digits and '-' only"
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return "must start and end with a letter or digit"
	}
	return ""
}

func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, errors.New("empty namespace")
	}
	n := strings.IndexAny(pattern, "*?[")
	if n < 0 {
		n = len(pattern)
	}
	g := glob{text: pattern, prefix: pattern[:n]}
	for i := 0; i < n; i++ {
		if symbol(pattern[i]) == 0 {
			return glob{}, fmt.Errorf("character %q cannot appear in a namespace (lower-case letters, digits and '-' only)", pattern[i])
		}
	}
	toks := make([]token, 0, len(pattern)-n)
	for i := n; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if len(toks) > 0 && toks[len(toks)-1].star {
				continue // "**" is "*"
			}
			toks = append(toks, token{set: anyChar, star: true})
		case '?':
			toks = append(toks, token{set: anyChar})
		case '[':
			set, used, err := parseClass(pattern[i+1:])
			if err != nil {
				return glob{}, err
			}
			toks = append(toks, token{set: set})
			i += used
		default:
			s := symbol(c)
			if s == 0 {
				return glob{}, fmt.Errorf("character %q cannot appear in a namespace (lower-case letters, digits and '-' only)", c)
			}
			toks = append(toks, token{set: s})
		}
	}
	g.rest = toks
	return g, nil
}

// parseClass parses the inside of "[...]" (s starts after '[') and returns
// the set and how many bytes of s it used, including the closing ']'.
func parseClass(s string) (uint64, int, error) {
	i := 0
	negate := false
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		negate = true
		i++
	}
	// The first character may be ']' itself; a class without a closing ']'
	// is reported as such, whatever it holds.
	if i >= len(s) || !strings.Contains(s[i+1:], "]") {
		return 0, 0, errors.New("unclosed '['")
	}
	var set uint64
	first := true
	for {
		if i >= len(s) {
			return 0, 0, errors.New("unclosed '['")
		}
		c := s[i]
		if c == ']' && !first {
			i++
			break
		}
		first = false
		lo := symbol(c)
		if lo == 0 {
			return 0, 0, fmt.Errorf("character %q cannot appear in a namespace", c)
		}
		if i+2 < len(s) && s[i+1] == '-' && s[i+2] != ']' {
			hi := s[i+2]
			if symbol(hi) == 0 {
				return 0, 0, fmt.Errorf("character %q cannot appear in a namespace", hi)
			}
			if hi < c {
				return 0, 0, fmt.Errorf("bad range %q", s[i:i+3])
			}
			for x := c; ; x++ {
				set |= symbol(x)
				if x == hi {
					break
				}
			}
			i += 3
			continue
		}
		set |= lo
		i++
	}
	if negate {
		set = anyChar &^ set
	}
	if set == 0 {
		return 0, 0, errors.New("character class matches nothing")
	}
	return set, i, nil
}

// charOf returns the lowest character in set.
func charOf(set uint64) byte {
	for i := 0; i < len(alphabet); i++ {
		if set&(1<<i) != 0 {
			return alphabet[i]
		}
	}
	return 0
}

// matchRest reports whether the pattern matches s, the namespace with the
// pattern's prefix already removed.
func (g *glob) matchRest(s string) bool {
	toks := g.rest
	// The classic linear glob match: on a mismatch, let the last star
	// swallow one more character and try again.
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			t := toks[ti]
			if t.star {
				starT, starS = ti, si
				ti++
				continue
			}
			if t.set&symbol(s[si]) != 0 {
				ti++
				si++
				continue
			}
		}
		if starT < 0 || symbol(s[starS]) == 0 {
			return false
		}
		starS++
		ti, si = starT+1, starS
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}

func (g *glob) match(ns string) bool {
	return strings.HasPrefix(ns, g.prefix) && g.matchRest(ns[len(g.prefix):])
}

func (g *glob) tokens() []token {
	toks := make([]token, 0, len(g.prefix)+len(g.rest))
	for i := 0; i < len(g.prefix); i++ {
		toks = append(toks, token{set: symbol(g.prefix[i])})
	}
	return append(toks, g.rest...)
}

// intersect returns a namespace both patterns match, if there is one. It
// walks the product of the two patterns' automata.
func intersect(a, b *glob) (string, bool) {
	p, q := a.tokens(), b.tokens()
	type state struct{ i, j int }
	type step struct {
		prev state
		c    byte // 0 for an epsilon move
	}
	seen := map[state]step{{0, 0}: {prev: state{-1, -1}}}
	queue := []state{{0, 0}}
	end := state{len(p), len(q)}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == end {
			var out []byte
			for s != (state{0, 0}) {
				st := seen[s]
				if st.c != 0 {
					out = append(out, st.c)
				}
				s = st.prev
			}
			for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
				out[l], out[r] = out[r], out[l]
			}
			return string(out), true
		}
		push := func(n state, c byte) {
			if _, ok := seen[n]; !ok {
				seen[n] = step{prev: s, c: c}
				queue = append(queue, n)
			}
		}
		if s.i < len(p) && p[s.i].star {
			push(state{s.i + 1, s.j}, 0)
		}
		if s.j < len(q) && q[s.j].star {
			push(state{s.i, s.j + 1}, 0)
		}
		if s.i < len(p) && s.j < len(q) {
			if common := p[s.i].set & q[s.j].set; common != 0 {
				n := s
				if !p[s.i].star {
					n.i++
				}
				if !q[s.j].star {
					n.j++
				}
				if n != s {
					push(n, charOf(common))
				}
			}
		}
	}
	return "", false
}
