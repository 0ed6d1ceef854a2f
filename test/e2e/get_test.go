package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// names returns the sorted lines of -o name output.
func names(out string) []string {
	var n []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			n = append(n, l)
		}
	}
	sort.Strings(n)
	return n
}

func TestGetNamesMatchCluster(t *testing.T) {
	u := Operator(t)
	for _, kind := range []string{"pods", "deploy", "rs", "svc", "cm", "sts", "jobs", "cronjobs", "daemonsets", "secrets"} {
		for _, ns := range []string{"payments", "search-prod"} {
			got := names(u.MustRun("get", kind, "-n", ns, "-o", "name").Stdout)
			want := names(MustKubectl(t, "get", kind, "-n", ns, "-o", "name").Stdout)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("get %s -n %s -o name:\n kgate   %v\n kubectl %v", kind, ns, got, want)
			}
		}
	}
}

func TestGetTableMatchesKubectl(t *testing.T) {
	u := Operator(t)
	for _, args := range [][]string{
		{"get", "pods", "-n", "payments"},
		{"get", "deploy", "-n", "payments", "-o", "wide"},
		{"get", "svc,cm", "-n", "payments"},
		{"get", "pods", "-A", "-l", "app=web"},
		{"get", "namespaces"},
	} {
		got := Fields(u.MustRun(args...).Stdout)
		want := Fields(MustKubectl(t, args...).Stdout)
		if len(got) != len(want) {
			t.Errorf("%v: %d rows, kubectl %d\n%v\n%v", args, len(got), len(want), got, want)
			continue
		}
		if strings.Join(got[0], " ") != strings.Join(want[0], " ") {
			t.Errorf("%v: header %v, kubectl %v", args, got[0], want[0])
		}
		// Compare every cell but ages, which move with the clock between the two runs.
		sortRows(got[1:])
		sortRows(want[1:])
		for r := 1; r < len(got); r++ {
			if len(got[r]) != len(want[r]) {
				t.Errorf("%v row %d: %v vs kubectl %v", args, r, got[r], want[r])
				continue
			}
			for c := range got[r] {
				if got[r][c] != want[r][c] && !(isAge(got[r][c]) && isAge(want[r][c])) {
					t.Errorf("%v row %d col %d: %q vs kubectl %q", args, r, c, got[r][c], want[r][c])
				}
			}
		}
	}
}

var ageRE = regexp.MustCompile(`^\(?(\d+y)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$`)

// isAge recognises kubectl's short durations: 33s, 5m12s, 3h, 2d4h, and the
// last restart's age in RESTARTS ("1 (3m36s ago)" splits into "(3m36s").
func isAge(s string) bool { return strings.TrimPrefix(s, "(") != "" && ageRE.MatchString(s) }

func sortRows(rows [][]string) {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], " ") < strings.Join(rows[j], " ") })
}

func TestGetJSONComplete(t *testing.T) {
	u := Operator(t)
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	out := u.MustRun("get", "pods", "-n", "payments", "-o", "json").Stdout
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("-o json is not valid JSON: %v\n%s", err, out)
	}
	var truth struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(MustKubectl(t, "get", "pods", "-n", "payments", "-o", "json").Stdout), &truth); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" || len(list.Items) != len(truth.Items) || len(list.Items) == 0 {
		t.Fatalf("kind %q, %d items; kubectl has %d", list.Kind, len(list.Items), len(truth.Items))
	}
	for _, it := range list.Items {
		md, _ := it["metadata"].(map[string]any)
		if it["kind"] != "Pod" || it["apiVersion"] != "v1" || md["uid"] == nil || it["spec"] == nil || it["status"] == nil {
			t.Errorf("incomplete item: kind=%v apiVersion=%v uid=%v", it["kind"], it["apiVersion"], md["uid"])
		}
	}
	// One name gives the object itself.
	name := strings.TrimPrefix(names(u.MustRun("get", "pods", "-n", "payments", "-o", "name").Stdout)[0], "pod/")
	var one map[string]any
	if err := json.Unmarshal([]byte(u.MustRun("get", "pod", name, "-n", "payments", "-o", "json").Stdout), &one); err != nil || one["kind"] != "Pod" {
		t.Fatalf("single -o json: kind %v err %v", one["kind"], err)
	}
	var y map[string]any
	if err := yaml.Unmarshal([]byte(u.MustRun("get", "deploy/web", "-n", "payments", "-o", "yaml").Stdout), &y); err != nil || y["kind"] != "Deployment" {
		t.Fatalf("-o yaml: kind %v err %v", y["kind"], err)
	}
	jp := u.MustRun("get", "deploy", "web", "-n", "payments", "-o", "jsonpath={.spec.replicas}").Stdout
	kp := MustKubectl(t, "get", "deploy", "web", "-n", "payments", "-o", "jsonpath={.spec.replicas}").Stdout
	if jp != kp {
		t.Errorf("jsonpath: %q vs kubectl %q", jp, kp)
	}
}

