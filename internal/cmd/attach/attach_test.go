package attach

import (
	"errors"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

func parse(t *testing.T, env string, args ...string) (*Options, error) {
	t.Helper()
	t.Setenv("KGATE_EXEC_TRANSPORT", env)
	io, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdAttach(&cmdutil.Factory{IOStreams: io}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
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
