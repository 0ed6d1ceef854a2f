package factory

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// gatewayFactory returns a Factory whose config has server set to server,
// with the session s saved (none when nil).
func gatewayFactory(t *testing.T, server string, s *session.Session) *cmdutil.Factory {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := New(ios)
	dir := t.TempDir()
	cfg := &config.Config{Server: server, Paths: config.Paths{ConfigDir: dir, CacheDir: dir, StateDir: dir}}
	f.Config = func() (*config.Config, error) { return cfg, nil }
	if s != nil {
		if err := session.NewStore(dir).Save(s); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestGatewayMode(t *testing.T) {
	now := time.Now()
	srv := httptest.NewTLSServer(nil)
	srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	gwSession := &session.Session{User: "bob", Groups: []string{"qa"}, Issuer: "https://gw.test:8443", Issued: now,
		Expires: now.Add(time.Hour), Token: "tok", GatewayCA: ca}
	direct := &session.Session{User: "bob", Issuer: "ldaps://ldap.test", Issued: now, Expires: now.Add(time.Hour)}

	// A gateway session: its URL, token and CA, whatever the kubeconfig says.
	f := gatewayFactory(t, "", gwSession)
	c, err := f.RESTConfig()
	if err != nil || c.Host != "https://gw.test:8443" || string(c.CAData) != ca || c.WrapTransport == nil {
		t.Fatalf("gateway session: %v %+v", err, c)
	}
	// The token comes from the session's token source, on every request.
	var sent string
	rt := c.WrapTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r.Header.Get("Authorization")
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	}))
	req, _ := http.NewRequest("GET", "https://gw.test:8443/api", nil)
	if _, err := rt.RoundTrip(req); err != nil || sent != "Bearer tok" {
		t.Fatalf("gateway session's token: %v %q", err, sent)
	}
	// ... and the gateway's policy.
	o := policycache.Options{Source: "/somewhere/policy.yaml", CAFile: "/ca.pem"}
	if err := gatewayPolicy(f, &o); err != nil || o.Source != "https://gw.test:8443/kgate/v1/policy" || o.HTTPClient == nil || o.CAFile != "" {
		t.Errorf("gateway policy: %v %+v", err, o)
	}
	// server set and matching: the same.
	f = gatewayFactory(t, "https://gw.test:8443/", gwSession)
	if c, err := f.RESTConfig(); err != nil || c.Host != "https://gw.test:8443" {
		t.Errorf("matching server: %v", err)
	}
	// A direct session: the kubeconfig, and the configured policy source.
	f = gatewayFactory(t, "", direct)
	o = policycache.Options{Source: "/somewhere/policy.yaml"}
	if err := gatewayPolicy(f, &o); err != nil || o.Source != "/somewhere/policy.yaml" {
		t.Errorf("direct policy: %v %+v", err, o)
	}
	for name, tc := range map[string]struct {
		server string
		s      *session.Session
		want   string
	}{
		"no session":     {"https://gw.test:8443", nil, "not logged in"},
		"direct session": {"https://gw.test:8443", direct, "direct LDAP login"},
		"other gateway":  {"https://other.test", gwSession, "is with the gateway https://gw.test:8443, not https://other.test"},
		"expired":        {"", &session.Session{User: "bob", Issuer: "https://gw.test:8443", Expires: now.Add(-time.Minute), Token: "t"}, "expired"},
		"bad url":        {"http://gw.test", gwSession, "must be https://"},
	} {
		t.Run(name, func(t *testing.T) {
			f := gatewayFactory(t, tc.server, tc.s)
			_, err := f.RESTConfig()
			var ke *errs.Error
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ke) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if name != "bad url" && ke.Kind != errs.KindAuth {
				t.Errorf("kind %v, want auth (exit 3)", ke.Kind)
			}
			// whoami reads the session: it must refuse it in the same words.
			_, serr := f.Session()
			if serr == nil || serr.Error() != err.Error() {
				t.Errorf("Session(): %v, want %v", serr, err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
