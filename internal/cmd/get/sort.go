package get

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/jsonpath"

	"github.com/kgate/kgate/internal/errs"
)

// relaxedPath turns ".metadata.name", "metadata.name" or "{.metadata.name}"
// into a JSONPath template, as kubectl reads --sort-by and custom columns.
func relaxedPath(field string) (string, error) {
	f := strings.TrimSpace(field)
	if strings.HasPrefix(f, "{") && strings.HasSuffix(f, "}") {
		f = f[1 : len(f)-1]
	}
	if f == "" {
		return "", fmt.Errorf("empty JSONPath")
	}
	if !strings.HasPrefix(f, ".") {
		f = "." + f
	}
	return "{" + f + "}", nil
}

func parsePath(name, field string) (*jsonpath.JSONPath, error) {
	tmpl, err := relaxedPath(field)
	if err != nil {
		return nil, errs.UsageErrorf("%s %q: %v", name, field, err)
	}
	jp := jsonpath.New(name).AllowMissingKeys(true)
	if err := jp.Parse(tmpl); err != nil {
		return nil, errs.UsageErrorf("%s %q: %v", name, field, err)
	}
	return jp, nil
}

// sortsOnMetadata reports whether --sort-by's path lies within the
// metadata a Table sends with includeObject=Metadata (managed fields aside).
func sortsOnMetadata(field string) bool {
	tmpl, err := relaxedPath(field)
	if err != nil {
		return false
	}
	p := strings.TrimSuffix(strings.TrimPrefix(tmpl, "{"), "}")
	return strings.HasPrefix(p, ".metadata.") && !strings.HasPrefix(p, ".metadata.managedFields")
}

// sortKey is the value of field in an object, for --sort-by.
func sortKey(jp *jsonpath.JSONPath, obj map[string]any) any {
	vals, err := jp.FindResults(obj)
	if err != nil || len(vals) == 0 || len(vals[0]) == 0 {
		return nil
	}
	v := vals[0][0]
	if !v.IsValid() || !v.CanInterface() {
		return nil
	}
	return v.Interface()
}

// less orders two --sort-by values as kubectl does: numbers as numbers,
// quantities ("100Mi") as quantities, other strings in natural order, a
// missing value first.
func less(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b != nil
	}
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return x < y
		}
	case int64:
		if y, ok := b.(int64); ok {
			return x < y
		}
	case bool:
		if y, ok := b.(bool); ok {
			return !x && y
		}
	case string:
		if y, ok := b.(string); ok {
			qa, ea := resource.ParseQuantity(x)
			qb, eb := resource.ParseQuantity(y)
			if ea == nil && eb == nil {
				return qa.Cmp(qb) < 0
			}
			return naturalLess(x, y)
		}
	}
	return fmt.Sprint(a) < fmt.Sprint(b)
}

// naturalLess compares strings with runs of digits as numbers ("pod-2" <
// "pod-10").
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// sortRows sorts a table's rows by field of their objects (the table was
// asked with includeObject=Object).
func sortRows(rows []metav1.TableRow, field string) error {
	jp, err := parsePath("sort-by", field)
	if err != nil {
		return err
	}
	keys := make([]any, len(rows))
	for i, r := range rows {
		var obj map[string]any
		if len(r.Object.Raw) > 0 {
			if err := json.Unmarshal(r.Object.Raw, &obj); err != nil {
				return fmt.Errorf("decoding a row's object: %w", err)
			}
		} else if u, ok := r.Object.Object.(*unstructured.Unstructured); ok {
			obj = u.Object
		}
		keys[i] = sortKey(jp, obj)
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(keys[idx[i]], keys[idx[j]]) })
	sorted := make([]metav1.TableRow, len(rows))
	for i, k := range idx {
		sorted[i] = rows[k]
	}
	copy(rows, sorted)
	return nil
}

// sortItems sorts objects by field (-o json/yaml/name with --sort-by).
func sortItems(items []unstructured.Unstructured, field string) error {
	jp, err := parsePath("sort-by", field)
	if err != nil {
		return err
	}
	ks := make([]any, len(items))
	for i := range items {
		ks[i] = sortKey(jp, items[i].Object)
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(ks[idx[i]], ks[idx[j]]) })
	sorted := make([]unstructured.Unstructured, len(items))
	for i, k := range idx {
		sorted[i] = items[k]
	}
	copy(items, sorted)
	return nil
}
