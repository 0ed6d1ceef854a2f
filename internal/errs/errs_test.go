package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestWithHintKeepsTheWholeMessage(t *testing.T) {
	inner := NotFoundErrorf(`pod "web" not found`)
	for _, tc := range []struct {
		name string
		err  error
		msg  string
		kind Kind
	}{
		{"bare", inner, `pod "web" not found`, KindNotFound},
		{"wrapped", fmt.Errorf("resolving deploy/web: %w", inner), `resolving deploy/web: pod "web" not found`, KindNotFound},
		{"wrapped twice", fmt.Errorf("exec: %w", fmt.Errorf("resolving deploy/web: %w", inner)), `exec: resolving deploy/web: pod "web" not found`, KindNotFound},
		{"plain", errors.New("boom"), "boom", KindGeneric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WithHint(tc.err, "Run `kgate get pods`.")
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind || e.Hint != "Run `kgate get pods`." {
				t.Fatalf("got %#v", err)
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err.Error(), tc.msg)
			}
			if tc.name != "bare" && !errors.Is(err, tc.err) {
				t.Error("the original error is no longer in the chain")
			}
		})
	}
	// A hint on an *Error replaces its hint and leaves the original alone.
	h := WithHint(inner, "first")
	if WithHint(h, "second").(*Error).Hint != "second" || h.(*Error).Hint != "first" || inner.Hint != "" {
		t.Error("hints leaked between copies")
	}
	if WithHint(nil, "x") != nil {
		t.Error("a hint on no error is no error")
	}
}
