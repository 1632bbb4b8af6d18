// Package memory is a [sync.Sync] inside one process, for tests and for
// programs that run as a single process. Locks and leaderships are lost only
// by [Sync.Close]; TTLs are ignored.
package memory

import (
	"context"
	"fmt"
	stdsync "sync"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/internal/held"
	"github.com/protomicro/micro/runtime/sync/internal/leaderwatch"
)

// Sync is a sync in memory. It is safe for concurrent use.
type Sync struct {
	mu        stdsync.Mutex
	locks     map[string]*slot
	elections map[string]*slot
	closed    bool
}

// slot is one key's state: who holds it, the last token handed out, and who
// waits.
type slot struct {
	token    uint64
	holder   *held.Hold
	holderID string
	released chan struct{} // closed and replaced whenever holder becomes nil
	watchers map[*leaderwatch.Watcher]struct{}
}

var _ sync.Sync = (*Sync)(nil)

// New returns an empty sync.
func New() *Sync {
	return &Sync{locks: make(map[string]*slot), elections: make(map[string]*slot)}
}

// String returns "memory".
func (s *Sync) String() string { return "memory" }

// Lock implements [sync.Sync].
func (s *Sync) Lock(ctx context.Context, key string, _ ...sync.LockOption) (sync.Lock, error) {
	h, err := s.acquire(ctx, s.locks, key, "", false)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

// TryLock implements [sync.Sync].
func (s *Sync) TryLock(ctx context.Context, key string, _ ...sync.LockOption) (sync.Lock, error) {
	h, err := s.acquire(ctx, s.locks, key, "", true)
	if err != nil {
		return nil, fmt.Errorf("try lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

// Elect implements [sync.Sync].
func (s *Sync) Elect(ctx context.Context, name string, opts ...sync.ElectOption) (sync.Leadership, error) {
	o := sync.NewElectOptions(opts...)
	h, err := s.acquire(ctx, s.elections, name, o.ID, false)
	if err != nil {
		return nil, fmt.Errorf("elect %q: %w", name, err)
	}
	return h.Leadership(), nil
}

// Leader implements [sync.Sync].
func (s *Sync) Leader(_ context.Context, name string) (string, error) {
	if err := sync.ValidateKey(name); err != nil {
		return "", fmt.Errorf("leader of %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("leader of %q: %w", name, sync.ErrClosed)
	}
	if e := s.elections[name]; e != nil && e.holder != nil {
		return e.holderID, nil
	}
	return "", fmt.Errorf("leader of %q: %w", name, sync.ErrNoLeader)
}

// WatchLeader implements [sync.Sync].
func (s *Sync) WatchLeader(ctx context.Context, name string) (sync.LeaderWatcher, error) {
	if err := sync.ValidateKey(name); err != nil {
		return nil, fmt.Errorf("watch leader of %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("watch leader of %q: %w", name, sync.ErrClosed)
	}
	w := leaderwatch.New(ctx)
	e := s.slot(s.elections, name)
	e.watchers[w] = struct{}{}
	w.Set(e.holderID)
	go func() {
		<-w.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(e.watchers, w)
	}()
	return w, nil
}

// Close implements [sync.Sync]: every lock and leadership is lost.
func (s *Sync) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, slots := range []map[string]*slot{s.locks, s.elections} {
		for _, e := range slots {
			if h := e.holder; h != nil {
				s.free(e)
				h.Lose()
			}
			for w := range e.watchers {
				w.Fail(sync.ErrClosed)
			}
		}
	}
	return nil
}

// slot returns the slot of key, making it if need be; s.mu is held.
func (s *Sync) slot(slots map[string]*slot, key string) *slot {
	e := slots[key]
	if e == nil {
		e = &slot{released: make(chan struct{}), watchers: make(map[*leaderwatch.Watcher]struct{})}
		slots[key] = e
	}
	return e
}

// acquire waits until key's slot is free and takes it for id.
func (s *Sync) acquire(ctx context.Context, slots map[string]*slot, key, id string, try bool) (*held.Hold, error) {
	if err := sync.ValidateKey(key); err != nil {
		return nil, err
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, sync.ErrClosed
		}
		e := s.slot(slots, key)
		if e.holder == nil {
			e.token++
			var h *held.Hold
			h = held.New(key, id, e.token, func(context.Context) error {
				s.mu.Lock()
				defer s.mu.Unlock()
				if e.holder == h {
					s.free(e)
				}
				return nil
			}, nil)
			e.holder, e.holderID = h, id
			for w := range e.watchers {
				w.Set(id)
			}
			s.mu.Unlock()
			return h, nil
		}
		released := e.released
		s.mu.Unlock()
		if try {
			return nil, sync.ErrLocked
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-released:
		}
	}
}

// free empties e; s.mu is held.
func (s *Sync) free(e *slot) {
	e.holder, e.holderID = nil, ""
	close(e.released)
	e.released = make(chan struct{})
	for w := range e.watchers {
		w.Set("")
	}
}
