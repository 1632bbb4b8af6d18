// Package held is the [sync.Lock] and [sync.Leadership] the backends share:
// the bookkeeping of a held key (its token, its Done channel, releasing it
// once), around the backend's own way to release it.
package held

import (
	"context"
	"fmt"
	stdsync "sync"

	"github.com/protomicro/micro/runtime/sync"
)

// Hold is a held key. It is safe for concurrent use.
type Hold struct {
	key, id string
	token   uint64
	release func(context.Context) error
	cleanup func()

	mu    stdsync.Mutex
	ended bool
	done  chan struct{}
}

// New returns the hold of key by id (a candidate's ID, "" for a lock) with
// token. release gives the key up in the backend, when the holder ends the
// hold; cleanup, which may be nil, runs once however the hold ends, released
// or lost, before Done is closed.
func New(key, id string, token uint64, release func(context.Context) error, cleanup func()) *Hold {
	return &Hold{key: key, id: id, token: token, release: release, cleanup: cleanup, done: make(chan struct{})}
}

// Token returns the fencing token.
func (h *Hold) Token() uint64 { return h.token }

// Done is closed once the hold has ended.
func (h *Hold) Done() <-chan struct{} { return h.done }

// End releases the key, or returns [sync.ErrNotHeld] if the hold ended
// already.
func (h *Hold) End(ctx context.Context) error {
	if !h.claim() {
		return sync.ErrNotHeld
	}
	err := h.release(ctx)
	h.finish()
	return err
}

// Lose ends the hold without releasing the key, which the backend has taken
// back already (an expired session). It does nothing if the hold ended.
func (h *Hold) Lose() {
	if h.claim() {
		h.finish()
	}
}

// claim reports whether this call is the one that ends the hold.
func (h *Hold) claim() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return false
	}
	h.ended = true
	return true
}

func (h *Hold) finish() {
	if h.cleanup != nil {
		h.cleanup()
	}
	close(h.done)
}

// Lock returns h as a [sync.Lock].
func (h *Hold) Lock() sync.Lock { return lock{h} }

// Leadership returns h as a [sync.Leadership].
func (h *Hold) Leadership() sync.Leadership { return leadership{h} }

type lock struct{ *Hold }

func (l lock) Key() string { return l.key }

func (l lock) Unlock(ctx context.Context) error {
	if err := l.End(ctx); err != nil {
		return fmt.Errorf("unlock %q: %w", l.key, err)
	}
	return nil
}

type leadership struct{ *Hold }

func (l leadership) Name() string { return l.key }
func (l leadership) ID() string   { return l.id }

func (l leadership) Resign(ctx context.Context) error {
	if err := l.End(ctx); err != nil {
		return fmt.Errorf("resign %q: %w", l.key, err)
	}
	return nil
}
