package printers

import (
	"bytes"
	"io"
	"math/rand"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// oldPrint is Print as it was, with tablewriter.
func oldPrint(w io.Writer, header Row, rows []Row) error {
	cols := len(header)
	if cols == 0 && len(rows) > 0 {
		cols = len(rows[0])
	}
	if cols == 0 {
		return nil
	}
	pad := tw.Padding{Left: "", Right: "   ", Overwrite: true}
	last := tw.Padding{Left: "", Right: "", Overwrite: true}
	per := make([]tw.Padding, cols)
	for i := range per {
		per[i] = pad
	}
	per[cols-1] = last
	cell := tw.CellConfig{
		Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		Padding:    tw.CellPadding{Global: pad, PerColumn: per},
	}
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{Header: cell, Row: cell}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	if header != nil {
		t.Header(oldToAny(header)...)
	}
	for _, r := range rows {
		if err := t.Append(oldToAny(r)...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	return oldWriteTrimmed(w, buf.Bytes())
}

// writeTrimmed drops the padding tablewriter leaves after the last column,
// so lines end where kubectl's do.
func oldWriteTrimmed(w io.Writer, b []byte) error {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		out = append(out, bytes.TrimRight(line, " ")...)
		out = append(out, '\n')
	}
	_, err := w.Write(out)
	return err
}

func oldToAny(r Row) []any {
	out := make([]any, len(r))
	for i, s := range r {
		out[i] = s
	}
	return out
}

// TestPrintMatchesTablewriter holds Print to the output of the tablewriter
// configuration it replaced (below, as it was), byte for byte, over random
// tables: ASCII, accented, wide and combining characters, emoji, empty
// cells, leading and trailing spaces, with and without a header.
func TestPrintMatchesTablewriter(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "b", "Z", "-", " ", "é", "日本", "<none>", "1/1", "", "ü", "\u0301", "🙂", "10.0.0.1"}
	for n := 0; n < 3000; n++ {
		cols := 1 + r.Intn(6)
		var header Row
		if r.Intn(3) > 0 {
			for c := 0; c < cols; c++ {
				header = append(header, strings.ToUpper(alphabet[r.Intn(4)])+"X")
			}
		}
		rows := make([]Row, r.Intn(5))
		for i := range rows {
			for c := 0; c < cols; c++ {
				var b strings.Builder
				for k := r.Intn(4); k > 0; k-- {
					b.WriteString(alphabet[r.Intn(len(alphabet))])
				}
				rows[i] = append(rows[i], b.String())
			}
		}
		var o, nw bytes.Buffer
		e1 := oldPrint(&o, header, rows)
		e2 := Print(&nw, header, rows)
		if (e1 == nil) != (e2 == nil) || o.String() != nw.String() {
			t.Fatalf("case %d header %q rows %q\nold %q\nnew %q", n, header, rows, o.String(), nw.String())
		}
	}
}
