package gateway

import (
	"regexp"
	"strings"
	"testing"
)

// TestPlainKeyIsTheRegexp: the hand-written check accepts exactly what
// ^[a-z0-9][-a-z0-9_.]{0,200}$ does.
func TestPlainKeyIsTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][-a-z0-9_.]{0,200}$`)
	cases := []string{"", "a", "-", "_a", ".a", "a-", "a_b.c-d", "A", "a/b", "a\n", "é", "a b", "0",
		strings.Repeat("a", 201), strings.Repeat("a", 202), "a" + strings.Repeat(".", 200), "a" + strings.Repeat(".", 201)}
	for _, c := range cases {
		if got, want := plainKey(c), re.MatchString(c); got != want {
			t.Errorf("plainKey(%q) = %v, the regexp says %v", c, got, want)
		}
	}
}
