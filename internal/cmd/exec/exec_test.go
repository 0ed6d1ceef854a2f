package exec

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, env string, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", env)
	return cmdtest.Parse(t, NewCmdExec, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "", "-it", "deploy/web", "-c", "app", "--", "sh", "-c", "echo hi")
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "deploy/web" || o.Container != "app" || !o.Stdin || !o.TTY || o.Transport != TransportAuto ||
		!reflect.DeepEqual(o.Command, []string{"sh", "-c", "echo hi"}) {
		t.Fatalf("%+v", o)
	}
	if o, _ = parse(t, "spdy", "p", "--", "true"); o.Transport != TransportSPDY {
		t.Errorf("env transport: %s", o.Transport)
	}
	if o, _ = parse(t, "spdy", "p", "--transport", "websocket", "--", "true"); o.Transport != TransportWebSocket {
		t.Errorf("flag beats env: %s", o.Transport)
	}
	for _, args := range [][]string{{}, {"p"}, {"p", "ls"}, {"--", "ls"}, {"a", "b", "--", "ls"}, {"p", "--transport", "x", "--", "ls"}} {
		_, err := parse(t, "", args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// An exec the policy refuses never resolves the pod or opens a stream.
func TestDeniedBeforeAnyRequest(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	ex := &recordingExecutor{}
	o := &Options{
		IO: io, Target: "web-1", Command: []string{"true"}, Transport: TransportAuto, Executor: ex,
		Namespace: func() (string, bool, error) { return "payments", true, nil },
		Access: &enforce.Access{Check: func(ctx context.Context, req policy.Request, cmd ...string) (context.Context, error) {
			return ctx, errs.ForbiddenErrorf("no")
		}},
		KubeClient: nil, // any use would panic
	}
	err := execRun(context.Background(), o)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindForbidden || ex.called {
		t.Fatalf("err %v, executor called %v", err, ex.called)
	}
}

// The policy is asked about what the user typed: deployments/web, not a pod
// of that name; the command is recorded unless the session is interactive.
func TestAuthorizeNamesTheTarget(t *testing.T) {
	for _, tc := range []struct {
		target      string
		interactive bool
		want        policy.Request
		command     []string
	}{
		{"web-1", false, policy.Request{Verb: "exec", Resource: "pods", Subresource: "exec", Namespace: "payments", Name: "web-1"}, []string{"ls", "/"}},
		{"deploy/web", false, policy.Request{Verb: "exec", Resource: "deployments", Group: "apps", Namespace: "payments", Name: "web"}, []string{"ls", "/"}},
		{"sts/db", true, policy.Request{Verb: "exec", Resource: "statefulsets", Group: "apps", Namespace: "payments", Name: "db"}, nil},
	} {
		io, _, _, _ := iostreams.Test()
		var got policy.Request
		var gotCmd []string
		o := &Options{
			IO: io, Target: tc.target, Command: []string{"ls", "/"}, Stdin: tc.interactive, Transport: TransportAuto,
			Namespace: func() (string, bool, error) { return "payments", true, nil },
			Access: &enforce.Access{Check: func(ctx context.Context, req policy.Request, cmd ...string) (context.Context, error) {
				got, gotCmd = req, cmd
				return ctx, errs.ForbiddenErrorf("no")
			}},
		}
		_ = execRun(context.Background(), o)
		if got != tc.want || !slices.Equal(gotCmd, tc.command) {
			t.Errorf("%s: asked %+v %q, want %+v %q", tc.target, got, gotCmd, tc.want, tc.command)
		}
	}
}

type recordingExecutor struct{ called bool }

func (r *recordingExecutor) Execute(context.Context, *rest.Config, string, *url.URL, remotecommand.StreamOptions) error {
	r.called = true
	return nil
}

// A server (or proxy) that refuses the WebSocket upgrade gets an SPDY
// attempt next: the fallback kubectl users rely on behind old proxies.
func TestFallbackToSPDY(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Header.Get("Upgrade"))
		mu.Unlock()
		http.Error(w, "no upgrades here", http.StatusBadRequest)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/api/v1/namespaces/ns/pods/p/exec?command=true&stdout=true")
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	io, _, _, _ := iostreams.Test()
	err := DefaultExecutor{}.Execute(context.Background(), cfg, TransportAuto, u, remotecommand.StreamOptions{Stdout: io.Out})
	if err == nil {
		t.Fatal("want an error from a server that upgrades nothing")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "GET websocket") || !strings.HasPrefix(seen[1], "POST SPDY") {
		t.Fatalf("want a WebSocket attempt, then SPDY; the server saw %q", seen)
	}
}

// A 403 at the WebSocket upgrade is the server's answer: no SPDY retry, and
// the Status survives for the exit code.
func TestNoFallbackOnForbidden(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"user \"bob\" is a guest","reason":"Forbidden","code":403}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/api/v1/namespaces/ns/pods/p/exec?command=true&stdout=true")
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	io, _, _, _ := iostreams.Test()
	err := DefaultExecutor{}.Execute(context.Background(), cfg, TransportAuto, u, remotecommand.StreamOptions{Stdout: io.Out})
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Reason != metav1.StatusReasonForbidden {
		t.Fatalf("want the server's Forbidden status, got %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("want one WebSocket attempt and no SPDY retry, the server saw %q", seen)
	}
}

// TYPE/NAME resolves any spelling of a kind the cluster serves; a kind
// without pods (a custom resource) is a usage error naming it.
func TestParseTargetIn(t *testing.T) {
	k := kube.TestKinds()
	for arg, want := range map[string]string{
		"web-1": "pods", "po/web-1": "pods", "deploy/web": "deployments", "deployments.apps/web": "deployments",
		"deployment.v1.apps/web": "deployments", "sts/db": "statefulsets", "svc/web": "services",
	} {
		r, name, err := kube.ParseTargetIn(k, arg)
		if err != nil || r.GVR.Resource != want || (name != "web-1" && name != "web" && name != "db") {
			t.Errorf("%s: %s %q %v, want %s", arg, r.GVR.Resource, name, err, want)
		}
	}
	for arg, msg := range map[string]string{
		"wdg/big":               "widgets.kgate.test has no pods of its own",
		"widget.kgate.test/big": "widgets.kgate.test has no pods of its own",
		"cm/x":                  "configmaps has no pods of its own",
		"gizmos/x":              "gizmos",
		"/x":                    "must have a single resource and name",
		"deploy/":               "must have a single resource and name",
	} {
		_, _, err := kube.ParseTargetIn(k, arg)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want a usage error with %q", arg, err, msg)
		}
	}
}
