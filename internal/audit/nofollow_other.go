//go:build !unix

package audit

import (
	"fmt"
	"os"
)

// openNoFollow opens path, refusing a symbolic link (checked just before,
// where the system has no O_NOFOLLOW).
func openNoFollow(path string, flag int) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, symlinkError(path)
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	return f, nil
}
