package debug

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
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
