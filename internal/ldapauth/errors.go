package ldapauth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/errs"
)

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
