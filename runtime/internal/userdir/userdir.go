// Package userdir is the private directory of one user on one host that the
// local backends (registry/local, sync/local) keep their files in:
// $TMPDIR/micro-<uid>.
package userdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Path returns $TMPDIR/micro-<uid>/sub, creating it if need be, after making
// sure that $TMPDIR/micro-<uid> is a directory (not a link) that belongs to
// this user alone, so that no other user of a shared temporary directory can
// plant or read files there.
func Path(sub string) (string, error) {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("micro-%d", os.Getuid()))
	if err := privateDir(base); err != nil {
		return "", err
	}
	dir := filepath.Join(base, sub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is accessible to other users (mode %v); remove it or make it private with chmod 700", dir, info.Mode().Perm())
	}
	return checkOwner(dir, info)
}
