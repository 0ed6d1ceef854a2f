// Package session keeps the logged-in identity between commands: one file in
// the user's config dir, like ssh keeps a private key - the directory 0700,
// the file 0600, written atomically (temp file + rename), and a file that
// group or others could read is refused.
//
// There is no lock: a session is never read, changed and written back; each
// login replaces the whole file with a rename, so a reader sees either the
// old file or the new one, and the last login wins.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kgate/kgate/internal/atomicfile"
	"github.com/kgate/kgate/internal/errs"
)

// FileName is the session file's name in the config dir.
const FileName = "session.json"

// DefaultLifetime is how long a session lasts unless session.lifetime says otherwise.
const DefaultLifetime = 8 * time.Hour

// LoginHint is the next step whenever there is no usable session.
const LoginHint = "Run `kgate login` to log in."

// Session is who is logged in, as the directory (or the gateway) said.
type Session struct {
	User   string   `json:"user"`
	DN     string   `json:"dn,omitempty"`
	Groups []string `json:"groups"`
	// Issuer is the LDAP URL that authenticated the user, or the gateway URL.
	Issuer  string    `json:"issuer"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// Token is the gateway's signed token (gateway mode only).
	Token string `json:"token,omitempty"`
	// RefreshToken is the gateway session's refresh credential; with it,
	// Token is a short-lived access token valid from TokenIssued until
	// TokenExpires, refreshed before then, and Expires is the session's end.
	RefreshToken string    `json:"refreshToken,omitempty"`
	TokenIssued  time.Time `json:"tokenIssued,omitzero"`
	TokenExpires time.Time `json:"tokenExpires,omitzero"`
	// Refreshed is when a direct-mode session's groups were last read again
	// from the directory (zero: at login, Issued).
	Refreshed time.Time `json:"refreshed,omitzero"`
	// GatewayCA is the PEM CA the gateway's certificate was verified with
	// at login (gateway mode, when not the system's roots).
	GatewayCA string `json:"gatewayCA,omitempty"`
	// Clusters are the clusters a gateway fronting several serves at
	// /clusters/NAME, and DefaultCluster the one its unprefixed paths
	// serve (gateway mode, as its login answered).
	Clusters       []string `json:"clusters,omitempty"`
	DefaultCluster string   `json:"defaultCluster,omitempty"`
}

// Remaining is how long the session is still valid at now (negative once expired).
func (s *Session) Remaining(now time.Time) time.Duration { return s.Expires.Sub(now) }

// Store reads and writes one session file in Dir: the current session
// (session.json, what commands use when no cluster or gateway is named), or
// the session with one issuer (GatewayStore, DirectStore). Saving the current
// session also saves it as its issuer's, so that logging in to one gateway
// never logs you out of another, nor of the directory.
type Store struct {
	Dir string
	// Name is the session file's name; empty is FileName, the current one.
	Name string
	// gateway is the issuer of a GatewayStore, direct set for DirectStore.
	gateway string
	direct  bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewStore returns the store for the config dir dir.
func NewStore(dir string) *Store { return &Store{Dir: dir} }

// Path is the session file.
func (st *Store) Path() string {
	if st.Name != "" {
		return filepath.Join(st.Dir, st.Name)
	}
	return filepath.Join(st.Dir, FileName)
}

func (st *Store) now() time.Time {
	if st.Now != nil {
		return st.Now()
	}
	return time.Now()
}

// Load returns the current session. Every failure is an errs.KindAuth error
// naming the file: no session, an expired one, a corrupt one, or one that
// others could read.
func (st *Store) Load() (*Session, error) {
	s, err := st.Read()
	if err != nil {
		return nil, err
	}
	if err := st.Check(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Check is Load's test of a session already read: an expired one is an
// errs.KindAuth error naming the file.
func (st *Store) Check(s *Session) error {
	if now := st.now(); !now.Before(s.Expires) {
		return errs.WithHint(errs.AuthErrorf("the session of %s expired at %s (%s)",
			s.User, s.Expires.Local().Format("2006-01-02 15:04:05 MST"), st.Path()), LoginHint)
	}
	return nil
}

// Read returns the session whether or not it has expired.
func (st *Store) Read() (*Session, error) {
	s, missing, err := st.readFile()
	if !missing {
		return s, err
	}
	if st.Name != "" {
		return st.readCurrent()
	}
	// After logging out of a gateway, the direct login still holds.
	if s, _, derr := DirectStore(st.Dir).readFile(); derr == nil {
		return s, nil
	}
	return nil, err
}

// readFile reads the store's own file; missing reports that there is none.
func (st *Store) readFile() (s *Session, missing bool, err error) {
	s, err = st.decodeFile()
	if err != nil {
		_, serr := os.Lstat(st.Path())
		missing = errors.Is(serr, fs.ErrNotExist)
	}
	return s, missing, err
}

func (st *Store) decodeFile() (*Session, error) {
	path := st.Path()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.WithHint(errs.AuthErrorf("not logged in (no session at %s)", path), LoginHint)
	}
	if err != nil {
		return nil, errs.WithHint(errs.AuthErrorf("reading the session %s: %w", path, unwrapPath(err)), LoginHint)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errs.WithHint(errs.AuthErrorf("reading the session %s: %w", path, unwrapPath(err)), LoginHint)
	}
	if !fi.Mode().IsRegular() {
		return nil, errs.WithHint(errs.AuthErrorf("the session %s is not a regular file", path),
			fmt.Sprintf("Remove it (`rm %s`) and run `kgate login`.", path))
	}
	// Windows reports every file as 0666; its ACLs are another story.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, errs.WithHint(errs.AuthErrorf("the session %s is accessible by others (mode %04o); refusing to use it", path, perm),
			fmt.Sprintf("Run `chmod 600 %s` if you trust its content, or `kgate login` to replace it.", path))
	}
	if err := checkOwner(fi); err != nil {
		return nil, errs.WithHint(errs.AuthErrorf("the session %s %v; refusing to use it", path, err),
			fmt.Sprintf("Remove it (`rm %s`) and run `kgate login`.", path))
	}
	var s Session
	dec := json.NewDecoder(f)
	if err := dec.Decode(&s); err != nil {
		return nil, errs.WithHint(errs.AuthErrorf("the session %s is corrupt: %v", path, err), LoginHint)
	}
	if s.User == "" || s.Expires.IsZero() {
		return nil, errs.WithHint(errs.AuthErrorf("the session %s is corrupt: no user or expiry time", path), LoginHint)
	}
	return &s, nil
}

// Save writes s atomically: a temporary file (0600) in the same directory,
// synced, then renamed over the session file.
func (st *Store) Save(s *Session) error {
	path := st.Path()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the session for %s: %w", path, err)
	}
	if err := atomicfile.Write(path, append(b, '\n')); err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	if st.Name == "" {
		// Also as its issuer's session, for clusters reached through it.
		if err := atomicfile.Write(filepath.Join(st.Dir, keyName(s)), append(b, '\n')); err != nil {
			return fmt.Errorf("saving the session: %w", err)
		}
	}
	return nil
}

// Delete removes the session file, and the same session's other copy (the
// current session and its issuer's are one login). It reports whether there
// was one.
func (st *Store) Delete() (bool, error) {
	if err := st.deleteCopy(); err != nil {
		return false, err
	}
	err := os.Remove(st.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("removing the session %s: %w", st.Path(), unwrapPath(err))
	}
	return true, nil
}

// unwrapPath drops the *fs.PathError layer, whose path the message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
