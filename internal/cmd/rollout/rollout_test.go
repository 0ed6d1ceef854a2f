package rollout

import (
	"errors"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
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
