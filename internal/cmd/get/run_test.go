package get

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// podJSON is pod name of namespace shop, in full.
func podJSON(name string) string {
	return fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":%q,"namespace":"shop","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"x"}]},"status":{"phase":"Running"}}`, name)
}

// tableJSON is the server-side Table of the pods named, as the API server
// renders it: the row's object is the pod's metadata, or the whole pod when
// includeObject=Object.
func tableJSON(full bool, names ...string) string {
	var rows []string
	for _, n := range names {
		obj := fmt.Sprintf(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":%q,"namespace":"shop","labels":{"app":"web"}}}`, n)
		if full {
			obj = podJSON(n)
		}
		rows = append(rows, fmt.Sprintf(`{"cells":[%q,"1/1","Running"],"object":%s}`, n, obj))
	}
	return `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7"},` +
		`"columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0},{"name":"Ready","type":"string","priority":0},{"name":"Status","type":"string","priority":0}],` +
		`"rows":[` + strings.Join(rows, ",") + `]}`
}

// cluster is a fake API server with pods web-1 and web-2 in namespace shop
// and nothing in namespace empty. requests counts what reached it.
func cluster(t *testing.T, requests *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		table := strings.Contains(r.Header.Get("Accept"), "as=Table")
		full := r.URL.Query().Get("includeObject") == "Object"
		var names []string
		switch r.URL.Path {
		case "/api/v1/namespaces/shop/pods":
			names = []string{"web-1", "web-2"}
		case "/api/v1/namespaces/empty/pods":
		case "/api/v1/namespaces/shop/pods/web-1":
			if table {
				fmt.Fprint(w, tableJSON(full, "web-1"))
			} else {
				fmt.Fprint(w, podJSON("web-1"))
			}
			return
		default:
			w.WriteHeader(http.StatusNotFound)
			name := strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/shop/pods/")
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":%q,"details":{"name":%q,"kind":"pods"}}`, fmt.Sprintf("pods %q not found", name), name)
			return
		}
		if table {
			fmt.Fprint(w, tableJSON(full, names...))
			return
		}
		var items []string
		for _, n := range names {
			items = append(items, podJSON(n))
		}
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[%s]}`, strings.Join(items, ","))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// run runs `kgate get ARGS` in namespace ns against srv, the policy
// allowing everything unless deny is set.
func run(t *testing.T, srv *httptest.Server, ns string, deny bool, output string, args ...string) (string, string, error) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	opts := &Options{
		IO:         io,
		KubeClient: func() (*kube.Client, error) { return kube.NewClient(&rest.Config{Host: srv.URL}) },
		Namespace:  func() (string, bool, error) { return ns, false, nil },
		Output:     func() (string, error) { return output, nil },
		Access: &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			if deny {
				return ctx, errs.ForbiddenErrorf("user ann may not %s %s in %s", req.Verb, req.Resource, req.Namespace)
			}
			return ctx, nil
		}},
		Args:      args,
		ChunkSize: 500,
	}
	err := getRun(context.Background(), opts)
	return out.String(), errOut.String(), err
}

// fields is out's lines split into their columns, so that the test reads
// what is printed without depending on the padding.
func fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l != "" {
			rows = append(rows, strings.Fields(l))
		}
	}
	return rows
}

func TestGetPrintsTheServersTable(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	out, _, err := run(t, srv, "shop", false, "", "pods")
	if err != nil {
		t.Fatal(err)
	}
	want := "[[NAME READY STATUS] [web-1 1/1 Running] [web-2 1/1 Running]]"
	if got := fmt.Sprint(fields(out)); got != want {
		t.Errorf("get pods printed\n%s\nwant rows %s", out, want)
	}
	if !strings.HasPrefix(out, "NAME    READY   STATUS") {
		t.Errorf("columns not aligned as kubectl's: %q", out)
	}
	out, _, err = run(t, srv, "shop", false, "", "pod/web-1")
	if err != nil || fmt.Sprint(fields(out)) != "[[NAME READY STATUS] [web-1 1/1 Running]]" {
		t.Errorf("get pod/web-1: %v\n%s", err, out)
	}
}

func TestGetOutputs(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	out, _, err := run(t, srv, "shop", false, "name", "pods")
	if err != nil || out != "pod/web-1\npod/web-2\n" {
		t.Errorf("-o name: %v %q", err, out)
	}
	out, _, err = run(t, srv, "shop", false, "json", "pods")
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Name string `json:"name"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || list.Kind != "List" || len(list.Items) != 2 ||
		list.Items[1].Metadata.Name != "web-2" || list.Items[1].Kind != "Pod" || len(list.Items[1].Spec.Containers) != 1 {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	out, _, err = run(t, srv, "shop", false, "yaml", "pod/web-1")
	if err != nil || !strings.Contains(out, "kind: Pod\n") || !strings.Contains(out, "  name: web-1\n") {
		t.Errorf("-o yaml: %v\n%s", err, out)
	}
}

func TestGetNothingAndMissing(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	out, errOut, err := run(t, srv, "empty", false, "", "pods")
	if err != nil || out != "" || errOut != "No resources found in empty namespace.\n" {
		t.Errorf("an empty namespace: %v %q %q", err, out, errOut)
	}
	_, _, err = run(t, srv, "shop", false, "", "pods", "gone")
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("a missing pod: %v", err)
	}
}

// A get the policy refuses never reaches the cluster.
func TestGetDeniedMakesNoRequest(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	_, _, err := run(t, srv, "shop", true, "", "pods")
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindForbidden || n.Load() != 0 {
		t.Errorf("denied: %v after %d requests", err, n.Load())
	}
}

// TestGetPageSizes: tables whose rows carry no whole object and -o name come
// in one response unless --chunk-size is given; whole objects (-o json,
// --sort-by on the object) come in pages of --chunk-size.
func TestGetPageSizes(t *testing.T) {
	var n atomic.Int32
	inner := cluster(t, &n)
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limits = append(limits, r.URL.Query().Get("limit"))
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		output, sortBy string
		set            bool
		want           string
	}{
		{"", "", false, ""},
		{"", "", true, "500"},
		{"wide", "", false, ""},
		{"", ".metadata.name", false, ""},
		{"", ".spec.nodeName", false, "500"},
		{"name", "", false, ""},
		{"name", "", true, "500"},
		// Streamed as it arrives: one response unless --chunk-size.
		{"json", "", false, ""},
		{"yaml", "", false, ""},
		{"json", "", true, "500"},
		// Sorted whole objects are held, so they come in pages.
		{"json", ".metadata.name", false, "500"},
	} {
		limits = nil
		io, _, _, _ := iostreams.Test()
		opts := &Options{
			IO:           io,
			KubeClient:   func() (*kube.Client, error) { return kube.NewClient(&rest.Config{Host: srv.URL}) },
			Namespace:    func() (string, bool, error) { return "shop", false, nil },
			Output:       func() (string, error) { return c.output, nil },
			Access:       &enforce.Access{Check: func(ctx context.Context, _ policy.Request, _ ...string) (context.Context, error) { return ctx, nil }},
			Args:         []string{"pods"},
			SortBy:       c.sortBy,
			ChunkSize:    500,
			ChunkSizeSet: c.set,
		}
		if err := getRun(context.Background(), opts); err != nil {
			t.Fatalf("-o %q --sort-by %q: %v", c.output, c.sortBy, err)
		}
		if len(limits) != 1 || limits[0] != c.want {
			t.Errorf("-o %q --sort-by %q, --chunk-size given %v: limits %q, want one request with limit %q", c.output, c.sortBy, c.set, limits, c.want)
		}
	}
}
