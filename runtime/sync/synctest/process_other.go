//go:build !unix

package synctest

import (
	"testing"

	"github.com/protomicro/micro/runtime/sync"
)

// Child does nothing: the process tests need Unix signals.
func Child(func(address string) (sync.Sync, error)) {}

// RunProcesses skips: the process tests need Unix signals.
func RunProcesses(t *testing.T, _ string, _ func(address string) (sync.Sync, error), _ ...Option) {
	t.Skip("the process tests need Unix signals")
}
