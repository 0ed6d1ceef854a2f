package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// serveNamespaceWatch is the fake API server's watch of namespaces: every
// namespace added, a bookmark, one deleted, as JSON or as Tables.
func serveNamespaceWatch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	table := strings.Contains(r.Header.Get("Accept"), "as=Table")
	ev := func(typ, name string, first bool) {
		var obj any = map[string]any{"kind": "Namespace", "apiVersion": "v1", "metadata": map[string]any{"name": name}}
		if table {
			t := map[string]any{"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{},
				"rows": []any{map[string]any{"cells": []any{name, "Active"}, "object": map[string]any{"metadata": map[string]any{"name": name}}}}}
			if first {
				t["columnDefinitions"] = []any{map[string]any{"name": "Name"}, map[string]any{"name": "Status"}}
			}
			obj = t
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "object": obj})
		http.NewResponseController(w).Flush()
	}
	for i, n := range clusterNamespaces {
		ev("ADDED", n, i == 0)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{"kind": "Namespace", "metadata": map[string]any{"resourceVersion": "9"}}})
	ev("DELETED", "secret-project", false)
	ev("MODIFIED", "payments", false)
}

// serveReviewUpstream is the fake API server's access reviews: it allows
// everything but resources named "refused-by-cluster", and its rules are
// kgate-admin's and the usual cluster-wide ones.
func serveReviewUpstream(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	switch rv := obj.(type) {
	case *authorizationv1.SelfSubjectAccessReview:
		ra := rv.Spec.ResourceAttributes
		rv.Status.Allowed = ra == nil || ra.Resource != "refused-by-cluster"
		if !rv.Status.Allowed {
			rv.Status.Reason = "RBAC: no"
		}
		rv.Spec = authorizationv1.SelfSubjectAccessReviewSpec{} // not relied on
	case *authorizationv1.SelfSubjectRulesReview:
		// kube-apiserver answers with an empty spec.
		rv.Spec = authorizationv1.SelfSubjectRulesReviewSpec{}
		rv.Status.ResourceRules = []authorizationv1.ResourceRule{
			{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}},
		}
		for _, cr := range ClusterRoles()[1].Rules {
			rv.Status.ResourceRules = append(rv.Status.ResourceRules, authorizationv1.ResourceRule{Verbs: cr.Verbs, APIGroups: cr.APIGroups, Resources: cr.Resources})
		}
		rv.Status.NonResourceRules = []authorizationv1.NonResourceRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*", "/apis", "/apis/*", "/version", "/healthz", "/livez", "/readyz"}},
		}
	}
	var buf bytes.Buffer
	_ = jsonEncoder().Encode(obj, &buf)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	_, _ = w.Write(buf.Bytes())
}

func (f *fixture) review(t *testing.T, user string, in runtime.Object, into runtime.Object) int {
	t.Helper()
	var buf bytes.Buffer
	gvks, _, _ := scheme.Scheme.ObjectKinds(in)
	in.GetObjectKind().SetGroupVersionKind(gvks[0])
	_ = jsonEncoder().Encode(in, &buf)
	path := "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	if _, ok := in.(*authorizationv1.SelfSubjectRulesReview); ok {
		path = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
	}
	req, _ := http.NewRequest("POST", f.srv.URL+path, &buf)
	req.Header.Set("Authorization", "Bearer "+f.token(t, user))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 201 {
		if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, into); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}
	return resp.StatusCode
}

func TestSelfSubjectAccessReview(t *testing.T) {
	f := newFixture(t)
	ra := func(verb, group, resource, sub, ns, name string) *authorizationv1.SelfSubjectAccessReview {
		return &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}}}
	}
	nra := func(verb, path string) *authorizationv1.SelfSubjectAccessReview {
		return &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: verb, Path: path}}}
	}
	for _, tc := range []struct {
		user    string
		review  *authorizationv1.SelfSubjectAccessReview
		allowed bool
		reason  string
	}{
		{"bob", ra("list", "", "pods", "", "payments", ""), true, ""},
		{"bob", ra("get", "", "pods", "log", "payments", "web-1"), true, ""},
		{"bob", ra("list", "", "secrets", "", "payments", ""), false, "list secrets needs admin"},
		{"bob", ra("create", "", "pods", "exec", "payments", "web-1"), false, "needs admin"},
		{"bob", ra("update", "apps", "deployments", "scale", "payments", "web"), false, "needs admin"},
		{"bob", ra("list", "", "pods", "", "", ""), false, "reserved to super admins"},
		{"bob", ra("list", "", "pods", "", "kube-system", ""), false, "belongs to no project"},
		{"bob", ra("list", "", "namespaces", "", "", ""), true, "may list namespaces"},
		{"bob", ra("watch", "", "namespaces", "", "payments", ""), true, "may list namespaces"},
		{"bob", ra("list", "", "refused-by-cluster", "", "payments", ""), false, "RBAC: no"},
		{"bob", ra("create", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", ""), true, ""},
		{"bob", nra("get", "/api"), true, ""},
		{"bob", nra("get", "/logs"), false, "reserved to super admins"},
		{"alice", ra("create", "", "pods", "exec", "payments", "web-1"), true, ""},
		{"alice", ra("get", "", "nodes", "", "payments", ""), false, "reserved to super admins"},
		{"alice", ra("list", "", "pods", "", "search-prod", ""), false, `has no role in project "search"`},
		{"olga", ra("get", "", "nodes", "", "", ""), true, ""},
		{"olga", nra("get", "/logs"), true, ""},
		{"olga", ra("list", "", "refused-by-cluster", "", "payments", ""), false, "RBAC: no"},
	} {
		name := fmt.Sprintf("%s %+v %+v", tc.user, tc.review.Spec.ResourceAttributes, tc.review.Spec.NonResourceAttributes)
		t.Run(name, func(t *testing.T) {
			before := f.up.count()
			got := &authorizationv1.SelfSubjectAccessReview{}
			if code := f.review(t, tc.user, tc.review, got); code != 201 {
				t.Fatalf("status %d", code)
			}
			if got.Status.Allowed != tc.allowed || !strings.Contains(got.Status.Reason, tc.reason) {
				t.Errorf("status %+v, want allowed %v with %q", got.Status, tc.allowed, tc.reason)
			}
			if !tc.allowed && !strings.Contains(tc.reason, "RBAC") && (!got.Status.Denied || !strings.HasPrefix(got.Status.Reason, "kgate: ")) {
				t.Errorf("a policy refusal is not marked: %+v", got.Status)
			}
			// Asked of the cluster, as the user, under the gateway's id.
			if f.up.count() != before+1 {
				t.Fatalf("%d requests upstream", f.up.count()-before)
			}
			r := f.up.last(t)
			if r.Header.Get("Impersonate-User") != tc.user || r.Header.Get("Audit-ID") != f.audit.last().ID {
				t.Errorf("the review went upstream with %v", r.Header)
			}
			if e := f.audit.last(); e.Resource != "selfsubjectaccessreviews" || e.Decision != "allow" {
				t.Errorf("audit %+v", e)
			}
		})
	}
	// Junk is refused before anything reaches the cluster.
	before := f.up.count()
	resp, body := f.do(t, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", f.token(t, "bob"), nil)
	if resp.StatusCode != 400 || f.up.count() != before {
		t.Errorf("an empty review: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", strings.NewReader(`{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"nonResourceAttributes":{"path":"`+strings.Repeat("a", 100<<10)+`"}}}`))
	req.Header.Set("Authorization", "Bearer "+f.token(t, "bob"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("a huge review: %v %v", resp, err)
	}
}

func TestSelfSubjectRulesReview(t *testing.T) {
	f := newFixture(t)
	rules := func(user, ns string) authorizationv1.SubjectRulesReviewStatus {
		t.Helper()
		got := &authorizationv1.SelfSubjectRulesReview{}
		if code := f.review(t, user, &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, got); code != 201 {
			t.Fatalf("status %d", code)
		}
		if f.up.last(t).Header.Get("Impersonate-User") != user {
			t.Errorf("forwarded as %q", f.up.last(t).Header.Get("Impersonate-User"))
		}
		return got.Status
	}
	// verbs is what the rules allow on group/resource.
	verbs := func(st authorizationv1.SubjectRulesReviewStatus, group, resource string) []string {
		var out []string
		for _, r := range st.ResourceRules {
			if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) && (slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) {
				for _, v := range r.Verbs {
					if !slices.Contains(out, v) {
						out = append(out, v)
					}
				}
			}
		}
		sort.Strings(out)
		return out
	}
	urls := func(st authorizationv1.SubjectRulesReviewStatus) []string {
		var out []string
		for _, r := range st.NonResourceRules {
			out = append(out, r.NonResourceURLs...)
		}
		return out
	}
	read := []string{"get", "list", "watch"}
	bob := rules("bob", "payments")
	for _, c := range []struct {
		group, resource string
		want            []string
	}{
		{"", "pods", read}, {"", "pods/log", read}, {"apps", "deployments", read}, {"", "configmaps", read},
		{"", "secrets", nil}, {"", "pods/exec", nil}, {"", "pods/portforward", nil}, {"", "nodes", nil},
		{"", "namespaces", read}, {"authorization.k8s.io", "selfsubjectaccessreviews", []string{"create"}},
	} {
		if got := verbs(bob, c.group, c.resource); !slices.Equal(got, c.want) {
			t.Errorf("bob in payments: %s/%s %v, want %v", c.group, c.resource, got, c.want)
		}
	}
	if got := urls(bob); !slices.Equal(got, []string{"/api", "/api/*", "/apis", "/apis/*", "/version"}) {
		t.Errorf("bob's non-resource URLs %v", got)
	}
	alice := rules("alice", "payments")
	if got := verbs(alice, "", "pods/exec"); !slices.Equal(got, []string{"create", "get"}) {
		t.Errorf("alice pods/exec %v", got)
	}
	if got := verbs(alice, "", "secrets"); len(got) < 3 {
		t.Errorf("alice secrets %v", got)
	}
	if got := verbs(alice, "", "nodes"); got != nil {
		t.Errorf("alice nodes %v", got)
	}
	// In a namespace of no project of hers: only what everyone may.
	if got := verbs(rules("alice", "search-prod"), "", "pods"); got != nil {
		t.Errorf("alice pods in search-prod %v", got)
	}
	// A super admin: what the cluster says.
	olga := rules("olga", "payments")
	if got := verbs(olga, "", "nodes"); !slices.Equal(got, read) || !slices.Contains(urls(olga), "/healthz") {
		t.Errorf("olga %+v", olga)
	}
}

func TestNamespaceWatchFiltered(t *testing.T) {
	f := newFixture(t)
	watch := func(user, path string, table bool) []string {
		t.Helper()
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.token(t, user))
		if table {
			req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
		}
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var out []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev struct {
				Type   string
				Object struct {
					Metadata          struct{ Name string }
					ColumnDefinitions []any
					Rows              []struct{ Cells []any }
				}
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%v: %s", err, sc.Text())
			}
			switch {
			case ev.Type == "BOOKMARK":
				out = append(out, "BOOKMARK")
			case table:
				cols := ""
				if len(ev.Object.ColumnDefinitions) > 0 {
					cols = "+columns"
				}
				names := []string{}
				for _, r := range ev.Object.Rows {
					names = append(names, fmt.Sprint(r.Cells[0]))
				}
				out = append(out, ev.Type+" "+strings.Join(names, ",")+cols)
			default:
				out = append(out, ev.Type+" "+ev.Object.Metadata.Name)
			}
		}
		return out
	}
	want := []string{"ADDED payments", "ADDED payments-staging", "BOOKMARK", "MODIFIED payments"}
	for _, p := range []string{"/api/v1/watch/namespaces", "/api/v1/namespaces?watch=true"} {
		if got := watch("bob", p, false); !slices.Equal(got, want) {
			t.Errorf("bob's watch %s: %v", p, got)
		}
		if r := f.up.last(t); r.Header.Get("Impersonate-User") != "" || r.Header.Get("Audit-ID") != f.audit.last().ID {
			t.Errorf("the watch went upstream with %v", r.Header)
		}
	}
	// The first Table has the columns, even with no row left.
	if got := watch("dave", "/api/v1/namespaces?watch=true", true); !slices.Equal(got, []string{"ADDED +columns", "ADDED search-dev", "ADDED search-prod", "BOOKMARK"}) {
		t.Errorf("dave's table watch: %v", got)
	}
	if got := watch("erin", "/api/v1/watch/namespaces", false); !slices.Equal(got, []string{"BOOKMARK"}) {
		t.Errorf("erin's watch: %v", got)
	}
	// A super admin's watch is forwarded as is, impersonated.
	if got := watch("olga", "/api/v1/watch/namespaces", false); len(got) != len(clusterNamespaces)+3 || f.up.last(t).Header.Get("Impersonate-User") != "olga" {
		t.Errorf("olga's watch: %v", got)
	}
}

// kubectl sends its access reviews in protobuf; a client that accepts
// nothing else gets protobuf back.
func TestAccessReviewProtobuf(t *testing.T) {
	f := newFixture(t)
	info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	in := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets", Namespace: "payments"}}}
	in.SetGroupVersionKind(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview"))
	var buf bytes.Buffer
	if err := info.Serializer.Encode(in, &buf); err != nil {
		t.Fatal(err)
	}
	for accept, wantType := range map[string]string{
		runtime.ContentTypeProtobuf:                                 runtime.ContentTypeProtobuf,
		runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON: runtime.ContentTypeJSON,
	} {
		req, _ := http.NewRequest("POST", f.srv.URL+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", bytes.NewReader(buf.Bytes()))
		req.Header.Set("Authorization", "Bearer "+f.token(t, "bob"))
		req.Header.Set("Content-Type", runtime.ContentTypeProtobuf)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != wantType {
			t.Fatalf("Accept %s: %d %s", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		got := &authorizationv1.SelfSubjectAccessReview{}
		if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, got); err != nil || got.Status.Allowed || !got.Status.Denied {
			t.Errorf("Accept %s: %+v %v", accept, got.Status, err)
		}
	}
}
