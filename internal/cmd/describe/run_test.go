package describe

import (
	"context"
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

// cluster is a fake API server with pod web-1 in namespace shop and one
// event about it; requests counts what reached it.
func cluster(t *testing.T, requests *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/shop/pods/web-1":
			fmt.Fprint(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","namespace":"shop","uid":"u1","labels":{"app":"web"}},`+
				`"spec":{"nodeName":"node-1","containers":[{"name":"app","image":"nginx:1.27"}]},"status":{"phase":"Running","podIP":"10.0.0.7"}}`)
		case "/api/v1/namespaces/shop/events":
			fmt.Fprint(w, `{"kind":"EventList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"e1","namespace":"shop"},`+
				`"involvedObject":{"kind":"Pod","name":"web-1","namespace":"shop","uid":"u1"},"type":"Normal","reason":"Pulled","message":"image pulled","count":1,`+
				`"source":{"component":"kubelet"},"firstTimestamp":"2026-11-22T10:00:00Z","lastTimestamp":"2026-11-22T10:00:00Z"}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":%q}`, r.URL.Path+" not found")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func run(t *testing.T, srv *httptest.Server, deny bool, args ...string) (string, error) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	cfg := &rest.Config{Host: srv.URL}
	opts := &Options{
		IO:         io,
		RESTConfig: func() (*rest.Config, error) { return cfg, nil },
		KubeClient: func() (*kube.Client, error) { return kube.NewClient(cfg) },
		Namespace:  func() (string, bool, error) { return "shop", false, nil },
		Access: &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			if deny {
				return ctx, errs.ForbiddenErrorf("may not %s %s", req.Verb, req.Resource)
			}
			return ctx, nil
		}},
		Args:       args,
		ShowEvents: true,
		ChunkSize:  500,
	}
	err := describeRun(context.Background(), opts)
	return out.String(), err
}

// describe prints kubectl's description of the pod, with its events.
func TestDescribePrintsKubectlsDescription(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	out, err := run(t, srv, false, "pod/web-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name:", "web-1", "Namespace:", "shop", "Node:", "node-1", "IP:", "10.0.0.7", "nginx:1.27", "Events:", "Pulled", "image pulled"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// A missing object is reported after the others, as kubectl does.
func TestDescribeMissing(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	out, err := run(t, srv, false, "pods", "web-1", "gone")
	if !apierrors.IsNotFound(err) || !strings.Contains(out, "web-1") {
		t.Errorf("err %v, out:\n%s", err, out)
	}
}

// A describe the policy refuses never reaches the cluster.
func TestDescribeDeniedMakesNoRequest(t *testing.T) {
	var n atomic.Int32
	srv := cluster(t, &n)
	_, err := run(t, srv, true, "pod/web-1")
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindForbidden || n.Load() != 0 {
		t.Errorf("denied: %v after %d requests", err, n.Load())
	}
}
