package printers

import (
	"bytes"
	"fmt"
	"io"
	"os"
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

// BenchmarkObjectsYAML is the client-side cost of `kgate get pods -o yaml`
// for 200 running pods (the bench cluster's pod, managedFields and all).
func BenchmarkObjectsYAML(b *testing.B) {
	pod, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, _ := NewObjects(io.Discard, "yaml")
		p.OmitManagedFields = true
		p.BeginList()
		for range 200 {
			if err := p.Item(pod, "v1", "Pod"); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.EndList(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListJSON is the client-side cost of `kgate get pods -o json` for
// 500 running pods (the bench cluster's pod, managedFields and all): the list
// response streamed and printed as kubectl prints it.
func BenchmarkListJSON(b *testing.B) {
	pod, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		b.Fatal(err)
	}
	page := []byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1","continue":"x"},"items":[`)
	for i := range 500 {
		if i > 0 {
			page = append(page, ',')
		}
		page = append(page, pod...)
	}
	page = append(page, "]}"...)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, _ := NewObjects(io.Discard, "json")
		p.OmitManagedFields = true
		p.BeginList()
		if _, err := p.StreamList(bytes.NewReader(page), "v1", "Pod", nil); err != nil {
			b.Fatal(err)
		}
		if err := p.EndList(); err != nil {
			b.Fatal(err)
		}
	}
}
