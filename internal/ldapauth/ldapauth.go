// Package ldapauth authenticates a user against an LDAP directory: bind as a
// read-only service account, find the user's entry by a filter, bind as that
// entry with the user's password, and read the user's groups from memberOf
// or from a group search.
//
// Passwords go only to servers reached over TLS (ldaps:// or StartTLS) unless
// the configuration says insecure: true, and they are never logged. Several
// URLs are tried in order; the next is used only when one is unreachable,
// times out or fails the TLS handshake, never after a refused password.
//
// Errors are classified with internal/errs:
//
//	wrong password, unknown or ambiguous user  KindAuth (exit 3), one message for all
//	every server unreachable or timed out      KindUnavailable (exit 6), naming the URLs
//	certificate not trusted, bad configuration KindGeneric (exit 1): retrying will not help
package ldapauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
)

// Default timeouts, used when the configuration leaves them at zero.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// Identity is who the directory says the user is.
type Identity struct {
	// Username is the value of the username attribute (uid), else what was typed.
	Username string
	DN       string
	Groups   []string
	// Server is the URL of the server that authenticated the user.
	Server string
}

// errInvalidCredentials is the one answer for an unknown user, an ambiguous
// one and a wrong password, so that the message does not reveal which.
func errInvalidCredentials() error {
	return errs.WithHint(errs.AuthErrorf("invalid username or password"),
		"Check your username and password and run `kgate login` again.")
}

// conn is the part of *ldap.Conn the authenticator uses; tests fake it.
type conn interface {
	Bind(dn, password string) error
	Search(req *ldap.SearchRequest) (*ldap.SearchResult, error)
	Close() error
}

// server is one parsed entry of ldap.urls.
type server struct {
	url      string // as configured, for messages
	scheme   string // ldap or ldaps
	host     string // for tls.Config.ServerName (Go checks IP SANs against it too)
	hostport string
}

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

// Authenticate checks username and password against the directory and
// returns the user's identity. An empty password is refused before anything
// is sent: to LDAP an empty password is an unauthenticated bind, which succeeds.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string) (*Identity, error) {
	if strings.TrimSpace(username) == "" {
		return nil, errs.AuthErrorf("empty username")
	}
	if password == "" {
		return nil, errs.WithHint(errs.AuthErrorf("empty password: refusing to log in %s", username),
			"An empty password would be an anonymous bind; give your LDAP password.")
	}
	var failures []*transportError
	for _, s := range a.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := a.authenticateAt(ctx, s, username, password)
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *transportError
		if !errors.As(err, &te) {
			return nil, err
		}
		failures = append(failures, te)
	}
	return nil, a.summarize(failures)
}

func (a *Authenticator) authenticateAt(ctx context.Context, s server, username, password string) (*Identity, error) {
	c, err := a.connect(ctx, s)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	if a.cfg.BindDN != "" {
		if err := c.Bind(a.cfg.BindDN, a.bindPassword); err != nil {
			return nil, a.opError(s, stepServiceBind, err)
		}
	}

	filter := strings.ReplaceAll(a.cfg.UserFilter, "%s", ldap.EscapeFilter(username))
	var attrs []string
	if a.cfg.UsernameAttribute != "" {
		attrs = append(attrs, a.cfg.UsernameAttribute)
	}
	if a.cfg.GroupBase == "" {
		attrs = append(attrs, a.cfg.GroupAttribute)
	}
	if len(attrs) == 0 {
		attrs = []string{"1.1"} // RFC 4511: the DN only
	}
	// A size limit of 2 is enough to tell one entry from several.
	res, err := c.Search(ldap.NewSearchRequest(a.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.cfg.Timeout/time.Second), false, filter, attrs, nil))
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, errInvalidCredentials()
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, configError(fmt.Sprintf("LDAP server %s: the user base %s does not exist or the service account cannot see it", s.url, a.cfg.UserBase),
			"Check ldap.userBase and the service account's rights.")
	case err != nil:
		return nil, a.opError(s, stepUserSearch, err)
	case len(res.Entries) != 1:
		return nil, errInvalidCredentials()
	}
	entry := res.Entries[0]

	if err := c.Bind(entry.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, errInvalidCredentials()
		}
		return nil, a.opError(s, stepUserBind, err)
	}

	id := &Identity{Username: canonicalName(entry, a.cfg.UsernameAttribute, username), DN: entry.DN, Server: s.url}
	if err := a.readGroups(c, s, entry, id); err != nil {
		return nil, err
	}
	return id, nil
}

