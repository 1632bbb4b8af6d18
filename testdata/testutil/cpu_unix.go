//go:build unix

package testutil

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the CPU time the process has used so far, user and
// system (getrusage): what a benchmark's operations cost, on a loaded
// machine where their wall time is mostly waiting.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
