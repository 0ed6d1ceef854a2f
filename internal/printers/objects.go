package printers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"sigs.k8s.io/yaml"
)

// Value prints v, one of kgate's own values (version, whoami, projects,
// policy check/show), as -o json (encoding/json, two-space indent) or -o
// yaml (sigs.k8s.io/yaml): the shapes those commands have always printed.
// Kubernetes objects go through Objects.
func Value(w io.Writer, format string, v any) error {
	var b []byte
	var err error
	switch format {
	case "json":
		if b, err = json.MarshalIndent(v, "", "  "); err == nil {
			b = append(b, '\n')
		}
	case "yaml":
		b, err = yaml.Marshal(v)
	default:
		return fmt.Errorf("printers: no format %q", format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Objects is the one printer of -o json and -o yaml: objects go from the
// API server's JSON to the output as kubectl prints them (keys sorted,
// json.MarshalIndent's four spaces, Go's string escaping and number forms;
// YAML as sigs.k8s.io/yaml renders that JSON), without decoding them into
// generic maps and copying them. A list is written item by item, so memory
// is bounded by the page being read, not by the list.
//
// Like kubectl's printers, the YAML form separates the second and later
// top-level values (Object, List) with "---".
type Objects struct {
	w       *bufio.Writer
	yaml    bool
	printed int
	// OmitManagedFields leaves metadata.managedFields out, as kubectl get
	// does unless --show-managed-fields.
	OmitManagedFields bool

	inList  bool
	begun   bool
	items   int
	scratch []byte
	scan    scanner
	yamlw   yamlWriter
	yamlOut []byte
	// streamBuf is StreamList's read buffer, kept from page to page.
	streamBuf []byte
	// extra are the apiVersion and kind added to items, encoded, for
	// extraAV and extraKind.
	extra              []field
	extraAV, extraKind string
}

// NewObjects returns a printer of format "json" or "yaml" writing to w;
// ok is false for any other format.
func NewObjects(w io.Writer, format string) (p *Objects, ok bool) {
	switch format {
	case "json":
		return &Objects{w: bufio.NewWriterSize(w, 64<<10)}, true
	case "yaml":
		return &Objects{w: bufio.NewWriterSize(w, 64<<10), yaml: true}, true
	}
	return nil, false
}

// Object prints one object, given as JSON. kind, when the JSON has none
// (the items of a list response), is set from apiVersion and kind.
func (p *Objects) Object(raw []byte, apiVersion, kind string) error {
	depth := 0
	if p.yaml {
		depth = -1
	}
	j, err := p.appendJSON(p.scratch[:0], raw, apiVersion, kind, depth)
	if err != nil {
		return err
	}
	p.scratch = j
	p.separate()
	if p.yaml {
		if err := p.writeYAML(j, false); err != nil {
			return err
		}
	} else {
		p.w.Write(j)
		p.w.WriteByte('\n')
	}
	return p.w.Flush()
}

// BeginList starts a kubectl "List" (apiVersion v1, kind List, empty
// resourceVersion); Item and StreamList add to it, EndList closes it. Nothing
// is written before the first item or EndList: a list given up on (no
// EndList) leaves no output.
func (p *Objects) BeginList() {
	p.inList, p.begun, p.items = true, false, 0
}

// begin writes the head of the list begun.
func (p *Objects) begin() {
	if p.begun {
		return
	}
	p.begun = true
	p.separate()
	if !p.yaml {
		p.w.WriteString("{\n    \"apiVersion\": \"v1\",\n    \"items\": [")
	}
}

// Listed is how many items the list begun holds so far.
func (p *Objects) Listed() int { return p.items }

// Item adds one object of the list begun, as JSON (see Object for kind).
func (p *Objects) Item(raw []byte, apiVersion, kind string) error {
	if !p.inList {
		return errors.New("printers: Item outside a list")
	}
	p.scan.b, p.scan.i = raw, 0
	j, err := p.encodeItem(apiVersion, kind)
	if err != nil {
		return err
	}
	if err := p.scan.end(); err != nil {
		return err
	}
	return p.emit(j, nil)
}

// encodeItem encodes the value at the scanner as an item, into scratch.
func (p *Objects) encodeItem(apiVersion, kind string) ([]byte, error) {
	depth := 2
	if p.yaml {
		depth = -1
	}
	j, err := p.encode(p.scratch[:0], apiVersion, kind, depth)
	if err != nil {
		return nil, err
	}
	p.scratch = j
	return j, nil
}

// emit writes j, an item encodeItem encoded, unless keep refuses it.
func (p *Objects) emit(j []byte, keep func(string) bool) error {
	if keep != nil && !keep(p.scan.name) {
		return nil
	}
	p.begin()
	if p.yaml {
		if p.items == 0 {
			p.w.WriteString("apiVersion: v1\nitems:\n")
		}
		p.items++
		return p.writeYAML(j, true)
	}
	if p.items > 0 {
		p.w.WriteByte(',')
	}
	p.items++
	p.w.WriteString("\n        ")
	p.w.Write(j)
	if p.w.Buffered() > 32<<10 {
		return p.w.Flush()
	}
	return nil
}

// EndList closes the list and flushes the output.
func (p *Objects) EndList() error {
	p.begin()
	p.inList = false
	switch {
	case p.yaml && p.items == 0:
		p.w.WriteString("apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n")
	case p.yaml:
		p.w.WriteString("kind: List\nmetadata:\n  resourceVersion: \"\"\n")
	case p.items == 0:
		p.w.WriteString("],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
	default:
		p.w.WriteString("\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
	}
	return p.w.Flush()
}

func (p *Objects) separate() {
	if p.yaml && p.printed > 0 {
		p.w.WriteString("---\n")
	}
	p.printed++
}

// writeYAML writes the YAML of j, an object's compact JSON (item: as an
// item of a list).
func (p *Objects) writeYAML(j []byte, item bool) error {
	var ok bool
	if p.yamlOut, ok = p.yamlw.render(p.yamlOut[:0], j, item); ok {
		p.w.Write(p.yamlOut)
		return nil
	}
	// sigs.k8s.io/yaml's rendering of the item alone, as a sequence of
	// one, has the columns it has inside the list's items (so long
	// strings fold alike); top-level objects are rendered as they are.
	if item {
		j = append(append([]byte{'['}, j...), ']')
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return err
	}
	p.w.Write(y)
	return nil
}

// appendJSON appends raw re-encoded as encoding/json would encode its
// decoded value (sorted keys, escaping, numbers), indented from depth
// (-1: compact). apiVersion and kind are added at the top when missing.
func (p *Objects) appendJSON(dst, raw []byte, apiVersion, kind string, depth int) ([]byte, error) {
	p.scan.b, p.scan.i = raw, 0
	out, err := p.encode(dst, apiVersion, kind, depth)
	if err != nil {
		return dst, err
	}
	return out, p.scan.end()
}

// encode is appendJSON of the value at the scanner, which it moves past.
// The scanner's name is the value's metadata.name, if it has one.
func (p *Objects) encode(dst []byte, apiVersion, kind string, depth int) ([]byte, error) {
	// One scanner for every object printed: its scratch buffers are kept.
	s := &p.scan
	s.level, s.name = 0, ""
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '{' && (kind != "" || p.OmitManagedFields) {
		var extra []field
		if kind != "" {
			if p.extraAV != apiVersion || p.extraKind != kind || p.extra == nil {
				p.extraAV, p.extraKind = apiVersion, kind
				p.extra = []field{{key: "apiVersion", val: quote(apiVersion)}, {key: "kind", val: quote(kind)}}
			}
			extra = p.extra
		}
		return s.object(dst, depth, extra, topLevel|boolFlag(p.OmitManagedFields, omitManaged))
	}
	return s.value(dst, depth, 0)
}

type flags int

const (
	topLevel flags = 1 << iota
	omitManaged
	inMetadata
)

func boolFlag(b bool, f flags) flags {
	if b {
		return f
	}
	return 0
}

func quote(s string) []byte {
	return appendString(nil, s)
}

// member is one key of an object with its value, encoded, at buf[off:end]
// of the scanner's scratch for its level. It holds no pointer but its key,
// so sorting and storing members costs the garbage collector nothing.
type member struct {
	key string
	// q0:q1 is the key in the input, quotes included, when encoding/json
	// writes it as it stands there (q1 == 0: encode key).
	q0, q1   int32
	off, end int32
}

// field is a member added to the top of an object (apiVersion and kind)
// with its value, encoded.
type field struct {
	key string
	val []byte
}

type scanner struct {
	b []byte
	i int
	// level is how many objects deep the scanner is; scratch and mems
	// are each level's buffers, kept from one object to the next.
	level   int
	scratch [][]byte
	mems    [][]member
	// name is the metadata.name of the object encoded last.
	name string
}

var errSyntax = errors.New("printers: malformed JSON from the server")

// Malformed tells whether err is the printer's refusal of malformed input
// (not an error of the output).
func Malformed(err error) bool { return errors.Is(err, errSyntax) }

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) end() error {
	s.space()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

// indent is a line break and the indentation of the first 16 levels.
const indent = "\n" + "                                                                "

func newline(dst []byte, depth int) []byte {
	if depth < 0 {
		return dst
	}
	if 1+4*depth <= len(indent) {
		return append(dst, indent[:1+4*depth]...)
	}
	dst = append(dst, indent...)
	for i := 16; i < depth; i++ {
		dst = append(dst, "    "...)
	}
	return dst
}

// sortMembers puts members in key order. An object's members are few, and
// often already in order: an insertion sort, by comparison of keys alone.
func sortMembers(members []member) {
	if len(members) > 12 {
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(members); i++ {
		if !keyLess(members[i].key, members[i-1].key) {
			continue
		}
		m := members[i]
		j := i
		for ; j > 0 && keyLess(m.key, members[j-1].key); j-- {
			members[j] = members[j-1]
		}
		members[j] = m
	}
}

// keyLess is a < b, deciding by the first byte where it can (most keys of
// an object differ there) before comparing whole strings.
func keyLess(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

func (s *scanner) value(dst []byte, depth int, f flags) ([]byte, error) {
	s.space()
	if s.i >= len(s.b) {
		return dst, errSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(dst, depth, nil, f)
	case c == '[':
		return s.array(dst, depth)
	case c == '"':
		start := s.i
		raw, plain, clean, err := s.strSpan()
		if err != nil {
			return dst, err
		}
		if clean {
			// Written as it stands, quotes and all.
			return append(dst, s.b[start:s.i]...), nil
		}
		str, err := viewOf(raw, plain)
		if err != nil {
			return dst, err
		}
		return appendString(dst, str), nil
	case c == 't':
		return s.literal(dst, "true")
	case c == 'f':
		return s.literal(dst, "false")
	case c == 'n':
		return s.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(dst)
	}
	return dst, errSyntax
}

// literal reads lit (true, false or null). Input that ends inside it
// leaves the scanner at its end, as every fault of input cut short does.
func (s *scanner) literal(dst []byte, lit string) ([]byte, error) {
	rest := s.b[s.i:]
	if len(rest) >= len(lit) && string(rest[:len(lit)]) == lit {
		s.i += len(lit)
		return append(dst, lit...), nil
	}
	if len(rest) < len(lit) && lit[:len(rest)] == string(rest) {
		s.i = len(s.b)
	}
	return dst, errSyntax
}

// skip moves past one value without decoding it and returns its span; the
// span is parsed in full when it is written.
func (s *scanner) skip() ([]byte, error) {
	s.space()
	start, depth := s.i, 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			// Most of the bytes passed over are in strings: find the closing
			// quote with IndexByte, not byte by byte.
			s.i++
			for {
				j := bytes.IndexByte(s.b[s.i:], '"')
				if j < 0 {
					s.i = len(s.b)
					return nil, errSyntax
				}
				s.i += j
				escapes := 0
				for k := s.i - 1; s.b[k] == '\\'; k-- {
					escapes++
				}
				if escapes%2 == 0 {
					break
				}
				s.i++
			}
			s.i++
			if depth == 0 && s.b[start] == '"' {
				return s.b[start:s.i], nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				if s.i == start {
					return nil, errSyntax // no value: "[1,]"
				}
				return s.b[start:s.i], nil
			}
			if depth--; depth == 0 {
				s.i++
				return s.b[start:s.i], nil
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				if s.i == start {
					return nil, errSyntax // no value: "[1,,2]"
				}
				return s.b[start:s.i], nil
			}
		}
		s.i++
	}
	if depth != 0 || s.i == start {
		return nil, errSyntax
	}
	return s.b[start:s.i], nil
}

func (s *scanner) object(dst []byte, depth int, extra []field, f flags) ([]byte, error) {
	s.i++ // {
	// Each member's value is encoded once, as it is read, into this
	// nesting level's scratch buffer; the members are then written in key
	// order from there. (Finding each value's span first and encoding it
	// afterwards scanned a value once for every object it is nested in:
	// managedFields is eight deep.)
	lvl := s.level
	for len(s.scratch) <= lvl {
		s.scratch = append(s.scratch, nil)
		s.mems = append(s.mems, nil)
	}
	buf := s.scratch[lvl][:0]
	members := s.mems[lvl][:0]
	for _, e := range extra {
		off := len(buf)
		buf = append(buf, e.val...)
		members = append(members, member{key: e.key, off: int32(off), end: int32(len(buf))})
	}
	s.level++
	defer func() {
		s.level--
		s.scratch[lvl], s.mems[lvl] = buf, members[:0]
	}()
	seen := func(k string) int {
		for i := range members {
			if members[i].key == k {
				return i
			}
		}
		return -1
	}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return dst, errSyntax
			}
			kstart := s.i
			raw, plain, clean, err := s.strSpan()
			if err != nil {
				return dst, err
			}
			k, err := viewOf(raw, plain)
			if err != nil {
				return dst, err
			}
			var q0, q1 int32
			if clean {
				q0, q1 = int32(kstart), int32(s.i)
			}
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return dst, errSyntax
			}
			s.i++
			if f&omitManaged != 0 && f&inMetadata != 0 && k == "managedFields" {
				// Left out of the output: passed over, not encoded.
				if _, err := s.skip(); err != nil {
					return dst, err
				}
			} else {
				var cf flags
				if f&topLevel != 0 && k == "metadata" {
					cf = f&omitManaged | inMetadata
				}
				off, at := len(buf), s.i
				if buf, err = s.value(buf, childDepth(depth), cf); err != nil {
					return dst, err
				}
				if f&inMetadata != 0 && k == "name" {
					// A view of the input, asked about while it is read.
					n := scanner{b: s.b, i: at}
					if n.space(); n.i < len(n.b) && n.b[n.i] == '"' {
						s.name, _ = n.strView()
					}
				}
				m := member{key: k, q0: q0, q1: q1, off: int32(off), end: int32(len(buf))}
				// A decoded map keeps the last of duplicate keys; an item's own
				// apiVersion and kind win over the list's.
				if j := seen(k); j >= 0 {
					members[j] = m
				} else {
					members = append(members, m)
				}
			}
			done, err := s.sep('}')
			if err != nil {
				return dst, err
			}
			if done {
				break
			}
		}
	}
	if len(members) == 0 {
		return append(dst, "{}"...), nil
	}
	sortMembers(members)
	dst = append(dst, '{')
	for n, m := range members {
		if n > 0 {
			dst = append(dst, ',')
		}
		if depth >= 0 {
			dst = newline(dst, depth+1)
		}
		if m.q1 != 0 {
			dst = append(dst, s.b[m.q0:m.q1]...)
		} else {
			dst = appendString(dst, m.key)
		}
		dst = append(dst, ':')
		if depth >= 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, buf[m.off:m.end]...)
	}
	dst = newline(dst, depth)
	return append(dst, '}'), nil
}

