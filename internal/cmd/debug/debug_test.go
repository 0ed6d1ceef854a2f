package debug

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", "")
	return cmdtest.Parse(t, NewCmdDebug, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "-it", "web-1", "--image=busybox", "--target=app", "--", "sh", "-c", "ps")
	if err != nil {
		t.Fatal(err)
	}
	if o.Pod != "web-1" || o.Image != "busybox" || o.Target != "app" || !o.Stdin || !o.TTY || !o.Attach ||
		!reflect.DeepEqual(o.Command, []string{"sh", "-c", "ps"}) {
		t.Fatalf("%+v", o)
	}
	// Without -i it only adds the container, unless --attach.
	if o, _ = parse(t, "web-1", "--image=busybox"); o.Attach {
		t.Error("attaches without -i")
	}
	if o, _ = parse(t, "web-1", "--image=busybox", "--attach"); !o.Attach {
		t.Error("--attach ignored")
	}
	for _, args := range [][]string{
		{}, {"web-1"}, {"a", "b", "--image=x"}, {"web-1", "--image=x", "-c", "Bad_Name"}, {"web-1", "--image=x", "--image-pull-policy=Sometimes"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// pod/NAME takes any spelling of pods; another kind is refused by name
// before the policy is asked.
func TestPodOfTypeName(t *testing.T) {
	for arg, want := range map[string]string{"po/web-1": "web-1", "pods/web-1": "web-1", "pod.v1/web-1": "web-1", "web-1": "web-1"} {
		o, err := parse(t, arg, "--image=busybox")
		if err != nil {
			t.Fatal(err)
		}
		o.Kinds = kube.TestKinds()
		o.Namespace = func() (string, bool, error) { return "payments", true, nil }
		var got string
		o.Access = &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			got = req.Name
			return ctx, errs.ForbiddenErrorf("no")
		}}
		o.KubeClient = nil
		if err := debugRun(context.Background(), o); got != want {
			t.Errorf("%s: asked about %q (%v), want %q", arg, got, err, want)
		}
	}
	for arg, msg := range map[string]string{"deploy/web": "not to deployments", "wdg/big": "not to widgets.kgate.test", "pod/": "is not POD"} {
		o, _ := parse(t, arg, "--image=busybox")
		o.Kinds = kube.TestKinds()
		o.Access = &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			t.Errorf("%s: the policy was asked %+v", arg, req)
			return ctx, nil
		}}
		err := debugRun(context.Background(), o)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want a usage error with %q", arg, err, msg)
		}
	}
}
