//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

// Package flock takes advisory locks of whole files, which the OS releases
// when the process holding them dies: what the local sync and broker
// backends coordinate the processes of one host with.
package flock

import (
	"errors"
	"os"
)

// Supported says whether this system has flock.
const Supported = false

// Lock fails: this system has no flock.
func Lock(*os.File) error { return errors.ErrUnsupported }

// TryLock fails: this system has no flock.
func TryLock(*os.File, bool) (bool, error) { return false, errors.ErrUnsupported }

// Unlock fails: this system has no flock.
func Unlock(*os.File) error { return errors.ErrUnsupported }
