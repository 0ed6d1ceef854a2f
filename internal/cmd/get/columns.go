package get

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/jsonpath"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/printers"
)

// column is one column of -o custom-columns.
type column struct {
	header string
	path   *jsonpath.JSONPath
}

// parseCustomColumns reads "custom-columns=NAME:.metadata.name,..." or
// "custom-columns-file=FILE" (a line of headers, a line of JSONPaths), as
// kubectl does. ok is false when out is neither.
func parseCustomColumns(out string) (cols []column, ok bool, err error) {
	var headers, paths []string
	switch {
	case strings.HasPrefix(out, "custom-columns="):
		spec := strings.TrimPrefix(out, "custom-columns=")
		if spec == "" {
			return nil, true, errs.UsageErrorf("custom-columns format specified but no custom columns given")
		}
		for _, part := range strings.Split(spec, ",") {
			h, p, found := strings.Cut(part, ":")
			if !found || h == "" || p == "" {
				return nil, true, errs.UsageErrorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
			}
			headers, paths = append(headers, h), append(paths, p)
		}
	case strings.HasPrefix(out, "custom-columns-file="):
		name := strings.TrimPrefix(out, "custom-columns-file=")
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, true, errs.WithKind(errs.KindUsage, fmt.Errorf("reading the custom columns file: %w", err))
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 {
			return nil, true, errs.UsageErrorf("custom columns file %s: want two lines (headers, then JSONPaths), got %d", name, len(lines))
		}
		headers, paths = strings.Fields(lines[0]), strings.Fields(lines[1])
		if len(headers) != len(paths) || len(headers) == 0 {
			return nil, true, errs.UsageErrorf("custom columns file %s: %d headers for %d JSONPaths", name, len(headers), len(paths))
		}
	default:
		return nil, false, nil
	}
	for i, h := range headers {
		jp, err := parsePath("custom-columns", paths[i])
		if err != nil {
			return nil, true, err
		}
		cols = append(cols, column{header: h, path: jp})
	}
	return cols, true, nil
}

// customRows renders objects as -o custom-columns does: each cell the
// JSONPath's values joined with commas, <none> when there are none.
func customRows(cols []column, items []unstructured.Unstructured) (printers.Row, []printers.Row) {
	header := make(printers.Row, len(cols))
	for i, c := range cols {
		header[i] = c.header
	}
	rows := make([]printers.Row, 0, len(items))
	for _, it := range items {
		row := make(printers.Row, len(cols))
		for i, c := range cols {
			row[i] = "<none>"
			vals, err := c.path.FindResults(it.Object)
			if err != nil || len(vals) == 0 || len(vals[0]) == 0 {
				continue
			}
			var parts []string
			for _, v := range vals[0] {
				if v.IsValid() && v.CanInterface() {
					parts = append(parts, fmt.Sprint(v.Interface()))
				}
			}
			if len(parts) > 0 {
				row[i] = strings.Join(parts, ",")
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}
