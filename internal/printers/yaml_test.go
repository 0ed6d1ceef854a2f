package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// yamlOracle is what Objects printed before the writer: sigs.k8s.io/yaml's
// JSONToYAML of the compact JSON (as a sequence of one for a list item).
func yamlOracle(j []byte, inList bool) (string, error) {
	if inList {
		j = append(append([]byte{'['}, j...), ']')
	}
	y, err := yaml.JSONToYAML(j)
	return string(y), err
}

// checkYAMLWriter holds the writer to yaml.v2 on one object: where it
// renders, byte for byte the same. It reports whether the writer rendered.
func checkYAMLWriter(t *testing.T, obj []byte) bool {
	t.Helper()
	p := Objects{OmitManagedFields: true}
	j, err := p.appendJSON(nil, obj, "", "", -1)
	if err != nil {
		return false
	}
	rendered := false
	for _, inList := range []bool{false, true} {
		var y yamlWriter
		got, ok := y.render([]byte("prefix\n"), j, inList)
		if !ok {
			if string(got) != "prefix\n" {
				t.Fatalf("%s: declined but wrote %q", j, got)
			}
			continue
		}
		rendered = true
		want, err := yamlOracle(j, inList)
		if err != nil {
			t.Fatalf("%s (list %v): rendered, but yaml.v2 fails: %v", j, inList, err)
		}
		if string(got[len("prefix\n"):]) != want {
			t.Fatalf("%s (list %v):\ngot\n%s\nyaml.v2\n%s", j, inList, got[len("prefix\n"):], want)
		}
	}
	return rendered
}

// yamlAtoms are strings near every edge of the writer's rules: words and
// numbers yaml.v2 reads as other types, timestamps, indicators, colons,
// spaces near column 80, digits in keys.
var yamlAtoms = []string{
	"", "a", "y", "Y", "yes", "Yes", "no", "NO", "on", "off", "true", "True", "false", "null", "Null", "~", "nil",
	"yess", "onion", "nulls", "0", "00", "007", "0123", "089", "1", "12", "1.5", "1.", ".5", "1e3", "1E5", "1e", "1e+5",
	"0x1F", "0x1g", "0b101", "0b12", "0o17", "1_000", "1__0", "10m", "64Mi", "1Gi", "100m", "0/1", "1/2", "10.244.1.23",
	"1.2.3", "2026-12-01T16:12:21Z", "2026-12-01", "2026-1-2", "2026-12-01T16:12:21.123456Z", "2026-13-01", "2026-12-01x",
	"2026-12-01 16:12:21", "1:20", "1:2:3", "a:b", "a:", ":a", "a: b", "nginx:1.25", "registry.k8s.io/pause:3.9", "http://x/y",
	"/bin/sh", "/", "-", "-a", "--", "---", "...", ".", "+1", "-1", "a-b", "a_b", "a.b", "a=b", "a+b", "a@b", "a,b", "(a)",
	"a%", "%a", "@a", ",a", "a b", " a", "a ", "a  b", "a#b", "a #b", "#a", "a'b", "'a", "a\"b", "a\\b", "a\nb", "a\tb",
	"é", "aé", "a\u2028b", "<b>", "a&b", "*a", "&a", "!a", "|a", ">a", "?a", "a?", "a[b]", "[a]", "{a}", "a}", "`a",
	"Running", "ClusterFirst", "IfNotPresent", "TCP", "kube-system", "app.kubernetes.io/name", "k8s-app", "v1", "v1beta1", "v10",
	"a1", "a01", "a001", "a1b", "a10", "a2", "A", "B", "_a", "a0", "x1y", "x01y",
	strings.Repeat("word ", 15) + "end", strings.Repeat("w", 70) + " x", strings.Repeat("w", 60) + " xx yy zz",
	strings.Repeat("k", 128), strings.Repeat("k", 129), strings.Repeat("x", 200),
	"a\n", "a\n\n", "\n", "\n\n", " a\nb", "a \nb", "a\n b", "a\n\nb\n", "line1\nline2\n", "x\n" + strings.Repeat("long ", 30) + "\n",
	"'q'", "it's", "a: b: c", "*", "- a", "? a", "?a", "-a b", ": a", "a:b c", `{"a":"b"}`, `say "hi"`, "<none>", "a&b <c>",
	"0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found.",
	"#!/bin/sh\nexec sleep 3600\n", "\ttab", "a\rb", "1 2", "2026-12-01 16:12:21\n", "true\n", "+.inf", "-.Inf", ".NaN", ".5e3", "-1_0", "+1", "-0b101", "-0x1",
}

