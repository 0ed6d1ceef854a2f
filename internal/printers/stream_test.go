package printers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// streamBodies are list responses as the API server writes them: typed
// lists name kind before the items, custom resources' lists after them.
func streamBodies() []string {
	its := strings.Join(items, ",")
	return []string{
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c"},"items":[` + its + `]}`,
		`{"apiVersion":"v1","items":[` + withKind(items[0]) + `,` + withKind(items[1]) + `],"kind":"PodList","metadata":{"continue":"c","resourceVersion":"7"}}`,
		` { "kind" : "PodList" , "apiVersion":"v1", "metadata":{"continue":"c","resourceVersion":"7"}, "items" : [ ` + its + ` ] , "x" : [1] }` + "\n",
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c"},"items":[]}`,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c"},"items":null}`,
		`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c"}}`,
	}
}

// chunked returns r as readers that hand it out in pieces of every shape.
func chunked(body string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(body) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(body)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) },
	}
}

// oracle prints a list response (pages times over) as encoding/json splits
// it: the envelope's members and each item's JSON, printed with Item. dup: the envelope names a
// member twice (decoders then disagree on which counts; the tests leave it).
func oracle(body, format string, pages int) (out string, l ListPage, dup bool, err error) {
	dec := json.NewDecoder(strings.NewReader(body))
	env := map[string]json.RawMessage{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", l, false, errSyntax
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", l, false, err
		}
		k := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", l, false, err
		}
		if _, ok := env[k]; ok {
			dup = true
		}
		env[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return "", l, dup, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", l, dup, errSyntax
	}
	seen := 0
	for _, k := range []string{"kind", "apiVersion", "metadata"} {
		if v, ok := env[k]; ok {
			if err := l.envelope(k, v, &seen); err != nil {
				return "", l, dup, err
			}
		}
	}
	var items []json.RawMessage
	if v, ok := env["items"]; ok {
		if err := json.Unmarshal(v, &items); err != nil {
			return "", l, dup, err
		}
	}
	var b bytes.Buffer
	p, _ := NewObjects(&b, format)
	p.OmitManagedFields = true
	p.BeginList()
	for range pages {
		for _, it := range items {
			if err := p.Item(it, l.APIVersion, l.ItemKind()); err != nil {
				return "", l, dup, err
			}
		}
	}
	if err := p.EndList(); err != nil {
		return "", l, dup, err
	}
	return b.String(), l, dup, nil
}

// StreamList prints what encoding/json's split of the list and Item print, read in any pieces,
// with read buffers smaller than an item (they grow) and larger, page after
// page through one printer (its buffer is kept).
func TestStreamListMatchesItems(t *testing.T) {
	defer func(n int) { streamBuffer = n }(streamBuffer)
	for _, size := range []int{16, 100, 256 << 10} {
		streamBuffer = size
		for bi, body := range streamBodies() {
			for _, format := range []string{"json", "yaml"} {
				// Two pages: the items twice.
				want, _, _, err := oracle(body, format, 2)
				if err != nil {
					t.Fatal(err)
				}
				for name, r := range chunked(body) {
					var got bytes.Buffer
					p, _ := NewObjects(&got, format)
					p.OmitManagedFields = true
					p.BeginList()
					for range 2 {
						sl, err := p.StreamList(r(), "v1", "Pod", nil)
						if err != nil {
							t.Fatalf("body %d, %s, buffer %d: %v", bi, name, size, err)
						}
						if sl.Continue != "c" || sl.ResourceVersion != "7" || sl.Kind != "PodList" || sl.APIVersion != "v1" {
							t.Errorf("body %d, %s: envelope %+v", bi, name, sl)
						}
					}
					if err := p.EndList(); err != nil {
						t.Fatal(err)
					}
					if got.String() != want {
						t.Errorf("body %d, %s, %s, buffer %d:\n%s\nwant\n%s", bi, name, format, size, got.String(), want)
					}
				}
			}
		}
	}
}

// A response cut short anywhere is an error, and what was printed of it
// are whole items, never part of one.
func TestStreamListCutShort(t *testing.T) {
	defer func(n int) { streamBuffer = n }(streamBuffer)
	streamBuffer = 64
	body := streamBodies()[0]
	for cut := 0; cut < len(body); cut++ {
		var got bytes.Buffer
		p, _ := NewObjects(&got, "json")
		p.BeginList()
		_, err := p.StreamList(iotest.HalfReader(strings.NewReader(body[:cut])), "v1", "Pod", nil)
		if err == nil || !Malformed(err) {
			t.Fatalf("cut at %d: err %v", cut, err)
		}
		if cut > 0 && !strings.Contains(err.Error(), "ended early") {
			t.Errorf("cut at %d (%q): %v", cut, body[cut-1:cut], err)
		}
		if p.Listed() > 0 {
			if err := p.EndList(); err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(got.Bytes(), &v); err != nil {
				t.Fatalf("cut at %d: the items printed are not whole: %v\n%s", cut, err, got.String())
			}
		}
	}
}

