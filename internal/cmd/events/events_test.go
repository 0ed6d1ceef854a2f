package events

import (
	"errors"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdEvents, args...)
}

func TestParse(t *testing.T) {
	o, err := parse(t, "--for", "deploy/web", "--types=Warning,normal", "-w", "-A")
	if err != nil {
		t.Fatal(err)
	}
	if o.For != "deploy/web" || len(o.Types) != 2 || !o.Watch || !o.AllNamespaces {
		t.Fatalf("%+v", o)
	}
	if !o.keep("Normal") || !o.keep("Warning") {
		t.Error("types compare case-insensitively")
	}
	if o, _ = parse(t, "--types=Warning"); o.keep("Normal") {
		t.Error("--types=Warning keeps Normal events")
	}
	for _, args := range [][]string{{"--types=Error"}, {"--types=Warning,Info"}} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}
