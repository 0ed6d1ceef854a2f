package ldapauth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
)

// Authenticator logs users in against the configured directory.
type Authenticator struct {
	cfg          config.LDAP
	servers      []server
	roots        *x509.CertPool // nil: the system's roots
	bindPassword string

	// Warnf reports something the user should know but that does not stop
	// the login, such as a bind without TLS. Nil discards.
	Warnf func(format string, a ...any)

	// connect opens an authenticated-ready connection; tests replace it.
	connect func(ctx context.Context, s server) (conn, error)
	// dial opens the TCP connection; tests replace it.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// New checks the configuration and returns an Authenticator. It reads the
// CA file and the bind password file, so a broken configuration is reported
// before the user is asked for a password.
func New(cfg config.LDAP) (*Authenticator, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(uid=%s)"
	}
	if cfg.GroupAttribute == "" {
		cfg.GroupAttribute = "memberOf"
	}
	if cfg.GroupNameAttribute == "" {
		cfg.GroupNameAttribute = "cn"
	}
	if cfg.GroupFilter == "" {
		cfg.GroupFilter = "(member=%s)"
	}
	a := &Authenticator{cfg: cfg}
	a.connect = a.connectTLS
	a.dial = (&net.Dialer{}).DialContext

	if len(cfg.URLs) == 0 {
		return nil, configError("no LDAP server is configured",
			"Set ldap.urls in the config file or KGATE_LDAP_URLS, or pass --ldap-url.")
	}
	for _, raw := range cfg.URLs {
		s, err := parseURL(raw)
		if err != nil {
			return nil, configError(err.Error(), "Use ldaps://HOST[:PORT] or ldap://HOST[:PORT] (with StartTLS) in ldap.urls.")
		}
		if s.scheme == "ldap" && !cfg.StartTLS && !cfg.Insecure {
			return nil, configError(fmt.Sprintf("refusing to send passwords to %s without TLS: ldap.startTLS is off", raw),
				"Use an ldaps:// URL or set ldap.startTLS: true; only if you must, set ldap.insecure: true.")
		}
		a.servers = append(a.servers, s)
	}
	if cfg.UserBase == "" {
		return nil, configError("ldap.userBase is not set", "Set it to the subtree that holds your users, e.g. ou=people,dc=example,dc=com.")
	}
	if !strings.Contains(cfg.UserFilter, "%s") {
		return nil, configError(fmt.Sprintf("ldap.userFilter %q has no %%s for the username", cfg.UserFilter), "")
	}
	if cfg.GroupBase != "" && !strings.Contains(cfg.GroupFilter, "%s") && !strings.Contains(cfg.GroupFilter, "%u") {
		return nil, configError(fmt.Sprintf("ldap.groupFilter %q has neither %%s (the user's DN) nor %%u (the username)", cfg.GroupFilter), "")
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, configError(fmt.Sprintf("reading ldap.caFile: %v", err), "")
		}
		a.roots = x509.NewCertPool()
		if !a.roots.AppendCertsFromPEM(pem) {
			return nil, configError(fmt.Sprintf("ldap.caFile %s holds no PEM certificate", cfg.CAFile), "")
		}
	}
	a.bindPassword = cfg.BindPassword
	if cfg.BindPasswordFile != "" {
		b, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, configError(fmt.Sprintf("reading ldap.bindPasswordFile: %v", err), "")
		}
		a.bindPassword = strings.TrimRight(string(b), "\r\n")
	}
	if cfg.BindDN != "" && a.bindPassword == "" {
		return nil, configError(fmt.Sprintf("ldap.bindDN is %s but no bind password is set", cfg.BindDN),
			"Set ldap.bindPasswordFile (or ldap.bindPassword, KGATE_LDAP_BINDPASSWORD).")
	}
	return a, nil
}

func configError(msg, hint string) error {
	return errs.WithHint(errs.WithKind(errs.KindGeneric, errors.New(msg)), hint)
}

func parseURL(raw string) (server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return server{}, fmt.Errorf("bad LDAP URL %q: %v", raw, err)
	}
	s := server{url: raw, scheme: strings.ToLower(u.Scheme), host: u.Hostname()}
	port := u.Port()
	switch s.scheme {
	case "ldap":
		if port == "" {
			port = "389"
		}
	case "ldaps":
		if port == "" {
			port = "636"
		}
	default:
		return server{}, fmt.Errorf("bad LDAP URL %q: the scheme must be ldap or ldaps", raw)
	}
	if s.host == "" {
		return server{}, fmt.Errorf("bad LDAP URL %q: no host", raw)
	}
	s.hostport = net.JoinHostPort(s.host, port)
	return s, nil
}