func TestGetSelectorsAndForms(t *testing.T) {
	u := Operator(t)
	got := names(u.MustRun("get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	want := names(MustKubectl(t, "get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	if len(got) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("-l app=web: %v vs %v", got, want)
	}
	got = names(u.MustRun("get", "pods", "-A", "--field-selector", "status.phase=Running", "-o", "name").Stdout)
	want = names(MustKubectl(t, "get", "pods", "-A", "--field-selector", "status.phase=Running", "-o", "name").Stdout)
	if len(got) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("--field-selector: %v vs %v", got, want)
	}
	// -A adds a NAMESPACE column and spans namespaces.
	rows := Fields(u.MustRun("get", "deploy", "-A").Stdout)
	if rows[0][0] != "NAMESPACE" {
		t.Fatalf("-A header %v", rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[0]] = true
	}
	if !seen["payments"] || !seen["search-prod"] {
		t.Errorf("-A namespaces %v", seen)
	}
	// TYPE/NAME arguments of several kinds, prefixed as kubectl does.
	out := u.MustRun("get", "deploy/web", "svc/web", "-n", "payments", "--no-headers").Stdout
	if !strings.Contains(out, "deployment.apps/web") || !strings.Contains(out, "service/web") || strings.Contains(out, "NAME") {
		t.Errorf("TYPE/NAME output:\n%s", out)
	}
	// Several names of one kind.
	ns := names(u.MustRun("get", "pods", "-n", "payments", "-o", "name").Stdout)
	if len(ns) >= 2 {
		a, b := strings.TrimPrefix(ns[0], "pod/"), strings.TrimPrefix(ns[1], "pod/")
		rows := Fields(u.MustRun("get", "pods", a, b, "-n", "payments").Stdout)
		if len(rows) != 3 {
			t.Errorf("two names: %v", rows)
		}
	}
}

