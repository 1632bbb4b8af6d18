//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package local

import (
	"errors"
	"os"
)

// flockSupported says whether this system has flock.
const flockSupported = false

func lockFile(*os.File) error            { return errors.ErrUnsupported }
func tryLockFile(*os.File) (bool, error) { return false, errors.ErrUnsupported }
