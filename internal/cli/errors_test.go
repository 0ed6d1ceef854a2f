package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kgate/kgate/internal/errs"
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
		{"cobra", fmt.Errorf("unknown flag: --frob"), 2, "unknown flag"},
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
