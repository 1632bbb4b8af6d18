//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

// Package flock takes advisory locks of whole files, which the OS releases
// when the process holding them dies: what the local sync and broker
// backends coordinate the processes of one host with.
package flock

import (
	"errors"
	"os"
	"syscall"
)

// Supported says whether this system has flock.
const Supported = true

// Lock takes an exclusive lock of f, waiting for it.
func Lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// TryLock takes an exclusive (or, with shared, a shared) lock of f without
// waiting, and reports false if someone else, in this process or another,
// holds a conflicting one.
func TryLock(f *os.File, shared bool) (bool, error) {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case !errors.Is(err, syscall.EINTR):
			return false, err
		}
	}
}

// Unlock releases the lock f holds, which closing f also does.
func Unlock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
