package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
)

// items are list items as an API server sends them (no kind), with the
// values that make encoders differ: escapes, HTML characters, non-ASCII,
// invalid UTF-8, U+2028, floats, big integers, empty and null values, and
// strings long enough for YAML to fold.
var items = []string{
	`{"metadata":{"name":"a","namespace":"ns","labels":{"z":"1","a":"<b>&"},"managedFields":[{"manager":"kubectl"}]},"spec":{"x":1.5,"y":1e3,"z":-0,"big":12345678901234567890,"n":null,"e":{},"l":[],"s":"tab\there \"q\" \\ \u00e9 \u2028 end"}}`,
	`{"metadata":{"name":"b","annotations":{"long":"` + strings.Repeat("word ", 40) + `","ml":"line1\nline2\n","yes":"yes","num":"0123","colon":"a: b"}},"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"X"}],"f":0.000001,"g":100000000000000000000000,"u":"\ud83d\ude00 caf\u00e9"}}`,
	`{"apiVersion":"example.com/v2","kind":"Widget","metadata":{"name":"c"},"B":"upper","a":[[1,2],[],[{}]],"t":true,"f":false}`,
}

// kubectlPrint prints objs as kubectl get does: decoded into unstructured
// objects, the list as a v1 List, through cli-runtime's printers.
func kubectlPrint(t *testing.T, format string, list bool, objs []string) string {
	t.Helper()
	var p cliprinters.ResourcePrinter = &cliprinters.JSONPrinter{}
	if format == "yaml" {
		p = &cliprinters.YAMLPrinter{}
	}
	p = &cliprinters.OmitManagedFieldsPrinter{Delegate: p}
	var us []unstructured.Unstructured
	for _, o := range objs {
		u := unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(withKind(o))); err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	var out bytes.Buffer
	if list {
		l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		l.Items = us
		if l.Items == nil {
			l.Items = []unstructured.Unstructured{}
		}
		if err := p.PrintObj(l, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for i := range us {
		if err := p.PrintObj(&us[i], &out); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

// withKind adds the kind a dynamic client sets on list items.
func withKind(o string) string {
	if strings.Contains(o, `"kind"`) {
		return o
	}
	return `{"apiVersion":"v1","kind":"Pod",` + o[1:]
}

func TestObjectsMatchKubectl(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		for _, n := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("%s list of %d", format, n), func(t *testing.T) {
				var out bytes.Buffer
				p, _ := NewObjects(&out, format)
				p.OmitManagedFields = true
				p.BeginList()
				for _, it := range items[:n] {
					if err := p.Item([]byte(it), "v1", "Pod"); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.EndList(); err != nil {
					t.Fatal(err)
				}
				if want := kubectlPrint(t, format, true, items[:n]); out.String() != want {
					t.Errorf("got\n%s\nkubectl\n%s", out.String(), want)
				}
			})
		}
		t.Run(format+" objects", func(t *testing.T) {
			var out bytes.Buffer
			p, _ := NewObjects(&out, format)
			p.OmitManagedFields = true
			for _, it := range items {
				if err := p.Object([]byte(withKind(it)), "", ""); err != nil {
					t.Fatal(err)
				}
			}
			if want := kubectlPrint(t, format, false, items); out.String() != want {
				t.Errorf("got\n%s\nkubectl\n%s", out.String(), want)
			}
		})
	}
}

func TestValueIsMarshalIndent(t *testing.T) {
	v := struct {
		B []int           `json:"b"`
		A string          `json:"a"`
		C map[string]bool `json:"c"`
	}{[]int{1, 2}, "<x>", map[string]bool{}}
	var out bytes.Buffer
	if err := Value(&out, "json", v); err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(v, "", "  ")
	if out.String() != string(want)+"\n" {
		t.Errorf("got %s want %s", out.String(), want)
	}
}

func TestObjectsRejectMalformed(t *testing.T) {
	for _, bad := range []string{`{`, `{"a":}`, `{"a":1,}`, `[1 2]`, `{"a":"x}`, `{"a":tru}`, `{} x`} {
		var out bytes.Buffer
		p, _ := NewObjects(&out, "json")
		if err := p.Object([]byte(bad), "", ""); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func BenchmarkObjectsJSON(b *testing.B) {
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		p, _ := NewObjects(&out, "json")
		p.BeginList()
		for _, it := range items {
			_ = p.Item([]byte(it), "v1", "Pod")
		}
		_ = p.EndList()
	}
}

var digitKey = regexp.MustCompile(`"[0-9][^"]*"\s*:`)

// FuzzObjectsMatchKubectl: any object the API server could send prints as
// kubectl prints it, as JSON and as YAML, or fails where kubectl fails.
func FuzzObjectsMatchKubectl(f *testing.F) {
	for _, it := range items {
		f.Add(it)
	}
	f.Add(`{"metadata":{"name":"d","a":{"b":{"c":{"d":{"e":{"f":[{"g":{"h":1}}]}}}},"b":{"a":2,"a":3}}},"spec":{"z":{"y":{},"x":[]},"a":"\u003c"}}`)
	f.Fuzz(func(t *testing.T, it string) {
		u := unstructured.Unstructured{}
		if !strings.HasPrefix(strings.TrimSpace(it), "{") || u.UnmarshalJSON([]byte(withKind(it))) != nil {
			return
		}
		formats := []string{"json", "yaml"}
		if digitKey.MatchString(it) {
			// yaml.v2 orders keys that start with digits by a comparison that
			// is not transitive ("007" < "00A" < "1" < "007"), so kubectl's
			// own YAML order for them follows Go's random map order.
			formats = formats[:1]
		}
		for _, format := range formats {
			var want bytes.Buffer
			var kp cliprinters.ResourcePrinter = &cliprinters.JSONPrinter{}
			if format == "yaml" {
				kp = &cliprinters.YAMLPrinter{}
			}
			kerr := (&cliprinters.OmitManagedFieldsPrinter{Delegate: kp}).PrintObj(&u, &want)
			var out bytes.Buffer
			p, _ := NewObjects(&out, format)
			p.OmitManagedFields = true
			err := p.Object([]byte(withKind(it)), "", "")
			if (err != nil) != (kerr != nil) {
				t.Fatalf("%s of %s: error %v, kubectl's %v", format, it, err, kerr)
			}
			if err == nil && out.String() != want.String() {
				t.Errorf("%s of %s:\ngot\n%s\nkubectl\n%s", format, it, out.String(), want.String())
			}
		}
	})
}

// Numbers follow JSON's grammar, not strconv's.
func TestObjectsNumbers(t *testing.T) {
	for _, ok := range []string{"0", "-0", "12", "1.5", "-1.5e10", "1E+2", "0.0e-0", "12345678901234567890"} {
		p, _ := NewObjects(io.Discard, "json")
		if err := p.Object([]byte(`{"a":`+ok+`}`), "", ""); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"00", "01", "-", "1.", ".5", "1e", "1e+", "--1", "1-2", "1.2.3", "-01"} {
		p, _ := NewObjects(io.Discard, "json")
		if err := p.Object([]byte(`{"a":`+bad+`}`), "", ""); !Malformed(err) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