// readGroups fills id.Groups from the entry's memberOf, or with a group
// search as the service account.
func (a *Authenticator) readGroups(c conn, s server, entry *ldap.Entry, id *Identity) error {
	if a.cfg.GroupBase == "" {
		for _, v := range entry.GetEqualFoldAttributeValues(a.cfg.GroupAttribute) {
			id.Groups = append(id.Groups, groupName(v, a.cfg.GroupNameAttribute))
		}
	} else {
		// The user's own bind may not see the groups; the service account does.
		if a.cfg.BindDN != "" {
			if err := c.Bind(a.cfg.BindDN, a.bindPassword); err != nil {
				return a.opError(s, stepServiceBind, err)
			}
		}
		gf := strings.NewReplacer("%s", ldap.EscapeFilter(entry.DN), "%u", ldap.EscapeFilter(id.Username)).Replace(a.cfg.GroupFilter)
		gres, err := c.Search(ldap.NewSearchRequest(a.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, int(a.cfg.Timeout/time.Second), false, gf, []string{a.cfg.GroupNameAttribute}, nil))
		if err != nil {
			return a.opError(s, stepGroupSearch, err)
		}
		for _, g := range gres.Entries {
			if vs := g.GetEqualFoldAttributeValues(a.cfg.GroupNameAttribute); len(vs) > 0 {
				id.Groups = append(id.Groups, vs[0])
			}
		}
	}
	slices.Sort(id.Groups)
	id.Groups = slices.Compact(id.Groups)
	return nil
}

// canonicalName is the entry's value of attr that matches what was typed
// (LDAP matched it case-insensitively), else its first value, else typed.
func canonicalName(e *ldap.Entry, attr, typed string) string {
	if attr == "" {
		return typed
	}
	vs := e.GetEqualFoldAttributeValues(attr)
	for _, v := range vs {
		if strings.EqualFold(v, strings.TrimSpace(typed)) {
			return v
		}
	}
	if len(vs) > 0 {
		return vs[0]
	}
	return typed
}

// groupName turns a memberOf DN into a group name: the value of nameAttr in
// its first RDN (cn=team-payments,ou=groups,... -> team-payments).
func groupName(dn, nameAttr string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return dn
	}
	for _, at := range parsed.RDNs[0].Attributes {
		if strings.EqualFold(at.Type, nameAttr) {
			return at.Value
		}
	}
	return parsed.RDNs[0].Attributes[0].Value
}

// step names the operation that failed, for messages.
type step string

const (
	stepServiceBind step = "binding as the service account"
	stepUserSearch  step = "searching for the user"
	stepUserBind    step = "binding as the user"
	stepGroupSearch step = "searching for the user's groups"
)

// opError classifies an error of a bind or search at server s.
func (a *Authenticator) opError(s server, what step, err error) error {
	var te *transportError
	if errors.As(err, &te) {
		return te
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.ErrorNetwork:
			return &transportError{server: s, msg: "connection lost while " + string(what), err: err}
		case ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultTimeLimitExceeded:
			return &transportError{server: s, msg: fmt.Sprintf("%s while %s", resultText(le.ResultCode), what), err: err}
		case ldap.LDAPResultConfidentialityRequired:
			return errs.WithHint(errs.WithKind(errs.KindGeneric,
				fmt.Errorf("LDAP server %s refused the bind without TLS (confidentiality required)", s.url)),
				"Use an ldaps:// URL or set ldap.startTLS: true.")
		case ldap.LDAPResultInvalidCredentials:
			if what == stepServiceBind {
				return configError(fmt.Sprintf("LDAP server %s refused the service account %s: invalid credentials", s.url, a.cfg.BindDN),
					"Check ldap.bindDN and ldap.bindPassword / ldap.bindPasswordFile.")
			}
		}
		if what == stepUserBind {
			return errs.WithHint(errs.AuthErrorf("LDAP server %s refused the login: %s", s.url, resultText(le.ResultCode)),
				"Ask your directory administrators whether your account is locked or disabled.")
		}
		return errs.WithKind(errs.KindGeneric, fmt.Errorf("LDAP server %s: %s: %s", s.url, what, resultMessage(le)))
	}
	return errs.WithKind(errs.KindGeneric, fmt.Errorf("LDAP server %s: %s: %w", s.url, what, err))
}

