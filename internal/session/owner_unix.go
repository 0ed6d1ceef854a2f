//go:build unix

package session

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a session file that belongs to another user.
func checkOwner(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("belongs to uid %d, not to you (uid %d)", st.Uid, uid)
	}
	return nil
}
