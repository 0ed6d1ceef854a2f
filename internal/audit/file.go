package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// rotatingFile is the local audit log: appended to, rotated by size into
// NAME-TIMESTAMP.EXT backups, the oldest removed past maxFiles. Every open
// refuses a symbolic link at the path (O_NOFOLLOW), so a link planted where
// the log goes cannot make kgate append to another file; the session file
// is held to the same rule.
type rotatingFile struct {
	path     string
	maxSize  int64
	maxFiles int
	f        *os.File
	size     int64
}

func (r *rotatingFile) open() error {
	f, err := openNoFollow(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("the audit log %s: %w", r.path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("the audit log %s is not a regular file; refusing to write to it", r.path)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *rotatingFile) Write(b []byte) (int, error) {
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(b)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	return n, err
}

// rotate moves the log aside and opens a new one.
func (r *rotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	ext := filepath.Ext(r.path)
	base := strings.TrimSuffix(r.path, ext)
	backup := base + "-" + time.Now().UTC().Format("2006-01-02T15-04-05.000000000") + ext
	// Another kgate process may have rotated it already: then there is
	// nothing to move.
	if err := os.Rename(r.path, backup); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotating the audit log %s: %w", r.path, err)
	}
	old, _ := filepath.Glob(globEscape(base) + "-*" + globEscape(ext))
	slices.Sort(old) // the timestamps sort in time order
	for len(old) > r.maxFiles {
		_ = os.Remove(old[0])
		old = old[1:]
	}
	return r.open()
}

func (r *rotatingFile) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// globEscape quotes the pattern characters of a path for filepath.Glob.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
