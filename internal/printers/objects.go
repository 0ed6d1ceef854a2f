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
	items   int
	scratch []byte
	scan    scanner
	yamlw   yamlWriter
	yamlOut []byte
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
	p.separate()
	if err := p.value(raw, apiVersion, kind, 0); err != nil {
		return err
	}
	if !p.yaml {
		p.w.WriteByte('\n')
	}
	return p.w.Flush()
}

// BeginList starts a kubectl "List" (apiVersion v1, kind List, empty
// resourceVersion); Item adds to it, EndList closes it.
func (p *Objects) BeginList() {
	p.separate()
	p.inList, p.items = true, 0
	if p.yaml {
		return
	}
	p.w.WriteString("{\n    \"apiVersion\": \"v1\",\n    \"items\": [")
}

// Item adds one object of the list begun, as JSON (see Object for kind).
func (p *Objects) Item(raw []byte, apiVersion, kind string) error {
	if !p.inList {
		return errors.New("printers: Item outside a list")
	}
	if p.yaml {
		if p.items == 0 {
			p.w.WriteString("apiVersion: v1\nitems:\n")
		}
		p.items++
		return p.value(raw, apiVersion, kind, 1)
	}
	if p.items > 0 {
		p.w.WriteByte(',')
	}
	p.items++
	p.w.WriteString("\n        ")
	if err := p.value(raw, apiVersion, kind, 2); err != nil {
		return err
	}
	if p.w.Buffered() > 32<<10 {
		return p.w.Flush()
	}
	return nil
}

