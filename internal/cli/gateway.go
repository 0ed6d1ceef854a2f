package cli

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// gatewaySession returns the session of gateway mode, or nil when kgate runs
// direct. Gateway mode is a session that holds a gateway token, or the
// config key server (--server, KGATE_SERVER) being set; with server set,
// anything but a valid session with that gateway is an error (exit 3).
func gatewaySession(f *cmdutil.Factory) (*session.Session, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	server := ""
	if cfg.Server != "" {
		if server, err = gateway.NormalizeURL(cfg.Server); err != nil {
			return nil, err
		}
	}
	hint := "Run `kgate login --server " + server + "` to log in through the gateway."
	st := session.NewStore(cfg.Paths.ConfigDir)
	s, err := st.Read()
	if err != nil {
		if server == "" {
			return nil, nil // direct mode; commands that need a session say so
		}
		return nil, errs.WithHint(err, hint)
	}
	if s.Token == "" {
		if server == "" {
			return nil, nil
		}
		return nil, errs.WithHint(errs.AuthErrorf("the session of %s is a direct LDAP login, not one with the gateway %s", s.User, server), hint)
	}
	if server != "" && server != s.Issuer {
		return nil, errs.WithHint(errs.AuthErrorf("the session of %s is with the gateway %s, not %s", s.User, s.Issuer, server), hint)
	}
	// Load checks the expiry and says so in the usual words.
	if s, err = st.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// restConfigFor is the rest.Config of every command: the gateway's URL and
// the session's token in gateway mode, else the kubeconfig.
func restConfigFor(f *cmdutil.Factory, kf *genericclioptions.ConfigFlags) (*rest.Config, error) {
	s, err := gatewaySession(f)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return kf.ToRESTConfig()
	}
	src, err := f.GatewaySource()
	if err != nil {
		return nil, err
	}
	c := gateway.RESTConfig(s.Issuer, "", []byte(s.GatewayCA))
	c.Wrap(src.WrapTransport)
	return c, nil
}

// gatewayPolicy makes the policy cache read the gateway's own policy in
// gateway mode, with the session's token: the gateway decides with it
// anyway, and users may not be able to read any other source.
func gatewayPolicy(f *cmdutil.Factory, o *policycache.Options) error {
	s, err := gatewaySession(f)
	if err != nil || s == nil {
		return err
	}
	src, err := f.GatewaySource()
	if err != nil {
		return err
	}
	rc := gateway.RESTConfig(s.Issuer, "", []byte(s.GatewayCA))
	rc.Wrap(src.WrapTransport)
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return err
	}
	o.Source = s.Issuer + gateway.PolicyPath
	o.CAFile = ""
	o.HTTPClient = hc
	return nil
}