// randomYAMLString is an atom, or words of random lengths: lines that end
// on either side of column 80 at every indent.
func randomYAMLString(r *rand.Rand) string {
	if r.IntN(4) > 0 {
		return yamlAtoms[r.IntN(len(yamlAtoms))]
	}
	var words []string
	for range 1 + r.IntN(5) {
		w := strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(40))
		if r.IntN(4) == 0 {
			w += string(":'#\"-*\n"[r.IntN(7)])
		}
		words = append(words, w)
	}
	return strings.Join(words, strings.Repeat(" ", 1+r.IntN(2)))
}

func randomYAMLValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case depth > 5 || n < 4:
		return randomYAMLString(r)
	case n == 4:
		return []any{int64(r.IntN(2000) - 1000), 1.5, 1e21, 1e-7, -0.0, 12345678901234567890.0, r.Float64()}[r.IntN(7)]
	case n == 5:
		return []any{true, false, nil}[r.IntN(3)]
	case n < 8:
		m := map[string]any{}
		for range r.IntN(6) {
			m[randomYAMLString(r)] = randomYAMLValue(r, depth+1)
		}
		return m
	default:
		var l []any
		for range r.IntN(4) {
			l = append(l, randomYAMLValue(r, depth+1))
		}
		if l == nil {
			l = []any{}
		}
		return l
	}
}

// TestYAMLWriterMatchesYAMLv2 renders random objects built from the atoms
// above and checks each rendering against yaml.v2's.
func TestYAMLWriterMatchesYAMLv2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rendered := 0
	const n = 15000
	for i := range n {
		m := map[string]any{}
		for range 1 + r.IntN(5) {
			m[randomYAMLString(r)] = randomYAMLValue(r, 0)
		}
		if i%7 == 0 {
			m = map[string]any{}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if checkYAMLWriter(t, b) {
			rendered++
		}
	}
	// The rules must leave the writer most of these, or it tests nothing.
	if rendered < n/10 {
		t.Fatalf("the writer rendered %d of %d objects", rendered, n)
	}
	t.Logf("rendered %d of %d", rendered, n)
}

// The bench cluster's running pod is the writer's to render: -o yaml of
// ordinary objects must not fall back.
func TestYAMLWriterRendersAPod(t *testing.T) {
	pod, err := os.ReadFile("testdata/pod.json")
	if err != nil {
		t.Fatal(err)
	}
	if !checkYAMLWriter(t, pod) {
		t.Fatal("the pod went to yaml.v2")
	}
	for _, it := range items {
		checkYAMLWriter(t, []byte(it))
	}
}

func FuzzYAMLWriterMatchesYAMLv2(f *testing.F) {
	for _, it := range items {
		f.Add(it)
	}
	for _, a := range yamlAtoms {
		b, _ := json.Marshal(map[string]any{a: a, "l": []any{a, map[string]any{a: []any{a}}}})
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, obj string) {
		if !json.Valid([]byte(obj)) || !strings.HasPrefix(strings.TrimSpace(obj), "{") {
			return
		}
		checkYAMLWriter(t, []byte(obj))
	})
}

func ExampleObjects_yaml() {
	var out bytes.Buffer
	p, _ := NewObjects(&out, "yaml")
	_ = p.Object([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","creationTimestamp":"2026-12-01T16:12:21Z"},"spec":{"containers":[{"name":"app","ports":[{"containerPort":8080}]}]}}`), "", "")
	fmt.Print(out.String())
	// Output:
	// apiVersion: v1
	// kind: Pod
	// metadata:
	//   creationTimestamp: "2026-12-01T16:12:21Z"
	//   name: web
	// spec:
	//   containers:
	//   - name: app
	//     ports:
	//     - containerPort: 8080
}
