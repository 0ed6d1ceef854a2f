package debug

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", "")
	io, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdDebug(&cmdutil.Factory{IOStreams: io}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
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
