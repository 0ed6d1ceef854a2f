//go:build unix

package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openNoFollow opens path, refusing a symbolic link in its last element.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, symlinkError(path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	return f, nil
}
