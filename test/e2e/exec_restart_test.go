package e2e

import (
	"strings"
	"testing"
	"time"
)

// An exec whose API server goes away in the middle says what happened and
// exits 6 (unavailable), over each transport.
func TestExecAcrossAPIServerRestart(t *testing.T) {
	u := Operator(t)
	for _, transport := range []string{"websocket", "spdy"} {
		p := u.Start("exec", "-n", "sandbox", "quiet", "--transport", transport, "--", "sh", "-c", "echo started; sleep 120")
		if !p.WaitFor("started", 30*time.Second) {
			t.Fatalf("%s: exec did not start: %s", transport, p.Output())
		}
		restartAPIServer(t, func() {})
		code, ok := p.Wait(90 * time.Second)
		if !ok {
			t.Fatalf("%s: exec did not end after the API server went away: %s", transport, p.Output())
		}
		out := p.Output()
		t.Logf("%s: exit %d: %s", transport, code, out)
		if code != 6 {
			t.Errorf("%s: exec across an API server restart: exit %d, want 6: %s", transport, code, out)
		}
		if !strings.Contains(out, "error: ") || !strings.Contains(out, "API server") {
			t.Errorf("%s: the message does not say the API server went away: %q", transport, out)
		}
	}
}
