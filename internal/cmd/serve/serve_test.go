package serve

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

func TestFlagsWinOverConfig(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cfg := &config.Config{
		Policy: config.Policy{Source: "configmap://kgate-system/kgate-policy"},
		Serve: config.Serve{
			Listen: "0.0.0.0:8443", TLSCertFile: "/tls/tls.crt", TLSKeyFile: "/tls/tls.key", SigningKeyFile: "/keys/signing.pem",
			VerificationKeyFiles: []string{"/keys/old.pem"}, Issuer: "https://kgate.example.com", Audience: "kgate",
			TokenLifetime: time.Hour, ShutdownGrace: time.Minute, LoginFailureLimit: 10, LoginFailureWindow: time.Hour,
		},
	}
	f := &cmdutil.Factory{IOStreams: ios, KubeFlags: genericclioptions.NewConfigFlags(false),
		Config: func() (*config.Config, error) { return cfg, nil }}
	var got *Options
	cmd := NewCmdServe(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--listen", "127.0.0.1:9443", "--shutdown-grace", "5s", "--verification-key-file", "a.pem,b.pem"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:9443" || got.ShutdownGrace != 5*time.Second || !slices.Equal(got.VerificationKeyFiles, []string{"a.pem", "b.pem"}) {
		t.Errorf("flags lost: %+v", got)
	}
	if got.TLSCertFile != "/tls/tls.crt" || got.SigningKeyFile != "/keys/signing.pem" || got.Issuer != "https://kgate.example.com" ||
		got.TokenLifetime != time.Hour || got.LoginFailureLimit != 10 || got.LoginFailureWindow != time.Hour ||
		got.PolicySource != "configmap://kgate-system/kgate-policy" {
		t.Errorf("config not applied: %+v", got)
	}
}

func TestIssuerDefaultsToTheListenAddress(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, KubeFlags: genericclioptions.NewConfigFlags(false),
		Config: func() (*config.Config, error) { return &config.Config{}, nil }}
	for args, want := range map[string]string{"127.0.0.1:8443": "https://127.0.0.1:8443", ":8443": "", "0.0.0.0:8443": ""} {
		var got *Options
		cmd := NewCmdServe(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs([]string{"--listen", args})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Issuer != want {
			t.Errorf("--listen %s: issuer %q, want %q", args, got.Issuer, want)
		}
	}
}

func TestClusterFlags(t *testing.T) {
	loaded := map[string]string{}
	load := func(kc, ctx string) (*rest.Config, error) {
		loaded[kc] = ctx
		return &rest.Config{Host: "https://" + kc}, nil
	}
	o := &Options{Clusters: []string{"test=/k/test.kubeconfig", "prod=/k/prod.kubeconfig#gw"}, DefaultCluster: "prod", ClusterUpstream: load}
	cs, err := o.clusters()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "test" || cs[1].Name != "prod" || cs[1].Upstream.Host != "https:///k/prod.kubeconfig" ||
		loaded["/k/prod.kubeconfig"] != "gw" || loaded["/k/test.kubeconfig"] != "" {
		t.Fatalf("clusters %+v, loaded %v", cs, loaded)
	}
	if !strings.HasPrefix(cs[0].Upstream.UserAgent, "kgate-gateway/") {
		t.Errorf("user agent %q", cs[0].Upstream.UserAgent)
	}
	for _, tc := range []struct {
		clusters []string
		def      string
		want     string
	}{
		{[]string{"test"}, "", "want NAME=KUBECONFIG"},
		{[]string{"test="}, "", "want NAME=KUBECONFIG"},
		{[]string{"Test=/k"}, "", "not a cluster name"},
		{[]string{"../x=/k"}, "", "not a cluster name"},
		{[]string{"=/k"}, "", "not a cluster name"},
		{[]string{"a=/k", "a=/j"}, "", "named twice"},
		{[]string{"a=/k"}, "b", "not one of the --cluster names"},
		{nil, "b", "needs --cluster"},
	} {
		o := &Options{Clusters: tc.clusters, DefaultCluster: tc.def, ClusterUpstream: load}
		_, err := o.clusters()
		var ke *errs.Error
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
			t.Errorf("%v --default-cluster %q: %v, want a usage error with %q", tc.clusters, tc.def, err, tc.want)
		}
	}
	if cs, err := (&Options{ClusterUpstream: load}).clusters(); err != nil || cs != nil {
		t.Errorf("no --cluster: %v %v", cs, err)
	}
}