func TestGetErrors(t *testing.T) {
	u := Operator(t)
	r := u.Run("get", "frobnicators")
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, `the server doesn't have a resource type "frobnicators"`) {
		t.Errorf("unknown kind message: %s", r.Stderr)
	}
	r = u.Run("get", "pod", "no-such-pod", "-n", "payments")
	WantCode(t, r, 5)
	if !strings.Contains(r.Stderr, `pods "no-such-pod" not found`) {
		t.Errorf("not found message: %s", r.Stderr)
	}
	r = u.Run("get", "pods", "--no-such-flag")
	WantCode(t, r, 2)
	r = u.Run("get", "pods", "-o", "bogus", "-n", "payments")
	WantCode(t, r, 2)
	if r.Stdout != "" {
		t.Errorf("stdout on error: %q", r.Stdout)
	}

	// An API server that is not there: exit 6, quickly.
	dir := t.TempDir()
	down := filepath.Join(dir, "down.kubeconfig")
	writeKubeconfig(t, down, "https://127.0.0.1:1")
	start := time.Now()
	r = u.Run("get", "pods", "--kubeconfig", down, "-n", "payments")
	WantCode(t, r, 6)
	if !strings.Contains(r.Stderr, "cannot reach the API server") || time.Since(start) > 30*time.Second {
		t.Errorf("unreachable: %s (%v)", r.Stderr, time.Since(start))
	}

	// A kubeconfig that is not YAML.
	bad := filepath.Join(dir, "bad.kubeconfig")
	if err := os.WriteFile(bad, []byte("clusters: [\n  - {{{"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = u.Run("get", "pods", "--kubeconfig", bad)
	if r.Code == 0 || !strings.Contains(r.Stderr, "bad.kubeconfig") {
		t.Errorf("malformed kubeconfig: %s", r)
	}
}

func writeKubeconfig(t *testing.T, path, server string) {
	t.Helper()
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ` + server + `
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: nothing
contexts:
- name: c
  context: {cluster: c, user: u, namespace: payments}
current-context: c
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDescribe(t *testing.T) {
	u := Operator(t)
	out := u.MustRun("describe", "deploy/web", "-n", "payments").Stdout
	for _, want := range []string{"Name:", "web", "Namespace:", "payments", "Replicas:", "Events:"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe deploy/web lacks %q:\n%s", want, out)
		}
	}
	truth := MustKubectl(t, "describe", "deploy/web", "-n", "payments").Stdout
	if firstLines(out, 6) != firstLines(truth, 6) {
		t.Errorf("describe differs from kubectl's:\n%s\n---\n%s", firstLines(out, 6), firstLines(truth, 6))
	}
	pods := names(u.MustRun("get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	out = u.MustRun("describe", "pods", "-n", "payments", "-l", "app=web").Stdout
	if c := strings.Count(out, "\nNamespace:"); c != len(pods) || !strings.Contains(out, "Events:") {
		t.Errorf("describe -l: %d objects for %d pods", c, len(pods))
	}
	r := u.Run("describe", "pod", "no-such-pod", "-n", "payments")
	WantCode(t, r, 5)
	r = u.Run("describe", "frobnicators", "x")
	WantCode(t, r, 2)
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}

func TestGetWatch(t *testing.T) {
	u := Operator(t)
	p := u.Start("get", "configmaps", "-n", "sandbox", "-w", "--output-watch-events")
	name := "watch-me-" + time.Now().Format("150405")
	MustKubectl(t, "create", "configmap", name, "-n", "sandbox", "--from-literal=a=b")
	defer Kubectl(t, "delete", "configmap", name, "-n", "sandbox")
	if !p.WaitFor(name, 20*time.Second) {
		t.Fatalf("watch never showed %s:\n%s", name, p.Output())
	}
	if !strings.Contains(p.Output(), "ADDED") {
		t.Errorf("no event type column:\n%s", p.Output())
	}
	p.Stop()
}

// TestGetObjectsMatchKubectlBytes: -o json and -o yaml, streamed from the API
// server's responses as they arrive, print kubectl's bytes: lists (one and
// several kinds, paged with a small --chunk-size, empty), one object,
// several named objects, the cluster-scoped kinds, custom resources and
// their definitions.
func TestGetObjectsMatchKubectlBytes(t *testing.T) {
	u := Operator(t)
	for _, format := range []string{"json", "yaml"} {
		for _, args := range [][]string{
			{"get", "pods", "-n", "payments"},
			{"get", "pods", "-n", "payments", "--chunk-size", "1"},
			{"get", "deploy,svc,cm", "-n", "payments"},
			{"get", "deploy", "web", "-n", "payments"},
			{"get", "deploy/web", "svc/web", "-n", "payments"},
			{"get", "pods", "-n", "payments", "-l", "nothing=here"},
			{"get", "pods", "-n", "payments", "--sort-by", ".metadata.name"},
			{"get", "namespaces"},
			{"get", "nodes"},
			{"get", "crd"},
			// Custom resources' lists name their kind after their items.
			{"get", "widgets", "-n", "payments-staging"},
			{"get", "widgets", "-n", "payments-staging", "--chunk-size", "1"},
			// Single-quoted '*' verbs and resources, beside the plain,
			// double-quoted and literal-block scalars of the kinds above.
			{"get", "clusterroles"},
		} {
			args := append(append([]string(nil), args...), "-o", format)
			got := u.MustRun(args...).Stdout
			want := MustKubectl(t, args...).Stdout
			if got != want {
				t.Errorf("%v: output differs from kubectl's\n%s", args, firstDiff(got, want))
			}
		}
	}
}

// TestGetTablesMatchKubectlIncludeObject: the tables that need each row's
// object (-A's namespace column, --show-labels, -L, --sort-by, names) match
// kubectl, now that plain tables ask for none.
func TestGetTablesMatchKubectlIncludeObject(t *testing.T) {
	u := Operator(t)
	for _, args := range [][]string{
		{"get", "pods", "-A"},
		{"get", "pods", "-n", "payments", "--show-labels"},
		{"get", "pods", "-n", "payments", "-L", "app,job-name"},
		{"get", "pods", "-A", "-l", "app=web", "--show-labels"},
		{"get", "pods", "-n", "payments", "--sort-by", ".metadata.name"},
		{"get", "pods", "-n", "payments", "--sort-by", ".spec.nodeName"},
		{"get", "deploy", "web", "-n", "payments", "-o", "wide"},
		{"get", "pods", "-n", "payments", "-o", "name"},
	} {
		got := Fields(u.MustRun(args...).Stdout)
		want := Fields(MustKubectl(t, args...).Stdout)
		if len(got) != len(want) {
			t.Errorf("%v: %d rows, kubectl %d", args, len(got), len(want))
			continue
		}
		for r := range got {
			if len(got[r]) != len(want[r]) {
				t.Errorf("%v row %d: %v vs kubectl %v", args, r, got[r], want[r])
				continue
			}
			for c := range got[r] {
				if got[r][c] != want[r][c] && !(isAge(got[r][c]) && isAge(want[r][c])) {
					t.Errorf("%v row %d col %d: %q vs kubectl %q", args, r, c, got[r][c], want[r][c])
				}
			}
		}
	}
}

// firstDiff shows where two outputs part.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  kgate:   " + al[i] + "\n  kubectl: " + bl[i]
		}
	}
	return "lengths: " + strconv.Itoa(len(al)) + " vs " + strconv.Itoa(len(bl)) + " lines"
}
