package events

import (
	"errors"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
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

// --for resolves TYPE through the cluster's kinds: a custom resource's
// events are selected by its kind and preferred version.
func TestForSelector(t *testing.T) {
	k := kube.TestKinds()
	for arg, want := range map[string]string{
		"wdg/big":                "involvedObject.kind=Widget,involvedObject.apiVersion=kgate.test/v1,involvedObject.name=big",
		"widgets.kgate.test/big": "involvedObject.kind=Widget,involvedObject.apiVersion=kgate.test/v1,involvedObject.name=big",
		"deploy/web":             "involvedObject.kind=Deployment,involvedObject.apiVersion=apps/v1,involvedObject.name=web",
		"po/web-1":               "involvedObject.kind=Pod,involvedObject.apiVersion=v1,involvedObject.name=web-1",
	} {
		if got, err := forSelector(k, arg); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", arg, got, err, want)
		}
	}
	for _, arg := range []string{"web", "/web", "deploy/", "a/b/c", "gizmos/x"} {
		_, err := forSelector(k, arg)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage || !strings.Contains(err.Error(), strings.Split(arg, "/")[0]) {
			t.Errorf("%s: %v, want a usage error", arg, err)
		}
	}
}
