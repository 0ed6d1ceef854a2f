package login

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/session"
)

// GatewayLoginFunc sends a username and password to a gateway; gateway.Login is one.
type GatewayLoginFunc func(ctx context.Context, server string, caPEM []byte, username, password string) (*gateway.LoginResponse, error)

// gatewayLoginRun logs in through the gateway at cfg.Server: the password
// goes to the gateway over TLS, which binds to LDAP and returns a signed
// token; the session keeps the token, the gateway's URL (as its issuer) and
// the CA, and every later command goes through the gateway.
func gatewayLoginRun(ctx context.Context, opts *Options, cfg *config.Config) error {
	server, err := gateway.NormalizeURL(cfg.Server)
	if err != nil {
		return err
	}
	caFile := opts.GatewayCAFile
	if caFile == "" {
		caFile = cfg.Gateway.CAFile
	}
	var ca []byte
	if caFile != "" {
		if ca, err = os.ReadFile(caFile); err != nil {
			return errs.UsageErrorf("reading the gateway CA %s: %v", caFile, unwrapPath(err))
		}
	}
	username, err := opts.username(ctx)
	if err != nil {
		return err
	}
	password, err := opts.password(ctx, username)
	if err != nil {
		return err
	}
	if password == "" {
		return errs.AuthErrorf("empty password")
	}
	login := opts.GatewayLogin
	if login == nil {
		login = gateway.Login
	}
	lr, err := login(ctx, server, ca, username, password)
	if err != nil {
		return err
	}
	now := opts.Now()
	s := &session.Session{
		User: lr.User, DN: lr.DN, Groups: lr.Groups, Issuer: server,
		Issued: now.UTC(), Expires: lr.Expires.UTC(), Token: lr.Token, GatewayCA: string(ca),
		Clusters: lr.Clusters, DefaultCluster: lr.DefaultCluster,
	}
	if lr.RefreshToken != "" {
		// A short access token, refreshed until the session ends.
		s.RefreshToken, s.TokenIssued, s.TokenExpires = lr.RefreshToken, now.UTC(), lr.Expires.UTC()
		s.Expires = lr.SessionExpires.UTC()
	}
	if s.Groups == nil {
		s.Groups = []string{}
	}
	if err := session.NewStore(cfg.Paths.ConfigDir).Save(s); err != nil {
		return err
	}
	groups := "no groups"
	if len(s.Groups) > 0 {
		groups = "groups: " + strings.Join(s.Groups, ", ")
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in as %s (%s) through the gateway %s until %s.\n",
		s.User, groups, server, s.Expires.Local().Format("2006-01-02 15:04 MST"))
	if opts.PrintKubeconfig {
		var kc []byte
		if s.RefreshToken != "" {
			// kubectl asks `kgate credential` for a fresh token: the
			// kubeconfig holds none.
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding the kgate binary for the kubeconfig's credential plugin: %w", err)
			}
			kc, err = gateway.ExecKubeconfig(server, ca, s.User, self, cfg.Paths.ConfigDir)
			if err != nil {
				return err
			}
		} else if kc, err = gateway.Kubeconfig(server, lr.Token, ca, s.User); err != nil {
			return err
		}
		if len(lr.Clusters) > 0 {
			// A gateway fronting several clusters: a context for each,
			// at /clusters/NAME, so kubectl, k9s and stern reach each.
			if kc, err = gateway.PerClusterKubeconfig(kc, server, lr.Clusters, lr.DefaultCluster); err != nil {
				return err
			}
		}
		_, err = opts.IO.Out.Write(kc)
		return err
	}
	return nil
}

// unwrapPath drops the *fs.PathError layer, whose path the message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
