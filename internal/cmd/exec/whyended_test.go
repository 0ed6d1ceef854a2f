package exec

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilexec "k8s.io/client-go/util/exec"
)

func TestWhyEnded(t *testing.T) {
	broke := errors.New("websocket: close 1006 (abnormal closure): unexpected EOF")
	locked := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-1", errors.New(`user "alice" is locked by olga: laptop stolen`))
	probes := 0
	probe := func(err error) func(context.Context) error {
		return func(context.Context) error { probes++; return err }
	}
	ctx := context.Background()
	if err := whyEnded(ctx, broke, probe(locked)); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "laptop stolen") {
		t.Errorf("a broken session of a locked user: %v", err)
	}
	if err := whyEnded(ctx, broke, probe(nil)); err != broke {
		t.Errorf("a broken session, pod still there: %v", err)
	}
	n := probes
	exit := utilexec.CodeExitError{Err: errors.New("exit 3"), Code: 3}
	if err := whyEnded(ctx, exit, probe(locked)); !errors.Is(err, exit) && err != error(exit) {
		t.Errorf("the command's exit code: %v", err)
	}
	if err := whyEnded(ctx, nil, probe(locked)); err != nil || probes != n {
		t.Errorf("success: %v, %d probes", err, probes-n)
	}
}
