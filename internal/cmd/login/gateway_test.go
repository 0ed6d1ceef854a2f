package login

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/session"
)

func TestGatewayLogin(t *testing.T) {
	opts, auth, ios := setup(t, map[string]string{"KGATE_PASSWORD": "pw"}, false)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	_ = os.WriteFile(caFile, []byte("CA PEM"), 0o600)
	base, _ := opts.Config()
	cfg := *base
	cfg.Server = "https://gw.test:8443/"
	cfg.Gateway.CAFile = caFile
	opts.Config = func() (*config.Config, error) { return &cfg, nil }
	var got struct{ server, ca, user, pw string }
	opts.GatewayLogin = func(_ context.Context, server string, ca []byte, user, pw string) (*gateway.LoginResponse, error) {
		got.server, got.ca, got.user, got.pw = server, string(ca), user, pw
		return &gateway.LoginResponse{Token: "tok", User: "alice", DN: "uid=alice", Groups: []string{"qa"},
			Issuer: "https://gw.test:8443", Expires: now.Add(time.Hour)}, nil
	}
	opts.Username, opts.PrintKubeconfig = "Alice", true
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if auth.calls != 0 {
		t.Error("gateway mode asked LDAP itself")
	}
	if got.server != "https://gw.test:8443" || got.ca != "CA PEM" || got.user != "Alice" || got.pw != "pw" {
		t.Errorf("login sent %+v", got)
	}
	s, err := (&session.Store{Dir: cfg.Paths.ConfigDir, Now: func() time.Time { return now }}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "alice" || s.Token != "tok" || s.Issuer != "https://gw.test:8443" || s.GatewayCA != "CA PEM" || !s.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("session %+v", s)
	}
	kc, err := clientcmd.Load(ios.Out.(*bytes.Buffer).Bytes())
	if err != nil {
		t.Fatalf("kubeconfig: %v\n%s", err, ios.Out)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if kc.Clusters[ctx.Cluster].Server != "https://gw.test:8443" || kc.AuthInfos[ctx.AuthInfo].Token != "tok" ||
		string(kc.Clusters[ctx.Cluster].CertificateAuthorityData) != "CA PEM" {
		t.Errorf("kubeconfig %+v", kc)
	}
	if !strings.Contains(ios.ErrOut.(*bytes.Buffer).String(), "through the gateway https://gw.test:8443") {
		t.Errorf("message: %s", ios.ErrOut)
	}
}

func TestGatewayFlagsNeedAServer(t *testing.T) {
	opts, _, _ := setup(t, map[string]string{"KGATE_PASSWORD": "pw"}, false)
	opts.Username, opts.PrintKubeconfig = "alice", true
	err := loginRun(context.Background(), opts)
	var ke *errs.Error
	if err == nil || !strings.Contains(err.Error(), "--server") || !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
		t.Errorf("error %v", err)
	}
}
