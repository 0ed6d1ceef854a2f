package label

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

func parse(t *testing.T, annotate bool, args ...string) (*Options, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	var got *Options
	f := &cmdutil.Factory{IOStreams: io}
	cmd := NewCmdLabel(f, func(o *Options) error { got = o; return nil })
	if annotate {
		cmd = NewCmdAnnotate(f, func(o *Options) error { got = o; return nil })
	}
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

func TestParse(t *testing.T) {
	o, err := parse(t, false, "deploy/web", "pods", "x", "tier=web", "env-", "--overwrite", "--dry-run=server")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Args, []string{"deploy/web", "pods", "x"}) || !reflect.DeepEqual(o.Set, map[string]string{"tier": "web"}) ||
		!reflect.DeepEqual(o.Remove, []string{"env"}) || !o.Overwrite || o.DryRun != "server" || o.Annotate {
		t.Fatalf("%+v", o)
	}
	// An annotation's value may be anything a label's may not.
	if o, err = parse(t, true, "cm/x", "note=two words, and: more"); err != nil || o.Set["note"] != "two words, and: more" || !o.Annotate {
		t.Fatalf("annotate: %+v %v", o, err)
	}
	if o, err = parse(t, false, "cm/x", "--list"); err != nil || !o.List {
		t.Fatalf("--list: %+v %v", o, err)
	}
	for _, args := range [][]string{
		{}, {"cm/x"}, {"tier=web"}, {"cm/x", "tier=two words"}, {"cm/x", "bad key=1"}, {"cm/x", "a=1", "a-"},
		{"cm/x", "a=1", "cm/y"}, {"cm/x", "a=1", "--dry-run=maybe"},
	} {
		_, err := parse(t, false, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}
