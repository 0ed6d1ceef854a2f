package portforward

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", "")
	return cmdtest.Parse(t, NewCmdPortForward, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "svc/web", "8080:80", ":443", "9090", "http")
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "svc/web" || !reflect.DeepEqual(o.Ports, []string{"8080:80", ":443", "9090", "http"}) ||
		!reflect.DeepEqual(o.Addresses, []string{"localhost"}) || o.Transport != "auto" {
		t.Fatalf("%+v", o)
	}
	for _, args := range [][]string{{}, {"pod"}, {"pod", "0"}, {"pod", "70000"}, {"pod", "x:80"}, {"pod", "80:"}, {"pod", "80", "--transport=ftp"}} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

func TestTranslate(t *testing.T) {
	got, err := translate([]string{"8080:http", "http", "81", ":82"}, func(r string) (int32, error) {
		if r == "http" {
			return 80, nil
		}
		return map[string]int32{"81": 81, "82": 82}[r], nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"8080:80", "80:80", "81", ":82"}) {
		t.Errorf("%v %v", got, err)
	}
}

// The policy is asked about what the user typed, and nothing is requested
// when it refuses.
func TestAuthorizeNamesTheTarget(t *testing.T) {
	for target, want := range map[string]policy.Request{
		"web-1":   {Verb: "exec", Resource: "pods", Subresource: "portforward", Namespace: "payments", Name: "web-1"},
		"svc/web": {Verb: "exec", Resource: "services", Subresource: "portforward", Namespace: "payments", Name: "web"},
	} {
		o, err := parse(t, target, "8080")
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
		if err := portForwardRun(context.Background(), o); err == nil || got != want {
			t.Errorf("%s: asked %+v (%v), want %+v", target, got, err, want)
		}
	}
}
