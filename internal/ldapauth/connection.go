package ldapauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

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
