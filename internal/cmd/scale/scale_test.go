package scale

import (
	"errors"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdScale, args...)
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "deploy/web", "--replicas=3", "--current-replicas=2", "--timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	if o.Replicas != 3 || o.CurrentReplicas != 2 || !o.Wait || o.Timeout != 30*time.Second {
		t.Fatalf("%+v", o)
	}
	if o, _ = parse(t, "deploy/web", "--replicas=0"); o.CurrentReplicas != -1 || o.Wait {
		t.Fatalf("defaults: %+v", o)
	}
	for _, args := range [][]string{
		{"deploy/web"},
		{"deploy/web", "--replicas=-1"},
		{"deploy/web", "--replicas=1", "--current-replicas=-2"},
		{"deploy/web", "--replicas=1", "--dry-run=maybe"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
	// pflag's own parse error; the root command turns it into exit 2 (e2e TestScale).
	if _, err := parse(t, "deploy/web", "--replicas=x"); err == nil {
		t.Error("--replicas=x: want an error")
	}
}

func TestNoArguments(t *testing.T) {
	_, err := parse(t, "--replicas=2")
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUsage || err.Error() != "you must specify the type of resource to scale" {
		t.Fatalf("got %v", err)
	}
}
