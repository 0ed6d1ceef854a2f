package gateway

import (
	"net/http"
	"testing"
)

// The web console gets "/" (from a browser: no Authorization header) and
// everything under ConsolePrefix; every other path, and "/" with a token,
// stays the Kubernetes API.
func TestConsoleMount(t *testing.T) {
	f := newFixture(t)
	if resp, _ := f.do(t, "GET", "/", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/ without a console: %d", resp.StatusCode)
	}
	f.g.SetConsole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Console", "1")
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, tc := range []struct {
		path, token string
		console     bool
	}{
		{"/", "", true},
		{ConsolePrefix, "", true},
		{ConsolePrefix + "api/session", "", true},
		{ConsolePrefix + "k8s/api/v1/namespaces/payments/pods", f.token(t, "bob"), true},
		{"/", f.token(t, "olga"), false},
		{"/api/v1/namespaces/payments/pods", f.token(t, "bob"), false},
		{"/kgate/consolex", "", false},
		{"/healthz", "", false},
	} {
		resp, _ := f.do(t, "GET", tc.path, tc.token, nil)
		if got := resp.Header.Get("X-Console") == "1"; got != tc.console {
			t.Errorf("%s (token %v): console %v, status %d", tc.path, tc.token != "", got, resp.StatusCode)
		}
	}
	// A Connection header naming another header is refused there too.
	if resp, body := f.do(t, "GET", ConsolePrefix+"api/session", "", map[string]string{"Connection": "X-Kgate-Csrf"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("odd Connection to the console: %d %s", resp.StatusCode, body)
	}
}