// Malformed lists fail as SplitList and Each fail; a failing reader's error
// is returned as it is.
func TestStreamListRejects(t *testing.T) {
	for _, bad := range []string{`{"items":[{},]}`, `{"items":[1 2]}`, `{"items":[{}]`, `{"items":[{}]} x`, `{"items":{}}`, `{"items":nul}`, `[]`, `{"items":[{"a":"x}]}`,
		`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{},]}`, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{}],}`, `{"kind":1,"items":[]}`, ``, `{"items":[tru]}`} {
		for name, r := range chunked(bad) {
			p, _ := NewObjects(io.Discard, "json")
			p.BeginList()
			if _, err := p.StreamList(r(), "v1", "Pod", nil); !Malformed(err) {
				t.Errorf("%s (%s): err %v", bad, name, err)
			}
		}
	}
	boom := errors.New("boom")
	p, _ := NewObjects(io.Discard, "json")
	p.BeginList()
	r := io.MultiReader(strings.NewReader(`{"kind":"PodList","items":[{"a":1},`), iotest.ErrReader(boom))
	if _, err := p.StreamList(r, "v1", "Pod", nil); !errors.Is(err, boom) {
		t.Errorf("reader's error: %v", err)
	}
}

// keep is asked about each item's name, and an item larger than the read
// buffer is still read whole.
func TestStreamListKeepAndLargeItems(t *testing.T) {
	defer func(n int) { streamBuffer = n }(streamBuffer)
	streamBuffer = 32
	big := strings.Repeat("x", 5000)
	var b strings.Builder
	b.WriteString(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[`)
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metadata":{"name":"p%d","annotations":{"a":%q}}}`, i, big[:i*250])
	}
	b.WriteString(`]}`)
	var got bytes.Buffer
	p, _ := NewObjects(&got, "json")
	p.BeginList()
	var asked []string
	if _, err := p.StreamList(iotest.HalfReader(strings.NewReader(b.String())), "v1", "Pod", func(n string) bool {
		asked = append(asked, n)
		return n == "p19" || n == "p3"
	}); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 20 || asked[19] != "p19" || p.Listed() != 2 {
		t.Fatalf("asked %v, %d listed", asked, p.Listed())
	}
	if err := p.EndList(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.String(), big[:19*250]) || strings.Contains(got.String(), `"p4"`) {
		t.Errorf("output %.300s", got.String())
	}
}

// chunkReader hands out its input n bytes at a time.
type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := min(r.n, len(p), len(r.s))
	copy(p, r.s[:n])
	r.s = r.s[n:]
	return n, nil
}

// FuzzStreamListMatchesOracle: any response, read in pieces of any size,
// streams as encoding/json's split of it prints, or fails where that fails.
func FuzzStreamListMatchesOracle(f *testing.F) {
	for _, b := range streamBodies() {
		f.Add(b, uint8(3))
	}
	f.Fuzz(func(t *testing.T, body string, chunk uint8) {
		defer func(n int) { streamBuffer = n }(streamBuffer)
		streamBuffer = 16
		for _, format := range []string{"json", "yaml"} {
			want, l, dup, werr := oracle(body, format, 1)
			if dup {
				return
			}
			av, kind := "v1", "Pod"
			if werr == nil {
				av, kind = l.APIVersion, l.ItemKind()
			}
			var got bytes.Buffer
			p, _ := NewObjects(&got, format)
			p.OmitManagedFields = true
			p.BeginList()
			sl, gerr := p.StreamList(&chunkReader{body, int(chunk)%64 + 1}, av, kind, nil)
			if gerr == nil {
				gerr = p.EndList()
			}
			switch {
			case werr == nil && gerr != nil:
				t.Fatalf("%s: streamed: %v", format, gerr)
			case werr != nil && gerr == nil:
				t.Fatalf("%s: encoding/json: %v; streamed without error", format, werr)
			case werr == nil && (got.String() != want || *sl != l):
				t.Fatalf("%s: streamed %+v\n%s\nencoding/json %+v\n%s", format, *sl, got.String(), l, want)
			}
		}
	})
}

// keep is asked about each item's metadata.name, decoded, and only the top
// level's; a list given up on (a malformed item, no EndList) leaves no
// output.
func TestStreamListKeepAsksTheName(t *testing.T) {
	body := `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"spec":{"metadata":{"name":"no"}},"metadata":{"name":"a\u0062"}},{"metadata":{"x":1}}]}`
	var asked []string
	p, _ := NewObjects(io.Discard, "json")
	p.BeginList()
	if _, err := p.StreamList(strings.NewReader(body), "v1", "Pod", func(name string) bool { asked = append(asked, name); return true }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "ab," {
		t.Errorf("asked about %q", asked)
	}
	var out bytes.Buffer
	p, _ = NewObjects(&out, "json")
	p.BeginList()
	if _, err := p.StreamList(strings.NewReader(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"a":}]}`), "v1", "Pod", nil); err == nil || p.Listed() != 0 || out.Len() != 0 {
		t.Errorf("malformed item: %v, %d listed, %q", err, p.Listed(), out.String())
	}
}
