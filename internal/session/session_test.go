package session

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *Store {
	t.Helper()
	st := NewStore(filepath.Join(t.TempDir(), "kgate"))
	st.Now = func() time.Time { return t0 }
	return st
}

func sample() *Session {
	return &Session{User: "alice", DN: "uid=alice,ou=people,dc=test", Groups: []string{"payments-leads"},
		Issuer: "ldaps://ldap.test", Issued: t0, Expires: t0.Add(DefaultLifetime)}
}

// authErr fails unless err is a KindAuth error naming the session file and
// whose message and hint contain the given parts.
func authErr(t *testing.T, st *Store, err error, parts ...string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindAuth {
		t.Fatalf("err = %v, want a KindAuth error", err)
	}
	text := e.Error() + "\n" + e.Hint
	for _, p := range append(parts, st.Path()) {
		if !strings.Contains(text, p) {
			t.Errorf("%q lacks %q", text, p)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	st := newStore(t)
	if err := st.Save(sample()); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Errorf("loaded %+v, want %+v", got, sample())
	}
	for path, want := range map[string]os.FileMode{st.Dir: 0o700, st.Path(): 0o600, DirectStore(st.Dir).Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	// Nothing left behind by the atomic write: the session and its copy as
	// the direct login's.
	entries, _ := os.ReadDir(st.Dir)
	if len(entries) != 2 {
		t.Errorf("config dir holds %d files, want only %s and %s", len(entries), FileName, DirectFileName)
	}
}

func TestSaveReplacesLooseFile(t *testing.T) {
	st := newStore(t)
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.Path(), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(st.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o after save, want 0600", fi.Mode().Perm())
	}
}

func TestMissing(t *testing.T) {
	st := newStore(t)
	_, err := st.Load()
	authErr(t, st, err, "not logged in", "kgate login")
}

func TestExpired(t *testing.T) {
	st := newStore(t)
	if err := st.Save(sample()); err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return t0.Add(DefaultLifetime) }
	_, err := st.Load()
	authErr(t, st, err, "expired", "kgate login")
	// The time says its zone, as login and whoami do.
	if want := sample().Expires.Local().Format("2006-01-02 15:04:05 MST"); !strings.Contains(err.Error(), "expired at "+want+" (") {
		t.Errorf("%q does not name the expiry %q", err, want)
	}
	if _, err := st.Read(); err != nil {
		t.Errorf("Read of an expired session: %v", err)
	}
}

func TestLoosePermissions(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o666} {
		st := newStore(t)
		if err := st.Save(sample()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(st.Path(), mode); err != nil {
			t.Fatal(err)
		}
		_, err := st.Load()
		authErr(t, st, err, "accessible by others", "chmod 600 "+st.Path())
	}
}

func TestCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"not json":    "\x00\x01garbage",
		"truncated":   `{"user": "alice", "expires": "2026-`,
		"no user":     `{"expires": "2030-01-01T00:00:00Z"}`,
		"no expiry":   `{"user": "alice"}`,
		"wrong types": `{"user": 7, "expires": true}`,
	} {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			if err := os.MkdirAll(st.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(st.Path(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := st.Load()
			authErr(t, st, err, "corrupt", "kgate login")
		})
	}
}

func TestDelete(t *testing.T) {
	st := newStore(t)
	if removed, err := st.Delete(); removed || err != nil {
		t.Errorf("Delete with no session = %v, %v; want false, nil", removed, err)
	}
	if err := st.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if removed, err := st.Delete(); !removed || err != nil {
		t.Errorf("Delete = %v, %v; want true, nil", removed, err)
	}
	if _, err := os.Stat(st.Path()); !os.IsNotExist(err) {
		t.Errorf("session still there: %v", err)
	}
}

func TestSaveErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := NewStore(filepath.Join(blocker, "kgate")) // a directory under a file
	err := st.Save(sample())
	if err == nil || !strings.Contains(err.Error(), st.Dir) {
		t.Errorf("err = %v, want one naming %s", err, st.Dir)
	}
}
