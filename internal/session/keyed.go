package session

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kgate/kgate/internal/errs"
)

// DirectFileName is the file of the direct-mode (LDAP) session, shared by
// every cluster reached through a kubeconfig context: one login for all.
const DirectFileName = "session-ldap.json"

// GatewayStore returns the store of the session with the gateway at url
// (normalized, as the session's Issuer records it), in the config dir dir.
// Each gateway's session is kept apart from the others'.
func GatewayStore(dir, url string) *Store {
	return &Store{Dir: dir, Name: gatewayFileName(url), gateway: url}
}

// DirectStore returns the store of the direct-mode (LDAP) session in the
// config dir dir, whichever gateway sessions there are besides.
func DirectStore(dir string) *Store {
	return &Store{Dir: dir, Name: DirectFileName, direct: true}
}

// gatewayFileName is "session-gw-HOST_PORT-HASH.json": readable, and safe as
// a file name whatever the URL holds.
func gatewayFileName(url string) string {
	host := url
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	var b strings.Builder
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	sum := sha256.Sum256([]byte(url))
	return "session-gw-" + b.String() + "-" + hex.EncodeToString(sum[:6]) + ".json"
}

// keyName is the file of s as its issuer's session.
func keyName(s *Session) string {
	if s.Token != "" {
		return gatewayFileName(s.Issuer)
	}
	return DirectFileName
}

// matches reports whether s is the session this keyed store holds.
func (st *Store) matches(s *Session) bool {
	if st.direct {
		return s.Token == ""
	}
	return s.Token != "" && s.Issuer == st.gateway
}

func (st *Store) notLoggedIn() error {
	if st.direct {
		return errs.WithHint(errs.AuthErrorf("not logged in (no direct LDAP session at %s)", st.Path()), LoginHint)
	}
	return errs.WithHint(errs.AuthErrorf("not logged in to the gateway %s (no session at %s)", st.gateway, st.Path()),
		"Run `kgate login --server "+st.gateway+"` to log in through the gateway.")
}

// readCurrent reads the current session in place of a keyed store's missing
// file: a session saved before sessions were kept per issuer.
func (st *Store) readCurrent() (*Session, error) {
	cur := &Store{Dir: st.Dir, Now: st.Now}
	s, err := cur.Read()
	if err != nil {
		var ke *errs.Error
		if errors.As(err, &ke) && ke.Kind == errs.KindAuth && strings.HasPrefix(err.Error(), "not logged in") {
			return nil, st.notLoggedIn()
		}
		return nil, err
	}
	if !st.matches(s) {
		return nil, st.notLoggedIn()
	}
	return s, nil
}

// deleteCopy removes the other file of the same login: for the current
// session its issuer's copy, for a keyed store the current session when it
// is the same login.
func (st *Store) deleteCopy() error {
	var other string
	if st.Name == "" {
		s, err := st.Read()
		if err != nil {
			return nil
		}
		other = filepath.Join(st.Dir, keyName(s))
	} else {
		cur := &Store{Dir: st.Dir, Now: st.Now}
		s, err := cur.Read()
		if err != nil || !st.matches(s) {
			return nil
		}
		other = cur.Path()
	}
	if err := os.Remove(other); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the session %s: %w", other, unwrapPath(err))
	}
	return nil
}