// EndList closes the list and flushes the output.
func (p *Objects) EndList() error {
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

// value writes one object at depth (JSON: indentation levels; YAML: 1 is a
// list item).
func (p *Objects) value(raw []byte, apiVersion, kind string, depth int) error {
	if p.yaml {
		j, err := p.appendJSON(p.scratch[:0], raw, apiVersion, kind, -1)
		p.scratch = j
		if err != nil {
			return err
		}
		var ok bool
		if p.yamlOut, ok = p.yamlw.render(p.yamlOut[:0], j, depth > 0); ok {
			p.w.Write(p.yamlOut)
			return nil
		}
		// sigs.k8s.io/yaml's rendering of the item alone, as a sequence of
		// one, has the columns it has inside the list's items (so long
		// strings fold alike); top-level objects are rendered as they are.
		if depth > 0 {
			j = append(append([]byte{'['}, j...), ']')
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return err
		}
		p.w.Write(y)
		return nil
	}
	out, err := p.appendJSON(p.scratch[:0], raw, apiVersion, kind, depth)
	p.scratch = out
	if err != nil {
		return err
	}
	p.w.Write(out)
	return nil
}

// appendJSON appends raw re-encoded as encoding/json would encode its
// decoded value (sorted keys, escaping, numbers), indented from depth
// (-1: compact). apiVersion and kind are added at the top when missing.
func (p *Objects) appendJSON(dst, raw []byte, apiVersion, kind string, depth int) ([]byte, error) {
	// One scanner for every object printed: its scratch buffers are kept.
	s := &p.scan
	s.b, s.i, s.level = raw, 0, 0
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '{' && (kind != "" || p.OmitManagedFields) {
		var extra []member
		if kind != "" {
			extra = []member{{key: "apiVersion", val: quote(apiVersion)}, {key: "kind", val: quote(kind)}}
		}
		out, err := s.object(dst, depth, extra, topLevel|boolFlag(p.OmitManagedFields, omitManaged))
		if err != nil {
			return dst, err
		}
		return out, s.end()
	}
	out, err := s.value(dst, depth, 0)
	if err != nil {
		return dst, err
	}
	return out, s.end()
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

// member is one key of an object with its value, encoded: given (val, the
// extra members), or at buf[off:end] of the scanner's scratch for its level.
type member struct {
	key      string
	val      []byte
	off, end int
}

type scanner struct {
	b []byte
	i int
	// level is how many objects deep the scanner is; scratch and mems
	// are each level's buffers, kept from one object to the next.
	level   int
	scratch [][]byte
	mems    [][]member
}

var errSyntax = errors.New("printers: malformed JSON from the server")

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

func newline(dst []byte, depth int) []byte {
	if depth < 0 {
		return dst
	}
	dst = append(dst, '\n')
	for i := 0; i < depth; i++ {
		dst = append(dst, "    "...)
	}
	return dst
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
		str, err := s.strView()
		if err != nil {
			return dst, err
		}
		return appendString(dst, str), nil
	case c == 't' && bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return append(dst, "true"...), nil
	case c == 'f' && bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return append(dst, "false"...), nil
	case c == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")):
		s.i += 4
		return append(dst, "null"...), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(dst)
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

func (s *scanner) object(dst []byte, depth int, extra []member, f flags) ([]byte, error) {
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
	members := append(s.mems[lvl][:0], extra...)
	s.level++
	defer func() {
		s.level--
		// Keys may be views of this input: keep none past the object.
		clear(members)
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
			k, err := s.strView()
			if err != nil {
				return dst, err
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
				off := len(buf)
				if buf, err = s.value(buf, childDepth(depth), cf); err != nil {
					return dst, err
				}
				m := member{key: k, off: off, end: len(buf)}
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
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for n, m := range members {
		if n > 0 {
			dst = append(dst, ',')
		}
		if depth >= 0 {
			dst = newline(dst, depth+1)
		}
		dst = appendString(dst, m.key)
		dst = append(dst, ':')
		if depth >= 0 {
			dst = append(dst, ' ')
		}
		if m.val != nil {
			dst = append(dst, m.val...)
		} else {
			dst = append(dst, buf[m.off:m.end]...)
		}
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
	raw, plain, err := s.strSpan()
	if err != nil || !plain {
		return unquote(raw, err)
	}
	return string(raw), nil
}

// strView is str for a value used only while the input is: a string with
// nothing to decode is a view of the input's bytes, not a copy (the
// response body is never written to).
func (s *scanner) strView() (string, error) {
	raw, plain, err := s.strSpan()
	if err != nil || !plain {
		return unquote(raw, err)
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
	var v string
	if err := json.Unmarshal(quoted, &v); err != nil {
		return "", errSyntax
	}
	return v, nil
}

// strSpan reads a JSON string. plain: it needs no decoding, and raw is
// its contents; otherwise raw is the whole string, quotes included.
func (s *scanner) strSpan() (raw []byte, plain bool, err error) {
	start := s.i
	s.i++
	plain, ascii := true, true
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			if plain && (ascii || utf8.Valid(s.b[start+1:s.i-1])) {
				return s.b[start+1 : s.i-1], true, nil
			}
			return s.b[start:s.i], false, nil
		case c == '\\':
			plain = false
			s.i += 2
		case c < 0x20:
			return nil, false, errSyntax
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.i++
		}
	}
	return nil, false, errSyntax
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

// ListPage is one page of a list response, split without decoding its items.
type ListPage struct {
	APIVersion, Kind string
	// Continue is the token of the next page; empty on the last.
	Continue string
	// ResourceVersion is the list's.
	ResourceVersion string
	// Items are the spans of the items in the response's bytes.
	Items [][]byte
}

// ItemKind is the kind of the list's items: "PodList" holds "Pod"s.
func (l *ListPage) ItemKind() string {
	return strings.TrimSuffix(l.Kind, "List")
}

// SplitList splits a list response (JSON) into its items, reading only the
// envelope's few fields.
func SplitList(body []byte) (*ListPage, error) {
	l := &ListPage{}
	s := scanner{b: body}
	err := s.eachMember(func(k string) error {
		if k == "items" {
			// Walked once, item by item, not passed over first.
			return s.elements(func(item []byte) error {
				l.Items = append(l.Items, item)
				return nil
			})
		}
		v, err := s.skip()
		if err != nil {
			return err
		}
		switch k {
		case "apiVersion", "kind":
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return errSyntax
			}
			if k == "kind" {
				l.Kind = str
			} else {
				l.APIVersion = str
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
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// members calls fn with each key of the object at s and its value's span.
func (s *scanner) members(fn func(k string, v []byte) error) error {
	return s.eachMember(func(k string) error {
		v, err := s.skip()
		if err != nil {
			return err
		}
		return fn(k, v)
	})
}

// eachMember calls read with each key of the object at s, the scanner at
// the key's value; read moves past the value.
func (s *scanner) eachMember(read func(k string) error) error {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errSyntax
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return s.end()
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errSyntax
		}
		k, err := s.str()
		if err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errSyntax
		}
		s.i++
		if err := read(k); err != nil {
			return err
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

// next moves past what follows a member or an element: a comma (more to
// come) or closer, which ends the object or array (done) and must end the
// input too.
func (s *scanner) next(closer byte) (done bool, err error) {
	if done, err = s.sep(closer); done && err == nil {
		err = s.end()
	}
	return done, err
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

// elements calls fn with the span of each element of the array (or null)
// at s, and moves past it.
func (s *scanner) elements(fn func(v []byte) error) error {
	s.space()
	if s.i+4 <= len(s.b) && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return nil
	}
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return errSyntax
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		v, err := s.skip()
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		if done, err := s.sep(']'); done || err != nil {
			return err
		}
	}
}

// NameOf returns metadata.name of an object given as JSON ("" when absent).
func NameOf(obj []byte) string {
	var name string
	s := scanner{b: obj}
	_ = s.members(func(k string, v []byte) error {
		if k != "metadata" {
			return nil
		}
		ms := scanner{b: v}
		return ms.members(func(k string, v []byte) error {
			if k == "name" {
				_ = json.Unmarshal(v, &name)
			}
			return nil
		})
	})
	return name
}
