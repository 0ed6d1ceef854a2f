package printers

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func table() *metav1.Table {
	return &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name"}, {Name: "Ready"}, {Name: "Restarts"}, {Name: "IP", Priority: 1},
		},
		Rows: []metav1.TableRow{
			{Cells: []any{"web-1", "1/1", float64(0), "10.0.0.1"}},
			{Cells: []any{"db-0-long-name", "0/1", float64(12), nil}},
		},
	}
}

func TestPrintShape(t *testing.T) {
	h, rows := TableRows(table(), TableOptions{}, nil, nil)
	var b bytes.Buffer
	if err := Print(&b, h, rows); err != nil {
		t.Fatal(err)
	}
	want := "NAME             READY   RESTARTS\n" +
		"web-1            1/1     0\n" +
		"db-0-long-name   0/1     12\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestWideNamespaceKind(t *testing.T) {
	h, rows := TableRows(table(), TableOptions{Wide: true, WithNamespace: true, KindPrefix: "pod"},
		func(metav1.TableRow) string { return "ns1" }, nil)
	if got := len(h); got != 5 || h[0] != "NAMESPACE" || h[4] != "IP" {
		t.Fatalf("header %v", h)
	}
	if rows[0][1] != "pod/web-1" || rows[1][4] != "<none>" || rows[0][0] != "ns1" {
		t.Fatalf("rows %v", rows)
	}
}

func TestNoHeader(t *testing.T) {
	_, rows := TableRows(table(), TableOptions{}, nil, nil)
	var b bytes.Buffer
	if err := Print(&b, nil, rows); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("NAME")) || bytes.Count(b.Bytes(), []byte("\n")) != 2 {
		t.Fatalf("got %q", b.String())
	}
}

func TestLabels(t *testing.T) {
	if got := formatLabels(map[string]string{"b": "2", "a": "1"}); got != "a=1,b=2" {
		t.Fatal(got)
	}
	if got := formatLabels(nil); got != "<none>" {
		t.Fatal(got)
	}
}

func TestAligned(t *testing.T) {
	var b strings.Builder
	a := &Aligned{W: &b}
	a.Reserve(0, 8)
	_ = a.Print(Row{"EVENT", "NAME", "AGE"}, []Row{{"ADDED", "web-1", "1s"}})
	_ = a.Print(nil, []Row{{"MODIFIED", "web-1", "2s"}})
	_ = a.Print(nil, []Row{{"DELETED", "web-longer-name", "3s"}})
	want := "EVENT      NAME    AGE\nADDED      web-1   1s\nMODIFIED   web-1   2s\nDELETED    web-longer-name   3s\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
