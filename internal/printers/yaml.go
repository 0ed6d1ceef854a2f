package printers

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// yamlWriter renders the compact JSON that appendJSON writes as YAML,
// byte for byte as sigs.k8s.io/yaml's JSONToYAML does (yaml.v2 decoding the
// JSON into generic maps, then encoding them): keys in yaml.v2's order, two
// spaces of indentation, sequences in a mapping not indented, and each
// scalar in the style yaml.v2 picks for it.
//
// It renders what Kubernetes objects are made of: printable ASCII keys and
// strings, in each of the styles yaml.v2 picks for them (plain, single- and
// double-quoted, literal blocks, folded where yaml.v2 folds), numbers, bools
// and nulls. Anything else (other characters, escapes, a key yaml.v2 would
// write as a complex key, a key order it cannot be sure of) makes render
// report false, and the caller renders that object with sigs.k8s.io/yaml
// itself. So the output is always yaml.v2's; the writer only skips its
// decoding into maps and its reflection, nine tenths of -o yaml's time.
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

// str reads a string: a view of j when it has no escapes, else decoded.
// Escapes that stand for anything but printable ASCII or a line break make
// it report false: the writer leaves those strings to yaml.v2.
func (y *yamlWriter) str() (string, bool) {
	if y.i >= len(y.j) || y.j[y.i] != '"' {
		return "", false
	}
	rest := y.j[y.i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", false
	}
	if bytes.IndexByte(rest[:end], '\\') < 0 {
		y.i += end + 2
		if end == 0 {
			return "", true
		}
		return unsafe.String(&rest[0], end), true
	}
	var b []byte
	for i := 0; ; {
		if i >= len(rest) {
			return "", false
		}
		c := rest[i]
		switch {
		case c == '"':
			y.i += i + 2
			return string(b), true
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(rest) {
			return "", false
		}
		switch rest[i+1] {
		case '"', '\\', '/':
			b = append(b, rest[i+1])
			i += 2
		case 'n':
			b = append(b, '\n')
			i += 2
		case 'u':
			if i+6 > len(rest) {
				return "", false
			}
			v, err := strconv.ParseUint(string(rest[i+2:i+6]), 16, 16)
			if err != nil || v < 0x20 || v > 0x7e {
				return "", false
			}
			b = append(b, byte(v))
			i += 6
		default:
			return "", false // \b \f \r \t: control characters
		}
	}
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
		if !y.scalar(y.nodes[k].key, true, indent) {
			return false
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
		if !y.scalar(c.text, false, indent+2) {
			return false
		}
		if len(c.text) > 0 && c.text[len(c.text)-1] == '\n' {
			return true // a literal block ends its own line
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

// scalar writes string s as yaml.v2 would at this point of the line: a key
// (never folded; over 128 bytes yaml.v2 makes it a complex key), or a
// value whose continuation lines go at indent. false: s needs something the
// writer leaves to yaml.v2 (a character outside printable ASCII, escapes,
// a block scalar it ends open).
//
// yaml.v2 writes a string with a line break as a literal block, one that
// read plain would be another type (a number, a bool, null, a timestamp) in
// double quotes, and any other plain; its emitter then turns plain into
// single quotes where the text does not allow plain, and folds plain and
// single-quoted scalars at a space once the line is past column 80.
func (y *yamlWriter) scalar(s string, key bool, indent int) bool {
	if key && len(s) > 128 || indent > 60 {
		return false
	}
	lines := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\n' {
			lines = true
		} else if c < 0x20 || c > 0x7e {
			return false
		}
	}
	switch {
	case lines:
		return !key && y.literal(s, indent)
	case !yamlReadsAsString(s):
		if strings.ContainsAny(s, " \"\\") {
			return false // escapes, or a double-quoted line that may fold
		}
		y.out = append(y.out, '"')
		y.out = append(y.out, s...)
		y.out = append(y.out, '"')
	case yamlPlainAllowed(s):
		y.fold(s, 0, !key, indent)
	default:
		y.fold(s, '\'', !key, indent)
	}
	return true
}

// fold writes s plain (quote 0) or single-quoted, breaking the line at a
// space past column 80 where yaml.v2's emitter does: the first of a run of
// spaces not followed by another (and, quoted, not the first or last
// character). The space becomes the line break.
func (y *yamlWriter) fold(s string, quote byte, breaks bool, indent int) {
	if quote != 0 {
		y.out = append(y.out, quote)
	}
	spaces := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != ' ' {
			if c == '\'' && quote != 0 {
				y.out = append(y.out, '\'')
			}
			y.out = append(y.out, c)
			spaces = false
			continue
		}
		if breaks && !spaces && y.col() > yamlBestWidth && (i+1 == len(s) || s[i+1] != ' ') &&
			(quote == 0 || i != 0 && i != len(s)-1) {
			y.newline()
			y.indent(indent)
		} else {
			y.out = append(y.out, ' ')
		}
		spaces = true
	}
	if quote != 0 {
		y.out = append(y.out, quote)
	}
}

// literal writes s, which has a line break, as yaml.v2's literal block:
// "|", a "2" when s starts with a space or a break, "-" when it does not
// end with a break; then each line at indent, empty lines empty. The line
// after the block is ended here when s does not end it.
func (y *yamlWriter) literal(s string, indent int) bool {
	last := s[len(s)-1]
	switch {
	case last == ' ' || strings.Contains(s, " \n"):
		return false // yaml.v2 double-quotes these
	case last == '\n' && (len(s) == 1 || s[len(s)-2] == '\n'):
		return false // "|+": yaml.v2 leaves the document open
	}
	y.out = append(y.out, '|')
	if s[0] == ' ' || s[0] == '\n' {
		y.out = append(y.out, '2')
	}
	if last != '\n' {
		y.out = append(y.out, '-')
	}
	y.newline()
	lineStart := true
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			y.newline()
			lineStart = true
			continue
		}
		if lineStart {
			y.indent(indent)
			lineStart = false
		}
		y.out = append(y.out, s[i])
	}
	return true // value ends the line, when s did not
}

