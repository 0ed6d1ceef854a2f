package policy

import (
	"errors"
	"fmt"
	"slices"
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
//
// Matching is linear in the length of the namespace: the pattern after its
// literal prefix is a small NFA (at most maxTokens positions, so a bitset of
// two words) whose state set advances once per character. No input makes it
// backtrack.
type glob struct {
	text   string
	prefix string // the literal characters before the first wildcard
	rest   []token
	// suffixStar: rest is a single '*', so a match is a prefix test.
	suffixStar bool
	// step[c] holds the positions whose non-star token takes character c;
	// stars is the positions of '*' tokens (which take any character and
	// stay). Built only when rest has more than a lone '*'.
	step  *[len(alphabet)]bits
	stars bits
}

// maxTokens bounds a compiled pattern. A namespace has at most 63
// characters, so a pattern needing more matches nothing; with runs of '*'
// folded, 63 characters and 64 stars is the most that can mean anything.
const maxTokens = 127

// maxPatternLen bounds a pattern's text (classes such as "[a-z0-9]" are long).
const maxPatternLen = 1024

// bits is a set of NFA positions 0..127.
type bits [2]uint64

func (b *bits) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bits) has(i int) bool  { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bits) and(o bits) bits { return bits{b[0] & o[0], b[1] & o[1]} }
func (b bits) or(o bits) bits  { return bits{b[0] | o[0], b[1] | o[1]} }
func (b bits) shift() bits     { return bits{b[0] << 1, b[1]<<1 | b[0]>>63} }
func (b bits) empty() bool     { return b[0]|b[1] == 0 }
func (b bits) closure(stars bits) bits {
	// A star may match nothing: from a star's position, the next one is
	// reached too. Stars are never adjacent (runs are folded), so one step
	// is the whole closure.
	return b.or(b.and(stars).shift())
}

// SystemNamespaces are the namespaces Kubernetes itself uses. A project's
// glob never reaches them unless the project says so (systemNamespaces:
// allow); naming one exactly is explicit enough.
var SystemNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

// IsSystemNamespace reports whether ns is one of SystemNamespaces.
func IsSystemNamespace(ns string) bool {
	switch ns {
	case "default", "kube-node-lease", "kube-public", "kube-system":
		return true
	}
	return false
}

// systemMatch returns the first system namespace a glob matches, or "".
// Exact names are not globs and return "".
func (g *glob) systemMatch() string {
	if len(g.rest) == 0 {
		return ""
	}
	for _, ns := range SystemNamespaces {
		if g.match(ns) {
			return ns
		}
	}
	return ""
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
	if len(pattern) > maxPatternLen {
		return glob{}, fmt.Errorf("longer than %d characters", maxPatternLen)
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
	g.rest = canonical(toks)
	fixed := len(g.prefix)
	for _, t := range g.rest {
		if !t.star {
			fixed++
		}
	}
	if fixed > 63 {
		return glob{}, errors.New("it needs more than 63 characters, and a namespace has at most 63: it matches nothing")
	}
	g.build()
	return g, nil
}

// canonical folds runs of '*' and '?' into the '?'s followed by one '*'
// ("*?*?" and "??*" match the same names), so a pattern has no adjacent
// stars and no more than maxTokens tokens once it passed the length check.
func canonical(toks []token) []token {
	out := toks[:0:0]
	for i := 0; i < len(toks); {
		t := toks[i]
		if !t.star && t.set != anyChar {
			out = append(out, t)
			i++
			continue
		}
		star := false
		for ; i < len(toks) && (toks[i].star || toks[i].set == anyChar); i++ {
			if toks[i].star {
				star = true
			} else {
				out = append(out, token{set: anyChar})
			}
		}
		if star {
			out = append(out, token{set: anyChar, star: true})
		}
	}
	return out
}

// build prepares the NFA of rest.
func (g *glob) build() {
	if len(g.rest) == 1 && g.rest[0].star {
		g.suffixStar = true
		return
	}
	if len(g.rest) == 0 {
		return
	}
	g.step = new([len(alphabet)]bits)
	for i, t := range g.rest {
		if t.star {
			g.stars.set(i)
			continue
		}
		for c := 0; c < len(alphabet); c++ {
			if t.set&(1<<c) != 0 {
				g.step[c].set(i)
			}
		}
	}
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
// pattern's prefix already removed: one pass over s, advancing the set of
// NFA positions reached.
func (g *glob) matchRest(s string) bool {
	if g.suffixStar {
		for i := 0; i < len(s); i++ {
			if symbol(s[i]) == 0 {
				return false
			}
		}
		return true
	}
	if g.step == nil {
		return s == ""
	}
	var cur bits
	cur.set(0)
	cur = cur.closure(g.stars)
	for i := 0; i < len(s); i++ {
		c := index(s[i])
		if c < 0 {
			return false
		}
		// A star takes the character and stays; any other token takes it
		// if its set holds it, and moves on.
		cur = cur.and(g.stars).or(cur.and(g.step[c]).shift()).closure(g.stars)
		if cur.empty() {
			return false
		}
	}
	return cur.has(len(g.rest))
}

// index is c's place in the alphabet, or -1.
func index(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	case c == '-':
		return 36
	}
	return -1
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
// walks the product of the two patterns' automata breadth first, so the
// example is a shortest one; the product has at most (len+1)² states, each
// visited once.
func intersect(a, b *glob) (string, bool) {
	p, q := a.tokens(), b.tokens()
	w := len(q) + 1
	n := (len(p) + 1) * w
	// prev[s] is the state s was first reached from, plus one (0: not yet);
	// via[s] is the character of that move, 0 for an epsilon move.
	prev := make([]int32, n)
	via := make([]byte, n)
	queue := make([]int32, 0, 64)
	prev[0] = -1
	queue = append(queue, 0)
	end := int32(n - 1)
	for k := 0; k < len(queue); k++ {
		s := queue[k]
		if s == end {
			var out []byte
			for s != 0 {
				if via[s] != 0 {
					out = append(out, via[s])
				}
				s = prev[s] - 1
			}
			slices.Reverse(out)
			return string(out), true
		}
		i, j := int(s)/w, int(s)%w
		push := func(ni, nj int, c byte) {
			t := int32(ni*w + nj)
			if prev[t] == 0 {
				prev[t], via[t] = s+1, c
				queue = append(queue, t)
			}
		}
		if i < len(p) && p[i].star {
			push(i+1, j, 0)
		}
		if j < len(q) && q[j].star {
			push(i, j+1, 0)
		}
		if i < len(p) && j < len(q) {
			if common := p[i].set & q[j].set; common != 0 {
				ni, nj := i, j
				if !p[i].star {
					ni++
				}
				if !q[j].star {
					nj++
				}
				if ni != i || nj != j {
					push(ni, nj, charOf(common))
				}
			}
		}
	}
	return "", false
}
