package printers

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// yamlWriter renders the compact JSON that appendJSON writes as YAML,
// byte for byte as sigs.k8s.io/yaml's JSONToYAML does (yaml.v2 decoding the
// JSON into generic maps, then encoding them): keys in yaml.v2's order, two
// spaces of indentation, sequences in a mapping not indented, and each
// scalar in the style yaml.v2 picks for it.
//
// It renders what Kubernetes objects are mostly made of: ASCII keys and
// strings that print plain or in double quotes on one line, numbers, bools
// and nulls. Anything else (a line break, a character that calls for single
// quotes or escapes, a long line yaml.v2 would fold, a key it would write as
// a complex key, an ordering it cannot be sure of) makes render report false,
// and the caller renders that object with sigs.k8s.io/yaml itself. So the
// output is always yaml.v2's; the writer only skips its decoding into maps
// and its reflection, which were nine tenths of -o yaml's time.
type yamlWriter struct {
	j     []byte
	i     int
	nodes []ynode
	kids  []int32
	stack []int32
	out   []byte
	line  int // where the line being written starts in out
}

// ynode is one value of the JSON: kind '{', '[', '"' (a string), '0' (a
// number), 't', 'f' or 'n'; key is its member name in an object; text is a
// string's or number's text. An object's or array's children are
// kids[first : first+n].
type ynode struct {
	kind     byte
	key      string
	text     string
	first, n int32
}

// yamlBestWidth is yaml.v2's line width: a plain scalar breaks at a space
// once the line is longer.
const yamlBestWidth = 80

// render appends the YAML of j (an object; inList: as the one item of a
// sequence, the way Objects renders list items) to dst. ok is false when j
// holds something the writer leaves to yaml.v2; dst is then unchanged.
func (y *yamlWriter) render(dst, j []byte, inList bool) (out []byte, ok bool) {
	y.j, y.i = j, 0
	y.nodes, y.kids, y.stack = y.nodes[:0], y.kids[:0], y.stack[:0]
	root, ok := y.parse()
	if !ok || y.i != len(j) {
		return dst, false
	}
	y.out, y.line = dst, len(dst)
	n := &y.nodes[root]
	switch {
	case n.kind != '{':
		return dst, false
	case inList && n.n == 0:
		y.out = append(y.out, "- {}\n"...)
	case inList:
		y.out = append(y.out, "- "...)
		ok = y.mapping(root, 2, true)
	case n.n == 0:
		y.out = append(y.out, "{}\n"...)
	default:
		ok = y.mapping(root, 0, false)
	}
	if !ok {
		return dst, false
	}
	return y.out, true
}

// parse reads one JSON value into nodes and returns its index.
func (y *yamlWriter) parse() (int32, bool) {
	if y.i >= len(y.j) {
		return 0, false
	}
	idx := int32(len(y.nodes))
	y.nodes = append(y.nodes, ynode{})
	switch c := y.j[y.i]; c {
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		y.i++
		base := len(y.stack)
		for y.i < len(y.j) && y.j[y.i] != closer {
			if len(y.stack) > base {
				if y.j[y.i] != ',' {
					return 0, false
				}
				y.i++
			}
			var key string
			if c == '{' {
				k, ok := y.str()
				if !ok || y.i >= len(y.j) || y.j[y.i] != ':' {
					return 0, false
				}
				y.i++
				key = k
			}
			kid, ok := y.parse()
			if !ok {
				return 0, false
			}
			y.nodes[kid].key = key
			y.stack = append(y.stack, kid)
		}
		if y.i >= len(y.j) {
			return 0, false
		}
		y.i++
		first := int32(len(y.kids))
		y.kids = append(y.kids, y.stack[base:]...)
		y.nodes[idx] = ynode{kind: c, first: first, n: int32(len(y.stack) - base)}
		y.stack = y.stack[:base]
	case '"':
		s, ok := y.str()
		if !ok {
			return 0, false
		}
		y.nodes[idx] = ynode{kind: '"', text: s}
	case 't', 'f', 'n':
		lit := "null"
		switch c {
		case 't':
			lit = "true"
		case 'f':
			lit = "false"
		}
		if !bytes.HasPrefix(y.j[y.i:], []byte(lit)) {
			return 0, false
		}
		y.i += len(lit)
		y.nodes[idx] = ynode{kind: c}
	default:
		start := y.i
		for y.i < len(y.j) && strings.IndexByte("-+.eE0123456789", y.j[y.i]) >= 0 {
			y.i++
		}
		if y.i == start {
			return 0, false
		}
		y.nodes[idx] = ynode{kind: '0', text: unsafe.String(&y.j[start], y.i-start)}
	}
	return idx, true
}