// yamlPlainAllowed is yaml.v2's emitter's verdict on a one-line printable
// ASCII string in block context: no space at either end, no "---" or "..."
// at the start, no indicator first, no ": " (or final ':'), no " #".
func yamlPlainAllowed(s string) bool {
	if s[0] == ' ' || s[len(s)-1] == ' ' || strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ws := i+1 == len(s) || s[i+1] == ' '
		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				return false
			case '?', ':', '-':
				if ws {
					return false
				}
			}
			continue
		}
		switch {
		case c == ':' && ws, c == '#' && s[i-1] == ' ':
			return false
		}
	}
	return true
}

// yamlReadsAsString is yaml.v2's resolve of s read plain, for printable
// ASCII: false when s reads as null, a bool, a number or a timestamp (or
// is a base-60 float, which yaml.v2 also quotes).
func yamlReadsAsString(s string) bool {
	if s == "" || yamlWord(s) {
		return false
	}
	switch c := s[0]; {
	case c == '.':
		_, err := strconv.ParseFloat(s, 64)
		return err != nil
	case c == '+', c == '-', '0' <= c && c <= '9':
		return !yamlTimestamp(s) && !yamlResolvesNumber(s) &&
			!(strings.IndexByte(s, ':') >= 0 && yamlBase60().MatchString(s))
	}
	return true
}

// yamlWord reports whether s is a plain word yaml.v2 reads as a bool, a
// null or a float. A switch, not a map: nothing is built when kgate starts.
func yamlWord(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
		"~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
		"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return true
	}
	return false
}

// yamlBase60 is yaml.v2's base-60 float, which it writes quoted; compiled
// on first use, not at every command's start.
var yamlBase60 = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)
})

// yamlResolvesNumber reports whether yaml.v2 reads s, which starts with a
// sign or a digit, as a number: its resolve, in the same order (an int, a
// uint, a float, a 0b int, a -0b int).
func yamlResolvesNumber(s string) bool {
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
	} else if strings.HasPrefix(plain, "-0b") {
		if _, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
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
