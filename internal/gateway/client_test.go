package gateway

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgate/kgate/internal/errs"
)

func kindOf(err error) errs.Kind {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}

func TestLoginClient(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.g.Handler())
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ctx := context.Background()

	lr, err := Login(ctx, srv.URL, ca, "alice", "alice-pw")
	if err != nil || lr.User != "alice" || lr.Token == "" {
		t.Fatalf("login: %+v %v", lr, err)
	}
	if _, err := Login(ctx, srv.URL, ca, "alice", "wrong"); kindOf(err) != errs.KindAuth || !strings.Contains(err.Error(), "invalid username or password") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := Login(ctx, srv.URL, nil, "alice", "alice-pw"); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("untrusted gateway: %v", err)
	}
	srv2 := httptest.NewTLSServer(f.g.Handler())
	url2 := srv2.URL
	srv2.Close()
	if _, err := Login(ctx, url2, ca, "alice", "alice-pw"); kindOf(err) != errs.KindUnavailable {
		t.Errorf("gateway down: %v", err)
	}
	for i := 0; i < 3; i++ {
		_, _ = Login(ctx, srv.URL, ca, "bob", "wrong")
	}
	if _, err := Login(ctx, srv.URL, ca, "bob", "bob-pw"); kindOf(err) != errs.KindAuth || !strings.Contains(err.Error(), "too many failed logins") {
		t.Errorf("rate limited: %v", err)
	}

	kc, err := Kubeconfig(srv.URL, lr.Token, ca, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil || cfg.Host != srv.URL || cfg.BearerToken != lr.Token || string(cfg.CAData) != string(ca) {
		t.Errorf("kubeconfig: %v %+v", err, cfg)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gw.example.com":       "https://gw.example.com",
		"https://gw.example.com/":      "https://gw.example.com",
		"https://127.0.0.1:8443":       "https://127.0.0.1:8443",
		"http://gw.example.com":        "",
		"https://gw.example.com/kgate": "",
		"gw.example.com":               "",
	} {
		got, err := NormalizeURL(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
}
