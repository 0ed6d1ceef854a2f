// Package printers writes kgate's human-readable output in the shapes kubectl
// users know: tables of server-side rows, printed with tablewriter.
package printers

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/clipperhouse/displaywidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TableOptions shape a table.
type TableOptions struct {
	Wide          bool
	NoHeaders     bool
	WithNamespace bool
	ShowLabels    bool
	// LabelColumns are label keys shown as columns of their own (-L), before
	// LABELS.
	LabelColumns []string
	// KindPrefix, when set, prefixes the name column ("pod/web-1").
	KindPrefix string
	// EventType, when set, is printed in a first column (watch output).
	EventType string
}

// Row is one output row before printing.
type Row []string

// TableRows turns a server Table into header and rows as kgate shows them.
// labels returns an object's labels for a row (for --show-labels); meta
// returns the namespace of a row's object.
func TableRows(t *metav1.Table, opts TableOptions, namespaceOf func(metav1.TableRow) string, labelsOf func(metav1.TableRow) map[string]string) (Row, []Row) {
	var keep []int
	var header Row
	if opts.EventType != "" {
		header = append(header, "EVENT")
	}
	if opts.WithNamespace {
		header = append(header, "NAMESPACE")
	}
	for i, c := range t.ColumnDefinitions {
		if c.Priority != 0 && !opts.Wide {
			continue
		}
		keep = append(keep, i)
		header = append(header, strings.ToUpper(c.Name))
	}
	for _, l := range opts.LabelColumns {
		// kubectl heads a label column with the key's last path segment.
		header = append(header, strings.ToUpper(l[strings.LastIndex(l, "/")+1:]))
	}
	if opts.ShowLabels {
		header = append(header, "LABELS")
	}
	rows := make([]Row, 0, len(t.Rows))
	for _, r := range t.Rows {
		row := make(Row, 0, len(header))
		if opts.EventType != "" {
			row = append(row, opts.EventType)
		}
		if opts.WithNamespace {
			row = append(row, namespaceOf(r))
		}
		for n, i := range keep {
			var s string
			if i < len(r.Cells) {
				s = cellString(r.Cells[i])
			}
			if n == 0 && opts.KindPrefix != "" {
				s = opts.KindPrefix + "/" + s
			}
			row = append(row, s)
		}
		if len(opts.LabelColumns) > 0 || opts.ShowLabels {
			l := labelsOf(r)
			for _, k := range opts.LabelColumns {
				row = append(row, l[k])
			}
			if opts.ShowLabels {
				row = append(row, formatLabels(l))
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

func cellString(c any) string {
	switch v := c.(type) {
	case nil:
		return "<none>"
	case string:
		return v
	case float64:
		// JSON numbers: integers print without a fraction, as kubectl does.
		if v == float64(int64(v)) {
			return fmt.Sprint(int64(v))
		}
		return fmt.Sprint(v)
	default:
		return fmt.Sprint(v)
	}
}

func formatLabels(l map[string]string) string {
	if len(l) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

// Print writes header (unless nil) and rows as a borderless, left-aligned
// table with three spaces between columns, the shape of kubectl's tables.
func Print(w io.Writer, header Row, rows []Row) error {
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
		t.Header(toAny(header)...)
	}
	for _, r := range rows {
		if err := t.Append(toAny(r)...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	return writeTrimmed(w, buf.Bytes())
}

// writeTrimmed drops the padding tablewriter leaves after the last column,
// so lines end where kubectl's do.
func writeTrimmed(w io.Writer, b []byte) error {
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

func toAny(r Row) []any {
	out := make([]any, len(r))
	for i, s := range r {
		out[i] = s
	}
	return out
}

// Aligned prints a table in parts, every part aligned under the first: a
// watch's header and first rows, then each event's rows as they come. A
// column only widens when a later cell is wider than all before it.
type Aligned struct {
	W      io.Writer
	widths []int
}

// Reserve makes column col at least width wide from the start (a watch's
// EVENT column, where MODIFIED comes after ADDED).
func (a *Aligned) Reserve(col, width int) {
	for len(a.widths) <= col {
		a.widths = append(a.widths, 0)
	}
	a.widths[col] = max(a.widths[col], width)
}

// Print writes header (unless nil) and rows.
func (a *Aligned) Print(header Row, rows []Row) error {
	all := rows
	if header != nil {
		all = append([]Row{header}, rows...)
	}
	for _, r := range all {
		for i, c := range r {
			if i >= len(a.widths) {
				a.widths = append(a.widths, 0)
			}
			if w := displaywidth.String(c); w > a.widths[i] {
				a.widths[i] = w
			}
		}
	}
	var b bytes.Buffer
	for _, r := range all {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", a.widths[i]-displaywidth.String(c)+3))
			}
		}
		b.WriteByte('\n')
	}
	return writeTrimmed(a.W, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
