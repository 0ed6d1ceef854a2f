package logs

import (
	"errors"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdLogs(&cmdutil.Factory{IOStreams: io}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "web-1", "-c", "app", "-f", "--tail", "5", "--since", "90s", "--timestamps", "--previous", "--limit-bytes", "100")
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "web-1" || o.Container != "app" || !o.Follow || o.Tail != 5 || !o.Timestamps || !o.Previous || o.LimitBytes != 100 {
		t.Fatalf("%+v", o)
	}
	po := o.podOptions("app")
	if *po.TailLines != 5 || *po.SinceSeconds != 90 || !po.Timestamps || *po.LimitBytes != 100 {
		t.Fatalf("pod options %+v", po)
	}
	if o, _ = parse(t, "-l", "app=web"); o.Tail != 10 {
		t.Errorf("-l defaults --tail to 10 as kubectl, got %d", o.Tail)
	}
	if o, _ = parse(t, "-l", "app=web", "--tail", "-1"); o.Tail != -1 {
		t.Errorf("explicit --tail -1 with -l: %d", o.Tail)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"a", "b"},
		{"a", "-l", "x=y"},
		{"a", "--since", "1m", "--since-time", "2026-01-01T00:00:00Z"},
		{"a", "--since-time", "yesterday"},
		{"a", "--all-containers", "-c", "app"},
		{"a", "--max-log-requests", "0"},
		{"a", "--color", "purple"},
		{"a", "--tail", "-2"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}
