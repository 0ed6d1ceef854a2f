package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/errs"
)

// fakeDiscovery serves a small cluster: the core group, apps, two versions
// of a CRD group, and events in two groups; calls counts the fetches.
type fakeDiscovery struct {
	calls int
	extra []metav1.APIResource // added to stable.example.com/v1
	fail  error
}

func (f *fakeDiscovery) discover() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	f.calls++
	if f.fail != nil {
		return nil, nil, f.fail
	}
	gv := func(v string) metav1.GroupVersionForDiscovery { return metav1.GroupVersionForDiscovery{Version: v} }
	groups := []*metav1.APIGroup{
		{Name: "", Versions: []metav1.GroupVersionForDiscovery{gv("v1")}, PreferredVersion: gv("v1")},
		{Name: "apps", Versions: []metav1.GroupVersionForDiscovery{gv("v1")}, PreferredVersion: gv("v1")},
		{Name: "events.k8s.io", Versions: []metav1.GroupVersionForDiscovery{gv("v1")}, PreferredVersion: gv("v1")},
		{Name: "stable.example.com", Versions: []metav1.GroupVersionForDiscovery{gv("v1"), gv("v1beta1")}, PreferredVersion: gv("v1")},
	}
	verbs := []string{"get", "list", "watch", "delete"}
	crd := []metav1.APIResource{
		{Name: "crontabs", SingularName: "crontab", Kind: "CronTab", Namespaced: true, ShortNames: []string{"ct"}, Verbs: verbs, Categories: []string{"all"}},
		{Name: "crontabs/status", Kind: "CronTab", Namespaced: true},
		{Name: "clusterthings", SingularName: "clusterthing", Kind: "ClusterThing", Verbs: verbs},
	}
	crd = append(crd, f.extra...)
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", SingularName: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Verbs: verbs, Categories: []string{"all"}},
			{Name: "pods/log", Kind: "Pod", Namespaced: true},
			{Name: "events", SingularName: "event", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"}, Verbs: verbs},
			{Name: "nodes", SingularName: "node", Kind: "Node", ShortNames: []string{"no"}, Verbs: verbs},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}, Verbs: verbs, Categories: []string{"all"}},
		}},
		{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "events", SingularName: "event", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"}, Verbs: verbs},
		}},
		{GroupVersion: "stable.example.com/v1", APIResources: crd},
		{GroupVersion: "stable.example.com/v1beta1", APIResources: []metav1.APIResource{
			{Name: "crontabs", SingularName: "crontab", Kind: "CronTab", Namespaced: true, ShortNames: []string{"ct"}, Verbs: verbs},
		}},
	}
	return groups, lists, nil
}

func newTestKinds(t *testing.T, f *fakeDiscovery) *Kinds {
	t.Helper()
	return &Kinds{Discover: f.discover, File: filepath.Join(t.TempDir(), "discovery", "c.json")}
}

func TestKindsLookup(t *testing.T) {
	f := &fakeDiscovery{}
	k := newTestKinds(t, f)
	for in, want := range map[string]string{
		"crontabs": "stable.example.com/v1/crontabs", "crontab": "stable.example.com/v1/crontabs",
		"ct": "stable.example.com/v1/crontabs", "CronTab": "stable.example.com/v1/crontabs",
		"crontabs.stable.example.com":         "stable.example.com/v1/crontabs",
		"CronTab.stable.example.com":          "stable.example.com/v1/crontabs",
		"crontabs.v1beta1.stable.example.com": "stable.example.com/v1beta1/crontabs",
		"clusterthing":                        "stable.example.com/v1/clusterthings",
		"events.events.k8s.io":                "/v1/events", // the built-in alias wins
		"ev":                                  "/v1/events",
	} {
		r, err := k.Lookup(in)
		if err != nil || r.GVR.Group+"/"+r.GVR.Version+"/"+r.GVR.Resource != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, r.GVR, err, want)
		}
	}
	if f.calls != 1 {
		t.Errorf("discovery fetched %d times, want once", f.calls)
	}
	r, _ := k.Lookup("crontabs")
	if !r.Namespaced || !r.Deletable || r.Scalable || r.Kind != "CronTab" || r.Singular != "crontab" {
		t.Errorf("crontabs: %+v", r)
	}
	if r, _ := k.Lookup("clusterthings"); r.Namespaced || r.Deletable {
		t.Errorf("a cluster-scoped kind is never deletable: %+v", r)
	}
}

func TestKindsBuiltinNeedsNoDiscovery(t *testing.T) {
	f := &fakeDiscovery{}
	k := newTestKinds(t, f)
	for _, n := range []string{"pods", "po", "deploy", "ingresses", "ing", "pvc", "hpa", "netpol", "sa", "roles",
		"rolebindings", "endpointslices", "pdb", "nodes", "pv", "sc", "crd", "deployments.v1.apps", "pods.v1"} {
		if _, err := k.Lookup(n); err != nil {
			t.Errorf("Lookup(%q): %v", n, err)
		}
	}
	if f.calls != 0 {
		t.Errorf("built-in kinds made %d discovery calls", f.calls)
	}
	if _, err := os.Stat(k.File); !os.IsNotExist(err) {
		t.Errorf("no cache file should be written: %v", err)
	}
}

