//go:build unix

package userdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner fails unless this user owns dir.
func checkOwner(dir string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user (uid %d); remove it, or choose another directory", dir, st.Uid, os.Getuid())
	}
	return nil
}
