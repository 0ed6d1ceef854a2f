package completion

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/kube"
)

func TestContainersOf(t *testing.T) {
	pod := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "spec": map[string]any{
		"containers":     []any{map[string]any{"name": "app", "image": "web:1"}},
		"initContainers": []any{map[string]any{"name": "init", "image": "busybox"}},
	}}}
	cron := &unstructured.Unstructured{Object: map[string]any{"kind": "CronJob", "spec": map[string]any{
		"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "report", "image": "r:1"}}}}}}}}}
	deploy := &unstructured.Unstructured{Object: map[string]any{"kind": "Deployment", "spec": map[string]any{
		"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app"}, map[string]any{"name": "sidecar"}}}}}}}
	for _, tc := range []struct {
		o    *unstructured.Unstructured
		want []candidate
	}{
		{pod, []candidate{{"app", "web:1"}, {"init", "init: busybox"}}},
		{cron, []candidate{{"report", "r:1"}}},
		{deploy, []candidate{{"app", ""}, {"sidecar", ""}}},
	} {
		if got := containersOf(tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.o.GetKind(), got, tc.want)
		}
	}
}

// TestAPIClusterNames checks the request completion makes: a Table without
// objects, in pages, and the names from the Name column.
func TestAPIClusterNames(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		if !strings.Contains(r.Header.Get("Accept"), "as=Table") {
			t.Errorf("Accept: %q", r.Header.Get("Accept"))
		}
		tab := metav1.Table{
			TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
			ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Ready"}, {Name: "Status"}},
		}
		if r.URL.Query().Get("continue") == "" {
			tab.Rows = []metav1.TableRow{{Cells: []any{"web-1", "1/1", "Running"}}}
			tab.Continue = "next"
		} else {
			tab.Rows = []metav1.TableRow{{Cells: []any{"web-2", "0/1", "Pending"}}}
		}
		_ = json.NewEncoder(w).Encode(tab)
	}))
	defer srv.Close()
	client, err := kube.NewClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	a := &apiCluster{client: func() (*kube.Client, error) { return client, nil }}
	pods, _ := kube.Lookup("pods")
	got, err := a.Names(context.Background(), pods, "payments", 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []candidate{{"web-1", "Running"}, {"web-2", "Pending"}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(queries) != 2 || !strings.HasPrefix(queries[0], "/api/v1/namespaces/payments/pods?") ||
		!strings.Contains(queries[0], "includeObject=None") || !strings.Contains(queries[0], "limit=1000") ||
		!strings.Contains(queries[1], "continue=next") {
		t.Errorf("requests: %v", queries)
	}
	// At most max names: no second page.
	queries = nil
	if got, _ := a.Names(context.Background(), pods, "payments", 1); len(got) != 1 || len(queries) != 1 {
		t.Errorf("max 1: %v after %v", got, queries)
	}
}
