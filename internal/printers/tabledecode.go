package printers

import (
	"encoding/json"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DecodeTable decodes a meta.k8s.io Table (JSON) into t as encoding/json
// does, without reflection for its rows' cells: at 10,000 rows
// encoding/json took 58 ms and 240,000 allocations, most of them for the
// cells. Members other than rows, and a row's members other than cells
// and object, go through encoding/json (so its case-insensitive keys, RawExtension
// objects and conditions read alike). On any fault, the whole body is
// decoded by encoding/json, so errors are its errors.
func DecodeTable(body []byte, t *metav1.Table) error {
	if decodeTable(body, t) == nil {
		return nil
	}
	*t = metav1.Table{}
	return json.Unmarshal(body, t)
}

func decodeTable(body []byte, t *metav1.Table) error {
	s := &scanner{b: body}
	d := &cellCache{m: map[string]any{}}
	if err := s.eachMember(func(k string, quoted []byte) error {
		if k == "rows" {
			return s.tableRows(&t.Rows, d)
		}
		return s.viaJSON(quoted, t)
	}); err != nil {
		return err
	}
	return s.end()
}

// eachMember calls read with each key of the object at s (decoded, and as
// it stands in the input), the scanner at the key's value; read moves
// past the value.
func (s *scanner) eachMember(read func(k string, quoted []byte) error) error {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errSyntax
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errSyntax
		}
		start := s.i
		k, err := s.strView()
		if err != nil {
			return err
		}
		quoted := s.b[start:s.i]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errSyntax
		}
		s.i++
		if err := read(k, quoted); err != nil {
			return err
		}
		if done, err := s.sep('}'); done || err != nil {
			return err
		}
	}
}

// viaJSON decodes the member whose key is quoted, the scanner at its
// value, into v with encoding/json.
func (s *scanner) viaJSON(quoted []byte, v any) error {
	val, err := s.skip()
	if err != nil {
		return err
	}
	one := make([]byte, 0, len(quoted)+len(val)+3)
	one = append(append(append(append(append(one, '{'), quoted...), ':'), val...), '}')
	return json.Unmarshal(one, v)
}

// eachElement calls fn with s at each element of the array (or null) at
// s; fn moves past the element. isNull: the value was null.
func (s *scanner) eachElement(fn func() error) (isNull bool, err error) {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		_, err := s.literal(nil, "null")
		return true, err
	}
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return false, errSyntax
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return false, nil
	}
	for {
		s.space()
		if err := fn(); err != nil {
			return false, err
		}
		done, err := s.sep(']')
		if err != nil || done {
			return false, err
		}
	}
}

// tableRows reads the rows array (or null) at s.
func (s *scanner) tableRows(rows *[]metav1.TableRow, d *cellCache) error {
	out := []metav1.TableRow{}
	isNull, err := s.eachElement(func() error {
		var row metav1.TableRow
		if s.i < len(s.b) && s.b[s.i] == 'n' {
			// A null element is a zero row.
			if _, err := s.literal(nil, "null"); err != nil {
				return err
			}
		} else if err := s.eachMember(func(k string, quoted []byte) error {
			switch k {
			case "cells":
				return s.cells(&row.Cells, d)
			case "object":
				// A RawExtension keeps the value's bytes; null leaves it
				// as it is (every row of includeObject=None has one).
				s.space()
				if s.i < len(s.b) && s.b[s.i] == 'n' {
					_, err := s.literal(nil, "null")
					return err
				}
				span, err := s.skip()
				if err != nil {
					return err
				}
				if !json.Valid(span) {
					return errSyntax
				}
				row.Object.Raw = append(row.Object.Raw[:0], span...)
				return nil
			}
			return s.viaJSON(quoted, &row)
		}); err != nil {
			return err
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return err
	}
	if isNull {
		out = nil
	}
	*rows = out
	return nil
}

// cells reads a row's cells (or null) as encoding/json decodes values into
// interface{}: strings, float64s, bools and nils; any object or array goes
// through encoding/json.
//
// Cells repeat from row to row ("Running", "1/1", "<none>"): short ones are
// decoded and boxed once per table, which halves the allocations.
func (s *scanner) cells(cells *[]any, d *cellCache) error {
	out := make([]any, 0, d.width)
	isNull, err := s.eachElement(func() error {
		if s.i >= len(s.b) {
			return errSyntax
		}
		var v any
		switch c := s.b[s.i]; {
		case c == '"':
			start := s.i
			raw, plain, _, err := s.strSpan()
			if err != nil {
				return err
			}
			if v = d.get(s.b[start:s.i]); v == nil {
				str, err := viewOf(raw, plain)
				if err != nil {
					return err
				}
				if plain {
					str = string(raw)
				}
				v = d.put(s.b[start:s.i], str)
			}
		case c == 't':
			if _, err := s.literal(nil, "true"); err != nil {
				return err
			}
			v = true
		case c == 'f':
			if _, err := s.literal(nil, "false"); err != nil {
				return err
			}
			v = false
		case c == 'n':
			if _, err := s.literal(nil, "null"); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			start := s.i
			for s.i < len(s.b) && (s.b[s.i] == '-' || s.b[s.i] == '+' || s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E' || (s.b[s.i] >= '0' && s.b[s.i] <= '9')) {
				s.i++
			}
			lit := s.b[start:s.i]
			if !jsonNumber(lit) {
				return errSyntax
			}
			if v = d.get(lit); v == nil {
				f, err := strconv.ParseFloat(string(lit), 64)
				if err != nil {
					return err
				}
				v = d.put(lit, f)
			}
		default:
			span, err := s.skip()
			if err != nil {
				return err
			}
			if err := json.Unmarshal(span, &v); err != nil {
				return err
			}
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return err
	}
	if isNull {
		*cells = nil
		return nil
	}
	*cells = out
	d.width = max(d.width, len(out))
	return nil
}

// cellCache holds the cells of a table decoded so far, boxed, by their
// JSON (a string's quotes keep it apart from a number of the same digits).
type cellCache struct {
	m     map[string]any
	width int
}

// cellCacheMax bounds the cache: names and addresses never repeat, and the
// cells that do are met in the first rows.
const cellCacheMax, cellCacheLen = 2048, 32

func (d *cellCache) get(lit []byte) any {
	if len(lit) > cellCacheLen {
		return nil
	}
	return d.m[string(lit)]
}

func (d *cellCache) put(lit []byte, v any) any {
	if len(lit) <= cellCacheLen && len(d.m) < cellCacheMax {
		d.m[string(lit)] = v
	}
	return v
}
