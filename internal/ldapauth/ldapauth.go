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
	"time"
)

// Default timeouts, used when the configuration leaves them at zero.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
)