func resultText(code uint16) string {
	if t, ok := ldap.LDAPResultCodeMap[code]; ok {
		return strings.ToLower(t)
	}
	return fmt.Sprintf("result code %d", code)
}

func resultMessage(le *ldap.Error) string {
	msg := resultText(le.ResultCode)
	if le.Err != nil && le.Err.Error() != "" {
		msg += " (" + le.Err.Error() + ")"
	}
	return msg
}

// transportError is a failure to talk to one server: unreachable, timed
// out, or its TLS could not be verified. The next URL is tried after it.
type transportError struct {
	server  server
	msg     string // what happened, without the URL
	err     error
	tls     bool // certificate or handshake problem: a configuration issue
	timeout bool
}

func (e *transportError) Error() string { return e.server.url + ": " + e.msg }
func (e *transportError) Unwrap() error { return e.err }

// summarize turns the failures of every URL into one error.
func (a *Authenticator) summarize(failures []*transportError) error {
	if len(failures) == 0 {
		return errs.WithKind(errs.KindUnavailable, errors.New("no LDAP server could be tried"))
	}
	var tlsFail *transportError
	var parts []string
	for _, f := range failures {
		if f.tls && tlsFail == nil {
			tlsFail = f
			continue
		}
		parts = append(parts, f.Error())
	}
	if tlsFail != nil {
		msg := tlsFail.msg
		if len(parts) > 0 {
			msg += " (also: " + strings.Join(parts, "; ") + ")"
		}
		return errs.WithHint(errs.WithKind(errs.KindGeneric, errors.New(msg)), a.caHint())
	}
	var msg string
	if len(failures) == 1 {
		msg = "cannot reach the LDAP server " + failures[0].Error()
	} else {
		msg = "cannot reach any LDAP server: " + strings.Join(parts, "; ")
	}
	return errs.WithHint(errs.WithKind(errs.KindUnavailable, errors.New(msg)),
		"Check that the directory is up and that ldap.urls (KGATE_LDAP_URLS, --ldap-url) point at it, then try again.")
}

func (a *Authenticator) caHint() string {
	if a.cfg.CAFile != "" {
		return fmt.Sprintf("ldap.caFile is %s; it must hold the CA that signed the directory's certificate.", a.cfg.CAFile)
	}
	return "ldap.caFile is not set, so the system's CAs are used; set it to the CA that signed the directory's certificate."
}

// connectTLS dials s and secures the connection: TLS from the start for
// ldaps://, StartTLS for ldap:// unless the configuration allows plaintext.
func (a *Authenticator) connectTLS(ctx context.Context, s server) (conn, error) {
	dctx, cancel := context.WithTimeout(ctx, a.cfg.DialTimeout)
	defer cancel()
	raw, err := a.dial(dctx, "tcp", s.hostport)
	if err != nil {
		return nil, a.dialError(s, err, a.cfg.DialTimeout)
	}
	// Ctrl-C (or the caller's deadline) closes the socket, which ends any
	// operation waiting on it.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	fail := func(err error) (conn, error) {
		stop()
		raw.Close()
		return nil, err
	}

	tlsCfg := &tls.Config{ServerName: s.host, RootCAs: a.roots, MinVersion: tls.VersionTLS12}
	var nc net.Conn = raw
	isTLS := false
	switch {
	case s.scheme == "ldaps":
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail(a.tlsError(s, err, a.cfg.DialTimeout))
		}
		nc, isTLS = tc, true
	case a.cfg.StartTLS:
		_ = raw.SetDeadline(time.Now().Add(a.cfg.Timeout))
		tc, err := startTLS(raw, tlsCfg)
		if err != nil {
			return fail(a.startTLSError(s, err))
		}
		_ = raw.SetDeadline(time.Time{})
		nc, isTLS = tc, true
	default:
		if a.Warnf != nil {
			a.Warnf("sending the password to %s without TLS because ldap.insecure is true", s.url)
		}
	}
	lc := ldap.NewConn(nc, isTLS)
	lc.SetTimeout(a.cfg.Timeout)
	lc.Start()
	return &timedConn{c: lc, raw: raw, s: s, timeout: a.cfg.Timeout, stop: stop}, nil
}

