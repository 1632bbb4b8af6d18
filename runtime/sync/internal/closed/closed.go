// Package closed is the closed state the backends share, checked with the
// key of each call.
package closed

import (
	stdsync "sync"

	"github.com/protomicro/micro/runtime/sync"
)

// Flag says whether a sync is closed. The zero value is open; it is safe for
// concurrent use.
type Flag struct {
	mu     stdsync.Mutex
	closed bool
}

// Close marks the sync closed.
func (f *Flag) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

// Closed reports whether Close was called.
func (f *Flag) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Check fails for a key [sync.ValidateKey] rejects, and then with
// [sync.ErrClosed] once the sync is closed.
func (f *Flag) Check(key string) error {
	if err := sync.ValidateKey(key); err != nil {
		return err
	}
	if f.Closed() {
		return sync.ErrClosed
	}
	return nil
}
