package delete

import (
	"errors"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdDelete, args...)
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "pod/a", "--now", "--cascade=foreground", "--dry-run=server", "-y")
	if err != nil {
		t.Fatal(err)
	}
	if o.GracePeriod != 1 || o.Cascade != "foreground" || o.DryRun != "server" || !o.Yes {
		t.Fatalf("%+v", o)
	}
	if o, _ = parse(t, "pods", "-l", "a=b", "--all"); !o.All {
		t.Fatal("--all with a selector is allowed")
	}
	for _, args := range [][]string{
		{"pods", "--all"},
		{"pod/a", "--dry-run=maybe"},
		{"pod/a", "--cascade=sideways"},
		{"pod/a", "--now", "--grace-period=5"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

func TestNoArguments(t *testing.T) {
	_, err := parse(t)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUsage || err.Error() != "you must specify the type of resource to delete" {
		t.Fatalf("got %v", err)
	}
}
