package attach

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, env string, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", env)
	return cmdtest.Parse(t, NewCmdAttach, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "", "-it", "deploy/web", "-c", "app")
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "deploy/web" || o.Container != "app" || !o.Stdin || !o.TTY || o.Transport != "auto" {
		t.Fatalf("%+v", o)
	}
	if o, _ = parse(t, "spdy", "web-1"); o.Transport != "spdy" {
		t.Errorf("KGATE_EXEC_TRANSPORT: %s", o.Transport)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {"a", "--transport=ftp"}} {
		_, err := parse(t, "", args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// The policy is asked about what the user typed, and nothing is requested
// when it refuses.
func TestAuthorizeNamesTheTarget(t *testing.T) {
	for target, want := range map[string]policy.Request{
		"web-1":      {Verb: "exec", Resource: "pods", Subresource: "attach", Namespace: "payments", Name: "web-1"},
		"deploy/web": {Verb: "exec", Resource: "deployments", Group: "apps", Subresource: "attach", Namespace: "payments", Name: "web"},
	} {
		o, err := parse(t, "", target)
		if err != nil {
			t.Fatal(err)
		}
		var got policy.Request
		o.Namespace = func() (string, bool, error) { return "payments", true, nil }
		o.Access = &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			got = req
			return ctx, errs.ForbiddenErrorf("no")
		}}
		o.KubeClient = nil // any use would panic
		if err := attachRun(context.Background(), o); err == nil || got != want {
			t.Errorf("%s: asked %+v (%v), want %+v", target, got, err, want)
		}
	}
}

func TestReattachMessage(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "payments"}, Spec: corev1.PodSpec{
		Containers:          []corev1.Container{{Name: "app"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg"}}},
	}}
	if got, want := reattachMessage(pod, "app"), "Session ended, resume using 'kgate attach web-1 -c app -n payments -i -t' command when the pod is running"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := reattachMessage(pod, "dbg"); !strings.Contains(got, "ephemeral container will not be restarted") || !strings.Contains(got, "kgate attach web-1 -c dbg -n payments -i -t") {
		t.Errorf("ephemeral: %q", got)
	}
}
