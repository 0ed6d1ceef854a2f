package printers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// streamBuffer is the size a list response is first read in; it grows
// (doubling) only for an item larger than it. (A variable: the tests make
// it small.)
var streamBuffer = 256 << 10

// StreamList adds the items of one list response (JSON), read from r as it
// arrives, to the list begun (BeginList). Each item goes from the bytes
// received to the output, so memory is bounded by the largest item and the
// read buffer, not by the response; the API server writes the list while
// kgate prints it. keep, when not nil, is asked about each item's
// metadata.name; the items it refuses are left out. apiVersion and kind are
// the items' when the list does not name them before its items (custom resources'
// lists put kind after them; their items carry their own). It returns the
// list's envelope: Continue names the next page.
//
// A response that ends early or is malformed is an error after the items
// before the fault were printed, as a page that fails is.
func (p *Objects) StreamList(r io.Reader, apiVersion, kind string, keep func(name string) bool) (*ListPage, error) {
	if !p.inList {
		return nil, errors.New("printers: StreamList outside a list")
	}
	st := &stream{r: r, buf: p.streamBuf[:0]}
	defer func() {
		// The buffer is kept for the next page.
		p.streamBuf = st.buf[:0]
		p.scan.b, p.scan.name = nil, ""
	}()
	if cap(st.buf) == 0 {
		st.buf = make([]byte, 0, streamBuffer)
	}
	s := &p.scan
	l := &ListPage{}
	seen := 0
	if err := st.try(s, func() error {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '{' {
			return errSyntax
		}
		s.i++
		return nil
	}); err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		done := false
		if err := st.try(s, func() error {
			var err error
			if n == 0 {
				s.space()
				if done = s.i < len(s.b) && s.b[s.i] == '}'; done {
					s.i++
				}
				return nil
			}
			done, err = s.sep('}')
			return err
		}); err != nil {
			return nil, err
		}
		if done {
			break
		}
		var k string
		if err := st.try(s, func() error {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return errSyntax
			}
			var err error
			if k, err = s.str(); err != nil {
				return err
			}
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return errSyntax
			}
			s.i++
			return nil
		}); err != nil {
			return nil, err
		}
		if k == "items" {
			av, kd := l.APIVersion, l.ItemKind()
			if seen&hasAPIVersion == 0 {
				av = apiVersion
			}
			if seen&hasKind == 0 {
				kd = kind
			}
			if err := p.streamItems(st, av, kd, keep); err != nil {
				return nil, err
			}
			continue
		}
		var v []byte
		if err := st.try(s, func() error {
			var err error
			v, err = s.skip()
			return err
		}); err != nil {
			return nil, err
		}
		// v is a view of the buffer: read before the next fill. A member
		// kgate does not read must still be JSON.
		switch k {
		case "kind", "apiVersion", "metadata":
			if err := l.envelope(k, v, &seen); err != nil {
				return nil, err
			}
		default:
			if !json.Valid(v) {
				return nil, errSyntax
			}
		}
	}
	// Nothing but space may follow the list (try reads to the end).
	if err := st.try(s, func() error {
		s.space()
		if s.i != len(s.b) {
			return errSyntax
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return l, nil
}

// streamItems prints the items array (or null) at the stream.
func (p *Objects) streamItems(st *stream, apiVersion, kind string, keep func(string) bool) error {
	s := &p.scan
	empty := false
	if err := st.try(s, func() error {
		s.space()
		if s.i < len(s.b) && s.b[s.i] == 'n' {
			empty = true
			_, err := s.literal(nil, "null")
			return err
		}
		if s.i >= len(s.b) || s.b[s.i] != '[' {
			return errSyntax
		}
		s.i++
		s.space()
		if empty = s.i < len(s.b) && s.b[s.i] == ']'; empty {
			s.i++
		}
		return nil
	}); err != nil || empty {
		return err
	}
	for {
		var j []byte
		if err := st.try(s, func() error {
			var err error
			j, err = p.encodeItem(apiVersion, kind)
			return err
		}); err != nil {
			return err
		}
		if err := p.emit(j, keep); err != nil {
			return err
		}
		done := false
		if err := st.try(s, func() error {
			var err error
			done, err = s.sep(']')
			return err
		}); err != nil || done {
			return err
		}
	}
}

// stream is a response read into a buffer as it is parsed.
type stream struct {
	r   io.Reader
	buf []byte // buf[off:] is read and not yet parsed
	off int
	eof bool
}

// try runs fn with the scanner at the unparsed data. When fn fails or
// ends at the end of the data read, and more may follow, more is read and
// fn runs again from the same place (fn must have no effect until it
// succeeds). What fn parsed is then consumed.
func (st *stream) try(s *scanner, fn func() error) error {
	for {
		s.b, s.i = st.buf[st.off:], 0
		err := fn()
		// The scanner stops at the end of its input on every fault of input
		// cut short, and only then; and a value it read up to the end (a
		// number) may go on.
		short := !st.eof && s.i >= len(s.b)
		if !short {
			if err == nil {
				st.off += s.i
			} else if st.eof && s.i >= len(s.b) {
				err = fmt.Errorf("%w: the response ended early", errSyntax)
			}
			return err
		}
		if err := st.fill(); err != nil {
			return err
		}
	}
}

// fill moves the unparsed data to the front, doubles the buffer if that
// leaves no room, and reads until the buffer is full or the input ends.
func (st *stream) fill() error {
	n := copy(st.buf[:cap(st.buf)], st.buf[st.off:])
	st.buf, st.off = st.buf[:n], 0
	if n == cap(st.buf) {
		nb := make([]byte, n, 2*cap(st.buf)+streamBuffer)
		copy(nb, st.buf)
		st.buf = nb
	}
	for len(st.buf) < cap(st.buf) {
		m, err := st.r.Read(st.buf[len(st.buf):cap(st.buf)])
		st.buf = st.buf[:len(st.buf)+m]
		if err == io.EOF {
			st.eof = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
