package factory

import (
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/session"
)

// decideMode reads the session file once and decides the mode. Gateway mode
// is a session that holds a gateway token, or the config key server
// (--server, KGATE_SERVER) being set; with server set, anything but a valid
// session with that gateway is an error (exit 3). In direct mode a session
// that cannot be read is no error yet: commands that need one say so
// (Mode.SessionErr).
func decideMode(cfg *config.Config, st *session.Store) (*cmdutil.Mode, error) {
	server := ""
	if cfg.Server != "" {
		var err error
		if server, err = gateway.NormalizeURL(cfg.Server); err != nil {
			return nil, err
		}
	}
	hint := "Run `kgate login --server " + server + "` to log in through the gateway."
	s, err := readSession(st)
	if err != nil {
		if server == "" {
			return &cmdutil.Mode{SessionErr: err}, nil
		}
		return nil, errs.WithHint(err, hint)
	}
	if s.Token == "" {
		if server == "" {
			return &cmdutil.Mode{Session: s}, nil
		}
		return nil, errs.WithHint(errs.AuthErrorf("the session of %s is a direct LDAP login, not one with the gateway %s", s.User, server), hint)
	}
	if server != "" && server != s.Issuer {
		return nil, errs.WithHint(errs.AuthErrorf("the session of %s is with the gateway %s, not %s", s.User, s.Issuer, server), hint)
	}
	// Expired: said in the words of session.Store.Load.
	if err := st.Check(s); err != nil {
		return nil, err
	}
	return &cmdutil.Mode{Gateway: s.Issuer, Session: s}, nil
}

// gatewayPolicy makes the policy cache read the gateway's own policy in
// gateway mode, with the session's token: the gateway decides with it
// anyway, and users may not be able to read any other source.
func gatewayPolicy(f *cmdutil.Factory, o *policycache.Options) error {
	m, err := f.Mode()
	if err != nil || m.Direct() {
		return err
	}
	src, err := f.GatewaySource()
	if err != nil {
		return err
	}
	return gatewayPolicyFor(f, m, src, o)
}