// startTLS sends the StartTLS extended operation (RFC 4511 4.14) and does the
// handshake itself, rather than through go-ldap, so that a certificate error
// keeps its type and the handshake honours the connection's deadline.
func startTLS(raw net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
	p.AppendChild(req)
	if _, err := raw.Write(p.Bytes()); err != nil {
		return nil, &startTLSError{err: err}
	}
	resp, err := ber.ReadPacket(raw)
	if err != nil {
		return nil, &startTLSError{err: err}
	}
	if err := ldap.GetLDAPError(resp); err != nil {
		return nil, &startTLSError{err: err, refused: true}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// startTLSError is a failure of the StartTLS operation itself, before the handshake.
type startTLSError struct {
	err     error
	refused bool // the server answered with an error
}

func (e *startTLSError) Error() string { return e.err.Error() }
func (e *startTLSError) Unwrap() error { return e.err }

func (a *Authenticator) startTLSError(s server, err error) error {
	var se *startTLSError
	if !errors.As(err, &se) {
		return a.tlsError(s, err, a.cfg.Timeout)
	}
	if se.refused {
		var le *ldap.Error
		msg := se.err.Error()
		if errors.As(se.err, &le) {
			msg = resultMessage(le)
		}
		return errs.WithHint(errs.WithKind(errs.KindGeneric, fmt.Errorf("LDAP server %s refused StartTLS: %s", s.url, msg)),
			"Use an ldaps:// URL if the server offers one.")
	}
	if isTimeout(se.err) {
		return &transportError{server: s, err: err, timeout: true, msg: fmt.Sprintf("no answer to StartTLS within %s", a.cfg.Timeout)}
	}
	return &transportError{server: s, err: err, msg: "connection lost during StartTLS: " + rootCause(se.err)}
}

func (a *Authenticator) dialError(s server, err error, limit time.Duration) error {
	te := &transportError{server: s, err: err}
	switch {
	case isTimeout(err):
		te.msg, te.timeout = fmt.Sprintf("timed out connecting after %s", limit), true
	case errors.Is(err, syscall.ECONNREFUSED):
		te.msg = "connection refused"
	default:
		var de *net.DNSError
		if errors.As(err, &de) {
			te.msg = "cannot resolve " + de.Name
		} else {
			te.msg = rootCause(err)
		}
	}
	return te
}

func (a *Authenticator) tlsError(s server, err error, limit time.Duration) error {
	if isTimeout(err) {
		return &transportError{server: s, err: err, timeout: true, msg: fmt.Sprintf("no TLS handshake within %s", limit)}
	}
	te := &transportError{server: s, err: err, tls: true}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		te.msg = fmt.Sprintf("the certificate of LDAP server %s is not signed by a trusted CA", s.url)
	case errors.As(err, &he):
		te.msg = fmt.Sprintf("the certificate of LDAP server %s is not valid for %s (%v)", s.url, s.host, he)
	case errors.As(err, &ci):
		te.msg = fmt.Sprintf("the certificate of LDAP server %s is not valid: %v", s.url, ci)
	default:
		// Not TLS at all on the other end (an ldaps:// URL pointing at a
		// plain port, say) looks like a closed connection or a bad record.
		te.tls = false
		te.msg = "TLS handshake failed: " + rootCause(err)
		if s.scheme == "ldaps" {
			te.msg += " (does the server speak TLS on this port?)"
		}
	}
	return te
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// timedConn gives every operation a deadline on the socket, so a server that
// accepts but never answers is a timeout, not a hang.
type timedConn struct {
	c        *ldap.Conn
	raw      net.Conn
	s        server
	timeout  time.Duration
	deadline time.Time
	stop     func() bool
}

func (t *timedConn) arm() {
	t.deadline = time.Now().Add(t.timeout)
	_ = t.raw.SetDeadline(t.deadline)
}

func (t *timedConn) check(what string, err error) error {
	if err != nil && !time.Now().Before(t.deadline) {
		return &transportError{server: t.s, err: err, timeout: true, msg: fmt.Sprintf("no answer within %s while %s", t.timeout, what)}
	}
	return err
}

func (t *timedConn) Bind(dn, password string) error {
	t.arm()
	return t.check("binding", t.c.Bind(dn, password))
}

func (t *timedConn) Search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	t.arm()
	res, err := t.c.Search(req)
	return res, t.check("searching", err)
}

func (t *timedConn) Close() error {
	t.stop()
	_ = t.raw.SetDeadline(time.Now().Add(time.Second))
	return t.c.Close()
}
