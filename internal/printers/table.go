// Package printers writes kgate's human-readable output in the shapes kubectl
// users know: tables of server-side rows, aligned as kubectl aligns them.
package printers

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/clipperhouse/displaywidth"
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
// table with three spaces between columns, the shape of kubectl's tables:
// each column as wide as its widest cell (display width), no padding after
// the last, no trailing spaces. One pass measures the columns and one
// writes the lines (tablewriter, which this replaced, spent 60% of `get
// pods`'s instructions at 10,000 rows).
func Print(w io.Writer, header Row, rows []Row) error {
	return (&Aligned{W: w}).Print(header, rows)
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
	widen := func(r Row) {
		for i, c := range r {
			if i >= len(a.widths) {
				a.widths = append(a.widths, 0)
			}
			if w := cellWidth(c); w > a.widths[i] {
				a.widths[i] = w
			}
		}
	}
	if header != nil {
		widen(header)
	}
	for _, r := range rows {
		widen(r)
	}
	out := make([]byte, 0, 64<<10)
	line := func(r Row) {
		start := len(out)
		for i, c := range r {
			out = append(out, c...)
			if i < len(r)-1 {
				out = appendSpaces(out, a.widths[i]-cellWidth(c)+3)
			}
		}
		// No trailing spaces: a last cell that is empty or ends in spaces.
		n := len(out)
		for n > start && out[n-1] == ' ' {
			n--
		}
		out = append(out[:n], '\n')
	}
	if header != nil {
		line(header)
	}
	for _, r := range rows {
		line(r)
		if len(out) >= 60<<10 {
			if _, err := a.W.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	_, err := a.W.Write(out)
	return err
}

const spaces = "                                                                "

func appendSpaces(b []byte, n int) []byte {
	for n > len(spaces) {
		b = append(b, spaces...)
		n -= len(spaces)
	}
	return append(b, spaces[:n]...)
}

// cellWidth is how many columns s takes on a terminal: its length for
// printable ASCII (nearly every cell), displaywidth's count otherwise (wide
// and combining characters, controls).
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return displaywidth.String(s)
		}
	}
	return len(s)
}
