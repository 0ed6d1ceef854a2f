package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	streamhttpstream "k8s.io/streaming/pkg/httpstream"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/factory"
	"github.com/kgate/kgate/internal/iostreams"
)

func TestHandleError(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:1/api", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	cases := []struct {
		name     string
		err      error
		code     int
		contains string
	}{
		{"nil", nil, 0, ""},
		{"usage", errs.UsageErrorf("bad"), 2, "error: bad"},
		{"auth", errs.AuthErrorf("no session"), 3, "no session"},
		{"forbidden", errs.ForbiddenErrorf("nope"), 4, "nope"},
		{"notfound api", apierrors.NewNotFound(pods, "x"), 5, `Error from server (NotFound): pods "x" not found`},
		{"forbidden api", apierrors.NewForbidden(pods, "x", fmt.Errorf("rbac")), 4, "Error from server (Forbidden)"},
		{"unauthorized api", apierrors.NewUnauthorized("who"), 3, "Unauthorized"},
		{"unavailable api", apierrors.NewServiceUnavailable("busy"), 6, "busy"},
		{"refused", refused, 6, "cannot reach the API server at 127.0.0.1:1"},
		{"wrapped refused", fmt.Errorf("listing: %w", refused), 6, "connection refused"},
		{"deadline", context.DeadlineExceeded, 6, "cannot reach"},
		{"exit code", &errs.ExitCodeError{Code: 137}, 137, ""},
		{"partial", errs.Join([]error{apierrors.NewNotFound(pods, "a"), apierrors.NewNotFound(pods, "b")}), 5, `pods "b" not found`},
		{"other", fmt.Errorf("boom"), 1, "error: boom"},
		{"hint", errs.WithHint(errs.AuthErrorf("not logged in"), "run `kgate login`"), 3, "run `kgate login`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			code := handleError(&b, c.err, false)
			if code != c.code {
				t.Errorf("code %d, want %d (%s)", code, c.code, b.String())
			}
			if !strings.Contains(b.String(), c.contains) {
				t.Errorf("output %q does not contain %q", b.String(), c.contains)
			}
		})
	}
	if code := handleError(&bytes.Buffer{}, context.Canceled, true); code != 130 {
		t.Errorf("interrupted: %d", code)
	}
}

func TestUpgradeRefusedIsForbidden(t *testing.T) {
	err := &streamhttpstream.UpgradeFailureError{Cause: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web", errors.New("needs admin"))}
	var b bytes.Buffer
	if code := handleError(&b, err, false); code != ExitForbidden || !strings.Contains(b.String(), "Error from server (Forbidden)") {
		t.Errorf("exit %d: %s", code, b.String())
	}
}

// cobra's argument and flag errors reach the error mapping typed: exit 2
// without any matching of cobra's words.
func TestCobraErrorsAreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"get", "--frob"},
		{"whoami", "extra"},
		{"lock", "user", "a", "b"},
		{"can-i", "get"},
		{"policy", "rbac", "a", "b"},
		{"-n"},
	} {
		ios, _, _, _ := iostreams.Test()
		root := NewRootCmd(factory.New(ios))
		err := execute(context.Background(), root, args)
		var ke *errs.Error
		if !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
			t.Errorf("%q: %v (%T), want a usage error", args, err, err)
		}
	}
}