func TestKindsDiskCache(t *testing.T) {
	f := &fakeDiscovery{}
	dir := t.TempDir()
	file := filepath.Join(dir, "discovery", "c.json")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k := &Kinds{Discover: f.discover, File: file, Now: clock}
	if _, err := k.Lookup("ct"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", st, err)
	}
	if st, _ := os.Stat(filepath.Dir(file)); st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v", st.Mode().Perm())
	}
	// A new process within the TTL: no fetch, also offline.
	off := &fakeDiscovery{fail: errors.New("connection refused")}
	k2 := &Kinds{Discover: off.discover, File: file, Now: clock}
	if _, err := k2.Lookup("crontabs"); err != nil || off.calls != 0 {
		t.Fatalf("warm cache: %v, %d calls", err, off.calls)
	}
	// An unknown kind refreshes once and finds a new CRD.
	f2 := &fakeDiscovery{extra: []metav1.APIResource{{Name: "widgets", SingularName: "widget", Kind: "Widget", Namespaced: true, Verbs: []string{"get"}}}}
	k3 := &Kinds{Discover: f2.discover, File: file, Now: clock}
	if r, err := k3.Lookup("widget"); err != nil || r.GVR.Resource != "widgets" || f2.calls != 1 {
		t.Fatalf("new CRD: %v %v, %d calls", r.GVR, err, f2.calls)
	}
	if _, err := k3.Lookup("nosuchthing"); err == nil || f2.calls != 1 {
		t.Fatalf("a second unknown kind fetches no more: %v, %d calls", err, f2.calls)
	}
	// Past the TTL the cache is refreshed; when the cluster is unreachable the
	// stale copy still answers.
	now = now.Add(7 * time.Hour)
	off2 := &fakeDiscovery{fail: errors.New("connection refused")}
	k4 := &Kinds{Discover: off2.discover, File: file, Now: clock}
	if r, err := k4.Lookup("widgets"); err != nil || r.GVR.Resource != "widgets" || off2.calls != 1 {
		t.Fatalf("stale cache offline: %v %v, %d calls", r.GVR, err, off2.calls)
	}
	// No cache and no cluster: the failure, not "unknown kind".
	k5 := &Kinds{Discover: off2.discover, File: filepath.Join(dir, "other.json")}
	if _, err := k5.Lookup("widgets"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("offline without cache: %v", err)
	}
	// A corrupt cache file is no cache.
	os.WriteFile(file, []byte("{not json"), 0o600)
	k6 := &Kinds{Discover: f.discover, File: file, Now: clock}
	if _, err := k6.Lookup("ct"); err != nil {
		t.Fatalf("corrupt cache: %v", err)
	}
}

func TestKindsCategories(t *testing.T) {
	k := newTestKinds(t, &fakeDiscovery{})
	ts, err := k.ParseArgs([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, t := range ts {
		got = append(got, t.Resource.GVR.Resource)
	}
	if strings.Join(got, ",") != "pods,deployments,crontabs" {
		t.Errorf("all = %v", got)
	}
	// Without a cluster: the built-in members of "all".
	var static *Kinds
	rs, err := static.Expand("all")
	if err != nil || len(rs) != 10 {
		t.Errorf("static all: %d %v", len(rs), err)
	}
	if _, err := k.ParseArgs([]string{"all/x"}); err == nil {
		t.Error("a category is not a TYPE in TYPE/NAME")
	}
}

func TestKindsDidYouMean(t *testing.T) {
	k := newTestKinds(t, &fakeDiscovery{})
	for typed, want := range map[string]string{
		"pdos": `"pods"`, "deploymnets": `"deployments"`, "crontbas": `"crontabs"`, "ingress": "", "nodess": `"nodes"`,
	} {
		_, err := k.Lookup(typed)
		if want == "" {
			if err != nil {
				t.Errorf("Lookup(%q): %v", typed, err)
			}
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage || !strings.Contains(e.Hint, "Did you mean "+want) {
			t.Errorf("Lookup(%q) = %v (hint %q); want a usage error suggesting %s", typed, err, hintOf(err), want)
		}
	}
	if s := Suggest("zzzzzz", []string{"pods"}); len(s) != 0 {
		t.Errorf("nothing near: %v", s)
	}
}

func hintOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

func TestCacheFile(t *testing.T) {
	a := CacheFile("/c", "", "https://127.0.0.1:6443", "alice")
	b := CacheFile("/c", "", "https://127.0.0.1:6443", "bob")
	if a == b || !strings.HasPrefix(a, "/c/discovery/127.0.0.1_6443_alice-") {
		t.Errorf("CacheFile: %s %s", a, b)
	}
	if c := CacheFile("/c", "", "https://x/../../etc", "../u"); strings.Contains(strings.TrimPrefix(c, "/c/discovery/"), "/") {
		t.Errorf("a server or user name must not leave the cache dir: %s", c)
	}
	// Two clusters at one URL (a tunnel, a gateway) keep apart.
	test := CacheFile("/c", "test", "https://127.0.0.1:6443", "alice")
	prod := CacheFile("/c", "prod", "https://127.0.0.1:6443", "alice")
	if test == prod || test == a || !strings.HasPrefix(prod, "/c/discovery/prod_127.0.0.1_6443_alice-") {
		t.Errorf("CacheFile per cluster: %s %s", test, prod)
	}
	if c := CacheFile("/c", "../../x", "https://h", "u"); strings.Contains(strings.TrimPrefix(c, "/c/discovery/"), "/") {
		t.Errorf("a cluster name must not leave the cache dir: %s", c)
	}
}
