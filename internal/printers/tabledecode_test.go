package printers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// tableBodies are Tables as the API server writes them (includeObject
// None and Metadata, conditions, every kind of cell) and odd ones.
func tableBodies() []string {
	t := bigTable(50)
	t.Kind, t.APIVersion = "Table", "meta.k8s.io/v1"
	t.ResourceVersion, t.Continue = "42", "c"
	t.Rows[3].Cells = append(t.Rows[3].Cells, nil, true, false, map[string]any{"a": []any{1.5}}, []any{"x"}, -1.25e-7, "tab\t\"q\" \u00e9 <b>")
	t.Rows[4].Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Done"}}
	t.Rows[5].Object = runtime.RawExtension{Raw: []byte(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"x","labels":{"a":"b"}}}`)}
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	return []string{
		string(b),
		`{"kind":"Table","rows":[]}`,
		`{"kind":"Table","rows":null}`,
		`{"rows":[null,{"cells":null},{"cells":[]},{"Cells":["up"]},{"cells":[1],"cells":[2]}]}`,
		` { "kind" : "Table" , "rows" : [ { "cells" : [ "a" , 1 , null ] } ] , "Rows" : [ {"cells":["b"]} ] } `,
		`{"rows":[{"cells":["\ud83d\ude00 caf\u00e9", "` + "\xff" + `", 1e3, 0, -0, 12345678901234567890]}]}`,
		`null`,
	}
}

func decodeBoth(body string) (fast, slow metav1.Table, ferr, serr error) {
	ferr = DecodeTable([]byte(body), &fast)
	serr = json.Unmarshal([]byte(body), &slow)
	return
}

func TestDecodeTableIsEncodingJSON(t *testing.T) {
	for i, body := range tableBodies() {
		fast, slow, ferr, serr := decodeBoth(body)
		if ferr != nil || serr != nil {
			t.Fatalf("body %d: %v / encoding/json %v", i, ferr, serr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("body %d:\n%#v\nencoding/json\n%#v", i, fast, slow)
		}
	}
	for _, bad := range []string{`{"rows":[{"cells":[01]}]}`, `{"rows":[{"cells":[1e999]}]}`, `{"rows":[{"cells":[tru]}]}`, `{"rows":[{"cells":["a",]}]}`,
		`{"rows":[1]}`, `{"rows":{}}`, `{"rows":[]} x`, `{"kind":1}`, `{"rows":[{"cells":["\x"]}]}`, ``} {
		fast, slow, ferr, serr := decodeBoth(bad)
		if serr == nil || ferr == nil || ferr.Error() != serr.Error() || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: %v / encoding/json %v", bad, ferr, serr)
		}
	}
}

// FuzzDecodeTableIsEncodingJSON: any body decodes as encoding/json decodes
// it into a Table, error for error.
func FuzzDecodeTableIsEncodingJSON(f *testing.F) {
	for _, b := range tableBodies() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fast, slow, ferr, serr := decodeBoth(body)
		if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
			t.Fatalf("%v / encoding/json %v", ferr, serr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%#v\nencoding/json\n%#v", fast, slow)
		}
	})
}

// BenchmarkDecodeTable is a 10,000-row Table of running pods, as get pods
// at bench-10000 receives it (includeObject=None).
func BenchmarkDecodeTable(b *testing.B) {
	t := &metav1.Table{ColumnDefinitions: bigTable(0).ColumnDefinitions}
	for i := range 10000 {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{fmt.Sprintf("bench-%05d-%s", i, strings.Repeat("x", 10)), "1/1", "Running", float64(0), "4h52m", "10.0.0.1", "kwok-node-0", "<none>", "<none>"}})
	}
	body, _ := json.Marshal(t)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var t metav1.Table
		if err := DecodeTable(body, &t); err != nil {
			b.Fatal(err)
		}
	}
}
