package get

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kgate/kgate/internal/errs"
)

func obj(name string, spec map[string]any) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": name}, "spec": spec}}
}

func namesOf(items []unstructured.Unstructured) string {
	var n []string
	for _, it := range items {
		n = append(n, it.GetName())
	}
	return strings.Join(n, ",")
}

func TestSortItems(t *testing.T) {
	items := []unstructured.Unstructured{
		obj("pod-10", map[string]any{"size": int64(10), "mem": "1Gi"}),
		obj("pod-2", map[string]any{"size": int64(2), "mem": "512Mi"}),
		obj("pod-1", map[string]any{"mem": "2Gi"}),
	}
	for field, want := range map[string]string{
		".metadata.name":   "pod-1,pod-2,pod-10", // natural order
		"{.metadata.name}": "pod-1,pod-2,pod-10",
		"metadata.name":    "pod-1,pod-2,pod-10",
		".spec.size":       "pod-1,pod-2,pod-10", // missing first, then numbers
		".spec.mem":        "pod-2,pod-10,pod-1", // quantities
	} {
		c := append([]unstructured.Unstructured(nil), items...)
		if err := sortItems(c, field); err != nil || namesOf(c) != want {
			t.Errorf("--sort-by=%s: %s %v, want %s", field, namesOf(c), err, want)
		}
	}
	var e *errs.Error
	if err := sortItems(items, "{.metadata[}"); !errors.As(err, &e) || e.Kind != errs.KindUsage {
		t.Errorf("a bad JSONPath is a usage error: %v", err)
	}
}

func TestCustomColumns(t *testing.T) {
	cols, ok, err := parseCustomColumns("custom-columns=NAME:.metadata.name,SIZE:.spec.size,NONE:.spec.nothing")
	if !ok || err != nil || len(cols) != 3 {
		t.Fatalf("parse: %v %v %d", ok, err, len(cols))
	}
	h, rows := customRows(cols, []unstructured.Unstructured{obj("a", map[string]any{"size": int64(3)})})
	if strings.Join(h, " ") != "NAME SIZE NONE" || strings.Join(rows[0], " ") != "a 3 <none>" {
		t.Errorf("rows: %v %v", h, rows)
	}
	for _, bad := range []string{"custom-columns=", "custom-columns=NAME", "custom-columns=:.x", "custom-columns=N:{.a[}", "custom-columns-file=/no/such/file"} {
		var e *errs.Error
		if _, ok, err := parseCustomColumns(bad); !ok || !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%s: want a usage error, got %v", bad, err)
		}
	}
	f := filepath.Join(t.TempDir(), "cols")
	os.WriteFile(f, []byte("NAME   SIZE\n.metadata.name   .spec.size\n"), 0o600)
	if cols, _, err := parseCustomColumns("custom-columns-file=" + f); err != nil || len(cols) != 2 || cols[1].header != "SIZE" {
		t.Errorf("file: %v %v", cols, err)
	}
	if _, ok, _ := parseCustomColumns("json"); ok {
		t.Error("json is not custom columns")
	}
}
