// Package errs defines the kinds of error kgate's commands return. It is a leaf
// package so that every layer can classify its errors; internal/cli alone
// turns them into text and exit codes.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the exit-code contract in the README. The
// mapping from Kind to exit code lives in internal/cli, and only there.
type Kind int

// The kinds of error a command can return.
const (
	KindGeneric     Kind = iota // exit 1
	KindUsage                   // exit 2: bad flags or arguments
	KindAuth                    // exit 3: not logged in, session expired, wrong credentials
	KindForbidden               // exit 4: denied by policy or by the API server
	KindNotFound                // exit 5
	KindUnavailable             // exit 6: LDAP, API server or policy source unreachable
	KindInterrupted             // exit 130
)

// Error is an error with a kind and, optionally, the next step for the user.
type Error struct {
	Kind Kind
	Err  error
	// Hint is the next step, printed on its own line ("run `kgate login`").
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func newf(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Err: fmt.Errorf(format, a...)}
}

// UsageErrorf returns a usage error (exit 2).
func UsageErrorf(format string, a ...any) *Error { return newf(KindUsage, format, a...) }

// AuthErrorf returns an authentication error (exit 3).
func AuthErrorf(format string, a ...any) *Error { return newf(KindAuth, format, a...) }

// ForbiddenErrorf returns a forbidden error (exit 4).
func ForbiddenErrorf(format string, a ...any) *Error { return newf(KindForbidden, format, a...) }

// NotFoundErrorf returns a not-found error (exit 5).
func NotFoundErrorf(format string, a ...any) *Error { return newf(KindNotFound, format, a...) }

// UnavailableErrorf returns an unavailable error (exit 6).
func UnavailableErrorf(format string, a ...any) *Error { return newf(KindUnavailable, format, a...) }

// WithKind wraps err with a kind, keeping its message.
func WithKind(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// ExitCodeError carries an exit code to pass through unchanged, such as the
// remote command's own exit code for exec. An empty message prints nothing.
type ExitCodeError struct {
	Code int
	Msg  string
}

func (e *ExitCodeError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

// ErrSilent is returned when the command has already told the user everything.
var ErrSilent = errors.New("silent")

// PartialError reports that some objects of a multi-object command failed
// after the rest were printed. Errs are printed one per line; the exit code is
// the one of the most specific error.
type PartialError struct{ Errs []error }

func (e *PartialError) Error() string {
	msg := ""
	for i, err := range e.Errs {
		if i > 0 {
			msg += "\n"
		}
		msg += err.Error()
	}
	return msg
}

// Join returns nil, the only error, or a PartialError.
func Join(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &PartialError{Errs: errs}
}

// WithHint attaches a next step to err, keeping its kind and its whole
// message: an *Error wrapped in context ("resolving deploy/web: pod "web"
// not found") keeps that context, and the kind of the innermost *Error.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Kind: KindGeneric, Err: err, Hint: hint}
	}
	if e == err {
		c := *e
		c.Hint = hint
		return &c
	}
	return &Error{Kind: e.Kind, Err: err, Hint: hint}
}

// GatewayDecisionCause is the StatusCause type the kgate gateway puts on the
// 401 and 403 answers it decides itself (policy, lock, token). A client that
// retries refusals after a broken stream, as a restarting API server gives
// them, takes one with this cause as final.
const GatewayDecisionCause = "kgate.io/GatewayDecision"
