package logs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/logstream"
	"github.com/kgate/kgate/internal/policy"
)

// apiServer answers what logs asks of a cluster with two pods of
// deployment web (web-1 with containers app and sidecar, web-2 with app)
// and a service without a selector. Each log line is "<pod>/<container>
// line N", with the timestamps the engine asks for.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	pod := func(name string, containers ...string) string {
		var cs []string
		for _, c := range containers {
			cs = append(cs, fmt.Sprintf(`{"name":%q,"image":"x"}`, c))
		}
		return fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":%q,"namespace":"shop","uid":%q,"labels":{"app":"web"}},`+
			`"spec":{"containers":[%s]},"status":{"phase":"Running"}}`, name, name, strings.Join(cs, ","))
	}
	pods := map[string]string{"web-1": pod("web-1", "app", "sidecar"), "web-2": pod("web-2", "app")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		p := r.URL.Path
		switch {
		case p == "/apis/apps/v1/namespaces/shop/deployments/web":
			fmt.Fprint(w, `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop"},"spec":{"selector":{"matchLabels":{"app":"web"}}}}`)
		case p == "/api/v1/namespaces/shop/services/bare":
			fmt.Fprint(w, `{"kind":"Service","apiVersion":"v1","metadata":{"name":"bare","namespace":"shop"},"spec":{}}`)
		case p == "/api/v1/namespaces/shop/pods":
			items := []string{pods["web-1"], pods["web-2"]}
			if r.URL.Query().Get("labelSelector") != "app=web" {
				items = nil
			}
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[%s]}`, strings.Join(items, ","))
		case strings.HasSuffix(p, "/log"):
			name := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/namespaces/shop/pods/"), "/log")
			c := r.URL.Query().Get("container")
			w.Header().Set("Content-Type", "text/plain")
			for i := 1; i <= 2; i++ {
				if r.URL.Query().Get("timestamps") == "true" {
					fmt.Fprintf(w, "2026-11-22T10:00:0%dZ ", i)
				}
				fmt.Fprintf(w, "%s/%s line %d\n", name, c, i)
			}
		default:
			if body, ok := pods[strings.TrimPrefix(p, "/api/v1/namespaces/shop/pods/")]; ok {
				fmt.Fprint(w, body)
				return
			}
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s not found","details":{"kind":"pods"}}`, p)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runLogs(t *testing.T, srv *httptest.Server, streamer LogStreamer, args ...string) (string, string, error) {
	t.Helper()
	o, err := parse(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	io, _, out, errOut := iostreams.Test()
	o.IO = io
	o.Namespace = func() (string, bool, error) { return "shop", false, nil }
	o.KubeClient = func() (*kube.Client, error) { return kube.NewClient(&rest.Config{Host: srv.URL}) }
	o.Streamer = streamer
	o.Access = &enforce.Access{Check: func(ctx context.Context, _ policy.Request, _ ...string) (context.Context, error) { return ctx, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = logsRun(ctx, o)
	return out.String(), errOut.String(), err
}

type recordingStreamer struct{ got *logstream.Config }

func (r *recordingStreamer) Stream(_ context.Context, _ kubernetes.Interface, cfg logstream.Config) error {
	r.got = &cfg
	return nil
}

// The run function turns what the user typed into what the engine reads: a
// pod by name, a workload's selector, or the user's own.
func TestRunHandsTheEngineThePods(t *testing.T) {
	srv := apiServer(t)
	for _, tc := range []struct {
		args          []string
		pod, selector string
		tail          int64
	}{
		{[]string{"web-1"}, "web-1", "", -1},
		{[]string{"pod/web-1", "--tail", "3"}, "web-1", "", 3},
		{[]string{"deploy/web"}, "", "app=web", -1},
		{[]string{"-l", "app=web"}, "", "app=web", 10},
	} {
		rec := &recordingStreamer{}
		if _, _, err := runLogs(t, srv, rec, tc.args...); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if c := rec.got; c == nil || c.Namespace != "shop" || c.Pod != tc.pod || c.Selector != tc.selector || c.Tail != tc.tail {
			t.Errorf("%v: engine got %+v", tc.args, c)
		}
	}
	rec := &recordingStreamer{}
	_, _, err := runLogs(t, srv, rec, "svc/bare")
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUsage || !strings.Contains(err.Error(), "no selector") || rec.got != nil {
		t.Errorf("a service without a selector: %v (engine called: %v)", err, rec.got != nil)
	}
	if _, _, err := runLogs(t, srv, rec, "deploy/a/b"); !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
		t.Errorf("deploy/a/b: %v", err)
	}
}

// What `kgate logs` prints, through the real engine against the fake API server.
func TestRunPrints(t *testing.T) {
	srv := apiServer(t)
	for _, tc := range []struct {
		args         []string
		out, errOut  string
		wantErrKind  errs.Kind
		wantErrMatch string
	}{
		{args: []string{"web-2"}, out: "web-2/app line 1\nweb-2/app line 2\n"},
		{args: []string{"web-1"}, out: "web-1/app line 1\nweb-1/app line 2\n", errOut: `Defaulted container "app" out of: app, sidecar` + "\n"},
		{args: []string{"web-1", "-c", "sidecar", "--timestamps"}, out: "2026-11-22T10:00:01Z web-1/sidecar line 1\n2026-11-22T10:00:02Z web-1/sidecar line 2\n"},
		{args: []string{"web-1", "--all-containers"}, out: "[pod/web-1/app] web-1/app line 1\n[pod/web-1/app] web-1/app line 2\n" +
			"[pod/web-1/sidecar] web-1/sidecar line 1\n[pod/web-1/sidecar] web-1/sidecar line 2\n"},
		{args: []string{"deploy/web", "--prefix=false"}, out: "web-1/app line 1\nweb-1/app line 2\nweb-2/app line 1\nweb-2/app line 2\n"},
		{args: []string{"-l", "app=web"}, out: "[pod/web-1/app] web-1/app line 1\n[pod/web-1/app] web-1/app line 2\n" +
			"[pod/web-2/app] web-2/app line 1\n[pod/web-2/app] web-2/app line 2\n"},
		{args: []string{"-l", "app=none"}, errOut: "No resources found in shop namespace.\n"},
		{args: []string{"web-1", "-c", "db"}, wantErrKind: errs.KindNotFound, wantErrMatch: `container "db" not found in pod "web-1"; its containers are: app, sidecar`},
		{args: []string{"gone"}, wantErrMatch: "not found"},
	} {
		out, errOut, err := runLogs(t, srv, nil, tc.args...)
		if tc.wantErrMatch != "" {
			var ke *errs.Error
			if err == nil || !strings.Contains(err.Error(), tc.wantErrMatch) || (tc.wantErrKind != 0 && (!errors.As(err, &ke) || ke.Kind != tc.wantErrKind)) {
				t.Errorf("%v: err %v, want %q", tc.args, err, tc.wantErrMatch)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if out != tc.out || errOut != tc.errOut {
			t.Errorf("%v:\nstdout %q\nwant   %q\nstderr %q\nwant   %q", tc.args, out, tc.out, errOut, tc.errOut)
		}
	}
}
