//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package local

import (
	"errors"
	"os"
)

// flockSupported says whether this system has flock.
const flockSupported = false

func tryFlock(*os.File, bool) (bool, error) { return false, errors.ErrUnsupported }
