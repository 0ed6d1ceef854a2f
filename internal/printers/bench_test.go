package printers

import (
	"fmt"
	"io"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func bigTable(n int) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name"}, {Name: "Ready"}, {Name: "Status"}, {Name: "Restarts"}, {Name: "Age"},
	}}
	for i := 0; i < n; i++ {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{fmt.Sprintf("bench-%05d", i), "0/1", "Pending", float64(0), "12m"}})
	}
	return t
}

// BenchmarkPrint2000 is the client-side cost of `kgate get pods` for 2,000 pods.
func BenchmarkPrint2000(b *testing.B) {
	t := bigTable(2000)
	for b.Loop() {
		h, rows := TableRows(t, TableOptions{}, nil, nil)
		if err := Print(io.Discard, h, rows); err != nil {
			b.Fatal(err)
		}
	}
}