// str reads a string without escapes (every escape encoding/json writes
// stands for a character the writer leaves to yaml.v2), as a view of j.
func (y *yamlWriter) str() (string, bool) {
	if y.i >= len(y.j) || y.j[y.i] != '"' {
		return "", false
	}
	rest := y.j[y.i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	y.i += end + 2
	if end == 0 {
		return "", true
	}
	return unsafe.String(&rest[0], end), true
}

func (y *yamlWriter) col() int { return len(y.out) - y.line }

func (y *yamlWriter) newline() {
	y.out = append(y.out, '\n')
	y.line = len(y.out)
}

func (y *yamlWriter) indent(n int) {
	for range n {
		y.out = append(y.out, ' ')
	}
}

// mapping writes object n's members at indent; inline: the first starts
// where the line already is (after a sequence's "- ").
func (y *yamlWriter) mapping(n int32, indent int, inline bool) bool {
	kids := y.kids[y.nodes[n].first : y.nodes[n].first+y.nodes[n].n]
	if !y.sortKeys(kids) {
		return false
	}
	for i, k := range kids {
		if i > 0 || !inline {
			y.indent(indent)
		}
		if key := y.nodes[k].key; len(key) > 128 || !y.scalar(key) {
			return false // yaml.v2 writes a key over 128 bytes as "? key"
		}
		y.out = append(y.out, ':')
		if !y.value(k, indent, false) {
			return false
		}
	}
	return true
}

// sequence writes array n's elements at indent, as mapping does.
func (y *yamlWriter) sequence(n int32, indent int, inline bool) bool {
	kids := y.kids[y.nodes[n].first : y.nodes[n].first+y.nodes[n].n]
	for i, k := range kids {
		if i > 0 || !inline {
			y.indent(indent)
		}
		y.out = append(y.out, "- "...)
		if !y.value(k, indent, true) {
			return false
		}
	}
	return true
}

// value writes c after a key's ':' or a sequence's "- " (inSeq), and ends
// the line. A mapping's members go two spaces in; a sequence in a mapping
// stays at the key's indent, yaml.v2's style.
func (y *yamlWriter) value(k int32, indent int, inSeq bool) bool {
	c := &y.nodes[k]
	sep := " "
	if inSeq {
		sep = ""
	}
	switch {
	case (c.kind == '{' || c.kind == '[') && c.n == 0:
		y.out = append(y.out, sep...)
		y.out = append(y.out, c.kind, c.kind+2) // {} and [] are two apart
		y.newline()
		return true
	case c.kind == '{' && inSeq:
		return y.mapping(k, indent+2, true)
	case c.kind == '[' && inSeq:
		return y.sequence(k, indent+2, true)
	case c.kind == '{':
		y.newline()
		return y.mapping(k, indent+2, false)
	case c.kind == '[':
		y.newline()
		return y.sequence(k, indent, false)
	}
	y.out = append(y.out, sep...)
	switch c.kind {
	case '"':
		if !y.scalar(c.text) {
			return false
		}
	case '0':
		var ok bool
		if y.out, ok = appendYAMLNumber(y.out, c.text); !ok {
			return false
		}
	case 't':
		y.out = append(y.out, "true"...)
	case 'f':
		y.out = append(y.out, "false"...)
	case 'n':
		y.out = append(y.out, "null"...)
	}
	y.newline()
	return true
}

// scalar writes string s as yaml.v2 would at this column: plain, or in
// double quotes when plain it would read back as something else (a number,
// a bool, null, a timestamp). false: s needs a style the writer leaves to
// yaml.v2.
func (y *yamlWriter) scalar(s string) bool {
	switch yamlStringStyle(s, y.col()) {
	case yamlPlain:
		y.out = append(y.out, s...)
	case yamlDoubleQuoted:
		y.out = append(y.out, '"')
		y.out = append(y.out, s...)
		y.out = append(y.out, '"')
	default:
		return false
	}
	return true
}

type yamlStyle int

const (
	yamlOther yamlStyle = iota
	yamlPlain
	yamlDoubleQuoted
)

// yamlStringStyle is the style yaml.v2 gives string s starting at column
// col, among the two the writer renders. yaml.v2 asks for double quotes
// when s read plain resolves to another type, and plain otherwise; its
// emitter falls back to single quotes when the text does not allow plain,
// and folds a plain scalar at a space past column 80. Those, and every
// character but the plain ASCII ones below, are yamlOther.
func yamlStringStyle(s string, col int) yamlStyle {
	if s == "" {
		return yamlDoubleQuoted // "" reads as null
	}
	lastSpace, colon, badColon := -1, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ':
			if i == 0 || i == len(s)-1 {
				return yamlOther // leading and trailing spaces are quoted
			}
			lastSpace = i
		case c == ':':
			colon = true
			// A final ':' and ": " are indicators: plain is not allowed.
			badColon = badColon || i == len(s)-1 || s[i+1] == ' '
		case strings.IndexByte("._-/=+@,()%", c) >= 0:
		default:
			return yamlOther
		}
	}
	first := s[0]
	switch {
	case '0' <= first && first <= '9':
		switch {
		case lastSpace >= 0:
			return yamlOther // a timestamp with a space, or a long line
		case yamlTimestamp(s):
			return yamlDoubleQuoted
		case colon:
			return yamlOther // perhaps a base-60 float, which yaml.v2 quotes
		case yamlResolvesDigits(s):
			return yamlDoubleQuoted
		}
	case 'a' <= first && first <= 'z', 'A' <= first && first <= 'Z':
		if len(s) <= 5 && yamlWords[s] {
			return yamlDoubleQuoted
		}
	case first != '/':
		return yamlOther // '-', '.', '+' and the indicators first
	}
	// A plain scalar, read back as a string.
	if badColon || lastSpace >= 0 && col+lastSpace > yamlBestWidth {
		return yamlOther // single quotes, or a line yaml.v2 would break at a space
	}
	return yamlPlain
}

