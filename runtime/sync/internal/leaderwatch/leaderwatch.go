// Package leaderwatch is the [sync.LeaderWatcher] the backends share: they
// feed it the leader's ID as they learn it, and it hands each change to Next,
// dropping the ones a slow reader missed.
package leaderwatch

import (
	"context"
	"fmt"
	stdsync "sync"

	"github.com/protomicro/micro/runtime/sync"
)

// Watcher is a [sync.LeaderWatcher]. It is safe for concurrent use.
type Watcher struct {
	stop   context.CancelFunc
	ctx    context.Context
	mu     stdsync.Mutex
	leader string
	set    bool          // leader holds a value Next has not returned yet
	err    error         // why the watch ended early, returned once the queue is empty
	wake   chan struct{} // closed and replaced on every change
	last   string        // what Next returned last
	first  bool          // Next has returned at least once
}

var _ sync.LeaderWatcher = (*Watcher)(nil)

// New returns a watcher that stops when ctx is done. Its Done channel tells
// the backend's feeding goroutine, if any, when to quit.
func New(ctx context.Context) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
	return &Watcher{ctx: ctx, stop: cancel, wake: make(chan struct{})}
}

// Done is closed once the watcher is stopped.
func (w *Watcher) Done() <-chan struct{} { return w.ctx.Done() }

// Context returns a context that ends when the watcher stops, for the
// backend's own watch.
func (w *Watcher) Context() context.Context { return w.ctx }

// Set records that id leads ("" for nobody).
func (w *Watcher) Set(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.leader, w.set = id, true
	close(w.wake)
	w.wake = make(chan struct{})
}

// Fail ends the watch: Next returns err, wrapped with [sync.ErrWatcherStopped],
// once it has returned the last leader set.
func (w *Watcher) Fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.stop()
}

// Next implements [sync.LeaderWatcher].
func (w *Watcher) Next() (string, error) {
	for {
		w.mu.Lock()
		if w.ctx.Err() != nil && w.err == nil {
			w.mu.Unlock()
			return "", fmt.Errorf("watch leader: %w", sync.ErrWatcherStopped)
		}
		if w.set && (!w.first || w.leader != w.last) {
			w.set, w.first, w.last = false, true, w.leader
			w.mu.Unlock()
			return w.last, nil
		}
		w.set = false
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-w.ctx.Done():
			w.mu.Lock()
			err := w.err
			w.mu.Unlock()
			if err != nil {
				return "", fmt.Errorf("watch leader: %w: %w", sync.ErrWatcherStopped, err)
			}
			return "", fmt.Errorf("watch leader: %w", sync.ErrWatcherStopped)
		case <-wake:
		}
	}
}

// Stop implements [sync.LeaderWatcher].
func (w *Watcher) Stop() { w.stop() }
