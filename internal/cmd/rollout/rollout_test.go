package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdRollout, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "status", "deploy/web", "--timeout=2m", "--watch=false", "--revision=3")
	if err != nil {
		t.Fatal(err)
	}
	if o.Action != "status" || o.Args[0] != "deploy/web" || o.Timeout != 2*time.Minute || o.Watch || o.Revision != 3 {
		t.Fatalf("%+v", o)
	}
	if o, err = parse(t, "status", "sts/db"); err != nil || !o.Watch {
		t.Fatalf("status follows by default: %+v %v", o, err)
	}
	if o, err = parse(t, "undo", "deploy/web", "--to-revision=2", "--yes", "--dry-run=server"); err != nil ||
		o.ToRevision != 2 || !o.Yes || o.DryRun != "server" {
		t.Fatalf("undo: %+v %v", o, err)
	}
	if o, err = parse(t, "restart", "deploy", "-l", "app=web", "--dry-run=none"); err != nil || o.Selector != "app=web" || o.DryRun != "" {
		t.Fatalf("restart: %+v %v", o, err)
	}
	for _, args := range [][]string{
		{}, {"status"}, {"restart"}, {"undo", "deploy/web", "--dry-run=maybe"}, {"history", "deploy/web", "--revision=-1"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

func TestVerbs(t *testing.T) {
	// status and history are reads (guests); the others are changes (admins).
	for action, want := range map[string]string{"status": "get", "history": "get", "restart": VerbRestart, "undo": VerbUndo, "pause": VerbPause, "resume": VerbResume} {
		if got := verbOf(action); got != want {
			t.Errorf("%s: %s, want %s", action, got, want)
		}
	}
}

func TestVerbsNeedTheRightRole(t *testing.T) {
	for _, v := range []string{VerbRestart, VerbUndo, VerbPause, VerbResume} {
		if r := policy.Needed(v, "deployments", ""); r != policy.RoleAdmin {
			t.Errorf("%s deployments needs %s", v, r)
		}
	}
	if r := policy.Needed(verbOf("status"), "deployments", ""); r != policy.RoleGuest {
		t.Errorf("status needs %s", r)
	}
}

// Kinds resolve through the cluster's kinds: any spelling of a workload,
// and a custom resource is refused by name before the policy is asked.
func TestKindsThroughTheResolver(t *testing.T) {
	for _, c := range []struct {
		action, arg string
		want        policy.Request // zero: refused before the policy
		msg         string
	}{
		{"status", "deployments.apps/web", policy.Request{Verb: "get", Resource: "deployments", Group: "apps", Namespace: "payments", Name: "web"}, ""},
		{"restart", "deployment.v1.apps/web", policy.Request{Verb: VerbRestart, Resource: "deployments", Group: "apps", Namespace: "payments", Name: "web"}, ""},
		{"history", "sts/db", policy.Request{Verb: "get", Resource: "statefulsets", Group: "apps", Namespace: "payments", Name: "db"}, ""},
		{"restart", "wdg/big", policy.Request{}, "rollout restart handles deployments, statefulsets, daemonsets, not widgets.kgate.test"},
		{"pause", "sts/db", policy.Request{}, "rollout pause handles deployments, not statefulsets"},
		{"status", "gizmo/x", policy.Request{}, "gizmo"},
	} {
		o, err := parse(t, c.action, c.arg)
		if err != nil {
			t.Fatal(err)
		}
		o.Kinds = kube.TestKinds()
		o.Output = func() (string, error) { return "", nil }
		o.Namespace = func() (string, bool, error) { return "payments", true, nil }
		var got policy.Request
		o.Access = &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			got = req
			return ctx, errs.ForbiddenErrorf("no")
		}}
		o.KubeClient = nil // any use would panic
		err = rolloutRun(context.Background(), o)
		if got != c.want {
			t.Errorf("%s %s: asked %+v, want %+v", c.action, c.arg, got, c.want)
		}
		var e *errs.Error
		if c.msg != "" && (!errors.As(err, &e) || e.Kind != errs.KindUsage || !strings.Contains(err.Error(), c.msg)) {
			t.Errorf("%s %s: %v, want a usage error with %q", c.action, c.arg, err, c.msg)
		}
	}
}