// yamlWords are the plain words yaml.v2 reads as bools and nulls.
var yamlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF null Null NULL") {
		yamlWords[w] = true
	}
}

// yamlResolvesDigits reports whether yaml.v2 reads s, which starts with a
// digit, is no timestamp and holds no space or ':', as something other
// than a string: its resolve, in the same order (an int, a uint, a float, a
// 0b int).
func yamlResolvesDigits(s string) bool {
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if yamlStyleFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return true
		}
	}
	if strings.HasPrefix(plain, "0b") {
		if _, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
			return true
		}
		if _, err := strconv.ParseUint(plain[2:], 2, 64); err == nil {
			return true
		}
	}
	return false
}

// yamlStyleFloat is yaml.v2's ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$.
func yamlStyleFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// yamlTimestampFormats are the layouts yaml.v2 tries on a plain scalar
// that starts with four digits and a '-'.
var yamlTimestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

func yamlTimestamp(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range yamlTimestampFormats {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}

// appendYAMLNumber appends the JSON number s as yaml.v2 reads and writes it:
// an int, else a uint, else a float64 ('g', shortest). ok is false for a
// number out of float64's range, which yaml.v2 keeps as a string.
func appendYAMLNumber(dst []byte, s string) ([]byte, bool) {
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return strconv.AppendInt(dst, v, 10), true
	}
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		return strconv.AppendUint(dst, v, 10), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return dst, false
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), true
}

// sortKeys puts an object's members in yaml.v2's key order (see
// yamlKeyLess). false: the order is not certain, because keys with digits
// compare by a relation that is not always transitive, and yaml.v2's own
// result then depends on Go's map order.
func (y *yamlWriter) sortKeys(kids []int32) bool {
	digits := false
	for _, k := range kids {
		if strings.ContainsAny(y.nodes[k].key, "0123456789") {
			digits = true
			break
		}
	}
	slices.SortFunc(kids, func(a, b int32) int {
		ka, kb := y.nodes[a].key, y.nodes[b].key
		switch {
		case yamlKeyLess(ka, kb):
			return -1
		case yamlKeyLess(kb, ka):
			return 1
		}
		return 0
	})
	if !digits {
		return true // without digits the relation is a strict total order
	}
	if len(kids) > 32 {
		return false
	}
	// Sorted and every pair in order both ways: the relation is a strict
	// total order on these keys, so every sort gives this order.
	for i := range kids {
		for j := i + 1; j < len(kids); j++ {
			ki, kj := y.nodes[kids[i]].key, y.nodes[kids[j]].key
			if !yamlKeyLess(ki, kj) || yamlKeyLess(kj, ki) {
				return false
			}
		}
	}
	return true
}

// yamlKeyLess is yaml.v2's keyList.Less for two ASCII string keys: at the
// first difference letters sort after everything else and among
// themselves by code; runs of digits compare by value.
func yamlKeyLess(a, b string) bool {
	letter := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		al, bl := letter(a[i]), letter(b[i])
		if al && bl {
			return a[i] < b[i]
		}
		if al || bl {
			return bl
		}
		var an, bn int64
		if a[i] == '0' || b[i] == '0' {
			for j := i - 1; j >= 0 && digit(a[j]); j-- {
				if a[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(a) && digit(a[ai]); ai++ {
			an = an*10 + int64(a[ai]-'0')
		}
		for ; bi < len(b) && digit(b[bi]); bi++ {
			bn = bn*10 + int64(b[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}