func childDepth(depth int) int {
	if depth < 0 {
		return -1
	}
	return depth + 1
}

func (s *scanner) array(dst []byte, depth int) ([]byte, error) {
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return append(dst, "[]"...), nil
	}
	dst = append(dst, '[')
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		if depth >= 0 {
			dst = newline(dst, depth+1)
		}
		var err error
		if dst, err = s.value(dst, childDepth(depth), 0); err != nil {
			return dst, err
		}
		done, err := s.sep(']')
		if err != nil {
			return dst, err
		}
		if !done {
			continue
		}
		dst = newline(dst, depth)
		return append(dst, ']'), nil
	}
}

// str reads a JSON string and returns its value.
func (s *scanner) str() (string, error) {
	raw, plain, _, err := s.strSpan()
	if err != nil || !plain {
		return unquote(raw, err)
	}
	return string(raw), nil
}

// strView is str for a value used only while the input is: a string with
// nothing to decode is a view of the input's bytes, not a copy (the
// response body is never written to).
func (s *scanner) strView() (string, error) {
	raw, plain, _, err := s.strSpan()
	if err != nil {
		return "", err
	}
	return viewOf(raw, plain)
}

// viewOf is strView's value of strSpan's raw and plain.
func viewOf(raw []byte, plain bool) (string, error) {
	if !plain {
		return unquote(raw, nil)
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
}

// unquote decodes a string with escapes (or invalid UTF-8, which decodes
// to U+FFFD as kubectl's decoder reads it); quoted is its span, quotes
// included.
func unquote(quoted []byte, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if v, ok := unescape(quoted); ok {
		return v, nil
	}
	var v string
	if err := json.Unmarshal(quoted, &v); err != nil {
		return "", errSyntax
	}
	return v, nil
}

// unescape decodes quoted, a JSON string, quotes included, when it is
// ASCII with escapes of one character or of a code point outside the
// surrogates (the API server writes <, > and & as \u003c...); ok is false
// for anything else, left to encoding/json.
func unescape(quoted []byte) (string, bool) {
	in := quoted[1 : len(quoted)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c >= utf8.RuneSelf || c < 0x20 {
			return "", false
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(in) {
			return "", false
		}
		i++
		switch in[i] {
		case '"', '\\', '/':
			out = append(out, in[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 >= len(in) {
				return "", false
			}
			r, err := strconv.ParseUint(string(in[i+1:i+5]), 16, 16)
			if err != nil || utf16.IsSurrogate(rune(r)) {
				return "", false
			}
			out = utf8.AppendRune(out, rune(r))
			i += 4
		default:
			return "", false
		}
	}
	return string(out), true
}

// asIs[c]: the byte c stands in a JSON string as itself, and encoding/json
// writes it so (printable ASCII but the quote, the backslash and its HTML
// escapes <, > and &).
var asIs = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// strSpan reads a JSON string. plain: it needs no decoding, and raw is
// its contents; otherwise raw is the whole string, quotes included.
// clean: plain, and encoding/json writes the contents as they are.
func (s *scanner) strSpan() (raw []byte, plain, clean bool, err error) {
	b := s.b
	start := s.i
	i := start + 1
	// Most strings are all asIs bytes: one table look-up each.
	for i < len(b) && asIs[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '"' {
		s.i = i + 1
		return b[start+1 : i], true, true, nil
	}
	plain, ascii := true, true
	for i < len(b) {
		switch c := b[i]; {
		case asIs[c]:
			i++
		case c == '"':
			s.i = i + 1
			if plain && (ascii || utf8.Valid(b[start+1:i])) {
				return b[start+1 : i], true, false, nil
			}
			return b[start : i+1], false, false, nil
		case c == '\\':
			plain = false
			i += 2
		case c < 0x20:
			s.i = i
			return nil, false, false, errSyntax
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
	}
	s.i = i
	return nil, false, false, errSyntax
}

// number writes a number as a decoded unstructured object holds it: an
// int64 when it is an integer that fits, otherwise a float64.
func (s *scanner) number(dst []byte) ([]byte, error) {
	start := s.i
	integer := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
		} else if !(c == '-' || c == '+' || (c >= '0' && c <= '9')) {
			break
		}
		s.i++
	}
	lit := s.b[start:s.i]
	if !jsonNumber(lit) {
		return dst, fmt.Errorf("%w: number %q", errSyntax, lit)
	}
	if integer {
		if n, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
			return strconv.AppendInt(dst, n, 10), nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return dst, fmt.Errorf("%w: number %q", errSyntax, lit)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// jsonNumber tells whether lit is a number in JSON's grammar: strconv
// reads more ("01", "1.", "+1").
func jsonNumber(lit []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	switch {
	case i < len(lit) && lit[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(lit)
}

const hex = "0123456789abcdef"

// appendString encodes s as encoding/json does (HTML-safe, invalid UTF-8
// replaced, U+2028 and U+2029 escaped).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ListPage is the envelope of one page of a list response, as StreamList
// read it.
type ListPage struct {
	APIVersion, Kind string
	// Continue is the token of the next page; empty on the last.
	Continue string
	// ResourceVersion is the list's.
	ResourceVersion string
}

// ItemKind is the kind of the list's items: "PodList" holds "Pod"s.
func (l *ListPage) ItemKind() string {
	return strings.TrimSuffix(l.Kind, "List")
}

// The members of a list's envelope StreamList has seen.
const (
	hasKind = 1 << iota
	hasAPIVersion
	hasMetadata
)

// envelope reads one member of the list's envelope.
func (l *ListPage) envelope(k string, v []byte, seen *int) error {
	switch k {
	case "apiVersion", "kind":
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return errSyntax
		}
		if k == "kind" {
			l.Kind = str
			*seen |= hasKind
		} else {
			l.APIVersion = str
			*seen |= hasAPIVersion
		}
	case "metadata":
		var m struct {
			Continue        string `json:"continue"`
			ResourceVersion string `json:"resourceVersion"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return errSyntax
		}
		l.Continue, l.ResourceVersion = m.Continue, m.ResourceVersion
		*seen |= hasMetadata
	}
	return nil
}

// sep moves past a comma (more to come) or closer (done) after a member or
// an element; anything else is a syntax error.
func (s *scanner) sep(closer byte) (done bool, err error) {
	s.space()
	if s.i >= len(s.b) {
		return false, errSyntax
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return false, nil
	case closer:
		s.i++
		return true, nil
	}
	return false, errSyntax
}
