// Package synctest is the conformance suite for [sync.Sync] backends. Each
// backend's tests call [Run] with a constructor for a fresh sync:
//
//	func TestConformance(t *testing.T) {
//		synctest.Run(t, func(t *testing.T) sync.Sync { return memory.New() })
//	}
//
// Backends shared between processes also run [RunProcesses], which starts
// the test binary again as child processes; their TestMain must call [Child]
// first.
package synctest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/testdata/testutil"
)

// Option adapts the suite to a backend.
type Option interface {
	apply(*suite)
}

type suite struct {
	workers, rounds int // of the Counter test
	cycles          int // of the Cycles test
	ttl             time.Duration
	expires         bool
}

type optionFunc func(*suite)

func (f optionFunc) apply(s *suite) { f(s) }

// WithConcurrency sets how many goroutines (or, in [RunProcesses], processes)
// increment a counter under one lock, and how many times each. The default
// is 8 goroutines of 50 rounds, and 5 processes of 200.
func WithConcurrency(workers, rounds int) Option {
	return optionFunc(func(s *suite) { s.workers, s.rounds = workers, rounds })
}

// WithCycles sets how many times the Cycles test locks and unlocks one key.
// The default is 1,000.
func WithCycles(n int) Option {
	return optionFunc(func(s *suite) { s.cycles = n })
}

// WithTTL sets the TTL the locks and elections of [RunProcesses] ask for,
// and so how soon another process must take over from a killed one. The
// default is 2s.
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(s *suite) { s.ttl = ttl })
}

// WithExpiry says that the backend's locks and leaderships expire when their
// holder stops answering (etcd's leases), rather than only when it dies, and
// so adds to [RunProcesses] a test that pauses a leader with SIGSTOP.
func WithExpiry() Option {
	return optionFunc(func(s *suite) { s.expires = true })
}

func newSuite(opts []Option, workers, rounds int) suite {
	s := suite{workers: workers, rounds: rounds, cycles: 1000, ttl: 2 * time.Second}
	for _, opt := range opts {
		opt.apply(&s)
	}
	return s
}

// Run runs the suite. newSync returns a sync with no locks held and no
// elections, and arranges its own cleanup with t.Cleanup; two calls in one
// test must return syncs that share their locks, as two processes would.
func Run(t *testing.T, newSync func(t *testing.T) sync.Sync, opts ...Option) {
	t.Helper()
	cfg := newSuite(opts, 8, 50)
	for _, tt := range []struct {
		name string
		test func(*testing.T, func(*testing.T) sync.Sync)
	}{
		{"LockUnlock", one(testLockUnlock)},
		{"TryLock", one(testTryLock)},
		{"LockWaits", one(testLockWaits)},
		{"Shared", testShared},
		{"Counter", cfg.testCounter},
		{"Cycles", one(cfg.testCycles)},
		{"InvalidKey", one(testInvalidKey)},
		{"Elect", one(testElect)},
		{"ElectCancel", one(testElectCancel)},
		{"NoLeader", one(testNoLeader)},
		{"WatchLeader", one(testWatchLeader)},
		{"Close", one(testClose)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newSync)
		})
	}
}

// one adapts a test of a single sync.
func one(test func(*testing.T, sync.Sync)) func(*testing.T, func(*testing.T) sync.Sync) {
	return func(t *testing.T, newSync func(*testing.T) sync.Sync) { test(t, newSync(t)) }
}

func lock(t *testing.T, s sync.Sync, key string) sync.Lock {
	t.Helper()
	l, err := s.Lock(testutil.Context(t), key)
	if err != nil {
		t.Fatalf("Lock(%q) = %v", key, err)
	}
	return l
}

func unlock(t *testing.T, l sync.Lock) {
	t.Helper()
	if err := l.Unlock(testutil.Context(t)); err != nil {
		t.Fatalf("Unlock(%q) = %v", l.Key(), err)
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func testLockUnlock(t *testing.T, s sync.Sync) {
	l := lock(t, s, "lock/unlock")
	if l.Key() != "lock/unlock" {
		t.Errorf("Key() = %q, want %q", l.Key(), "lock/unlock")
	}
	if l.Token() == 0 {
		t.Error("Token() = 0, want a positive token")
	}
	if closed(l.Done()) {
		t.Fatal("Done() is closed while the lock is held")
	}
	unlock(t, l)
	if !closed(l.Done()) {
		t.Error("Done() is open after Unlock")
	}
	if err := l.Unlock(testutil.Context(t)); !errors.Is(err, sync.ErrNotHeld) {
		t.Errorf("second Unlock() = %v, want %v", err, sync.ErrNotHeld)
	}
	again := lock(t, s, "lock/unlock")
	defer unlock(t, again)
	if again.Token() <= l.Token() {
		t.Errorf("second Token() = %d, want more than the first, %d", again.Token(), l.Token())
	}
}

func testTryLock(t *testing.T, s sync.Sync) {
	ctx := testutil.Context(t)
	l, err := s.TryLock(ctx, "try")
	if err != nil {
		t.Fatalf("TryLock of a free key = %v", err)
	}
	if _, err := s.TryLock(ctx, "try"); !errors.Is(err, sync.ErrLocked) {
		t.Errorf("TryLock of a held key = %v, want %v", err, sync.ErrLocked)
	}
	other, err := s.TryLock(ctx, "try/other")
	if err != nil {
		t.Fatalf("TryLock of another key = %v", err)
	}
	unlock(t, other)
	unlock(t, l)
	l, err = s.TryLock(ctx, "try")
	if err != nil {
		t.Fatalf("TryLock after Unlock = %v", err)
	}
	unlock(t, l)
}

func testLockWaits(t *testing.T, s sync.Sync) {
	l := lock(t, s, "waits")
	ctx, cancel := context.WithTimeout(testutil.Context(t), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "waits"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held key until a deadline = %v, want %v", err, context.DeadlineExceeded)
	}
	got := make(chan sync.Lock, 1)
	go func() {
		l, err := s.Lock(testutil.Context(t), "waits")
		if err != nil {
			t.Errorf("Lock after a wait = %v", err)
		}
		got <- l
	}()
	unlock(t, l)
	next := <-got
	if next == nil {
		return
	}
	if next.Token() <= l.Token() {
		t.Errorf("Token() of the waiter = %d, want more than %d", next.Token(), l.Token())
	}
	unlock(t, next)
}

// testShared checks that two syncs of one backend, as two processes would
// have, exclude each other.
func testShared(t *testing.T, newSync func(*testing.T) sync.Sync) {
	a, b := newSync(t), newSync(t)
	l := lock(t, a, "shared")
	if _, err := b.TryLock(testutil.Context(t), "shared"); !errors.Is(err, sync.ErrLocked) {
		t.Fatalf("TryLock in another sync of a held key = %v, want %v", err, sync.ErrLocked)
	}
	unlock(t, l)
	l = lock(t, b, "shared")
	unlock(t, l)
}

// testCounter has workers of two syncs take turns under one lock, and
// checks that no two are inside at once. (Atomics keep the count, as the race
// detector cannot see exclusion between two syncs that a backend enforces
// outside the process, with flock or etcd.)
func (cfg suite) testCounter(t *testing.T, newSync func(*testing.T) sync.Sync) {
	syncs := []sync.Sync{newSync(t), newSync(t)}
	ctx := testutil.Context(t)
	var (
		inside, counter atomic.Int64
		mu              stdsync.Mutex
		tokens          []uint64
		wg              stdsync.WaitGroup
	)
	for i := range cfg.workers {
		wg.Go(func() {
			s := syncs[i%len(syncs)]
			for range cfg.rounds {
				l, err := s.Lock(ctx, "counter")
				if err != nil {
					t.Errorf("Lock = %v", err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of one lock at once", n)
				}
				counter.Add(1)
				mu.Lock()
				tokens = append(tokens, l.Token())
				mu.Unlock()
				inside.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					t.Errorf("Unlock = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if want := cfg.workers * cfg.rounds; counter.Load() != int64(want) {
		t.Errorf("counter = %d, want %d", counter.Load(), want)
	}
	checkIncreasing(t, tokens)
}

func checkIncreasing(t *testing.T, tokens []uint64) {
	t.Helper()
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("token %d of %d is %d, not more than the one before, %d", i, len(tokens), tokens[i], tokens[i-1])
		}
	}
}

func (cfg suite) testCycles(t *testing.T, s sync.Sync) {
	ctx := testutil.Context(t)
	var last uint64
	for i := range cfg.cycles {
		l, err := s.Lock(ctx, "cycles")
		if err != nil {
			t.Fatalf("cycle %d: Lock = %v", i, err)
		}
		if l.Token() <= last {
			t.Fatalf("cycle %d: Token() = %d, want more than %d", i, l.Token(), last)
		}
		last = l.Token()
		if err := l.Unlock(ctx); err != nil {
			t.Fatalf("cycle %d: Unlock = %v", i, err)
		}
	}
}

func testInvalidKey(t *testing.T, s sync.Sync) {
	ctx := testutil.Context(t)
	for _, key := range []string{"", strings.Repeat("k", sync.MaxKeyLen+1), "\xff"} {
		for _, tt := range []struct {
			name string
			call func() error
		}{
			{"Lock", func() error { _, err := s.Lock(ctx, key); return err }},
			{"TryLock", func() error { _, err := s.TryLock(ctx, key); return err }},
			{"Elect", func() error { _, err := s.Elect(ctx, key); return err }},
			{"Leader", func() error { _, err := s.Leader(ctx, key); return err }},
			{"WatchLeader", func() error { _, err := s.WatchLeader(ctx, key); return err }},
		} {
			err := tt.call()
			if !errors.Is(err, sync.ErrInvalidKey) {
				t.Errorf("%s(%q) = %v, want %v", tt.name, key, err, sync.ErrInvalidKey)
				continue
			}
			if !strings.Contains(err.Error(), strconv.Quote(key)) {
				t.Errorf("%s(%q) = %q, which does not name the key", tt.name, key, err)
			}
		}
	}
	long := strings.Repeat("k", sync.MaxKeyLen)
	l := lock(t, s, long)
	unlock(t, l)
}

func elect(t *testing.T, s sync.Sync, name, id string) sync.Leadership {
	t.Helper()
	l, err := s.Elect(testutil.Context(t), name, sync.WithID(id))
	if err != nil {
		t.Fatalf("Elect(%q) as %q = %v", name, id, err)
	}
	return l
}

func leader(t *testing.T, s sync.Sync, name string) string {
	t.Helper()
	id, err := s.Leader(testutil.Context(t), name)
	if err != nil && !errors.Is(err, sync.ErrNoLeader) {
		t.Fatalf("Leader(%q) = %v", name, err)
	}
	return id
}

func testElect(t *testing.T, s sync.Sync) {
	a := elect(t, s, "elect", "a")
	if a.Name() != "elect" || a.ID() != "a" || a.Token() == 0 {
		t.Errorf("leadership = %q, %q, token %d; want %q, %q, a positive token", a.Name(), a.ID(), a.Token(), "elect", "a")
	}
	if got := leader(t, s, "elect"); got != "a" {
		t.Errorf("Leader() = %q, want %q", got, "a")
	}
	ctx, cancel := context.WithTimeout(testutil.Context(t), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Elect(ctx, "elect", sync.WithID("late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Elect while another leads, until a deadline = %v, want %v", err, context.DeadlineExceeded)
	}
	got := make(chan sync.Leadership, 1)
	go func() {
		b, err := s.Elect(testutil.Context(t), "elect", sync.WithID("b"))
		if err != nil {
			t.Errorf("Elect as %q = %v", "b", err)
		}
		got <- b
	}()
	if err := a.Resign(testutil.Context(t)); err != nil {
		t.Fatalf("Resign() = %v", err)
	}
	if !closed(a.Done()) {
		t.Error("Done() is open after Resign")
	}
	if err := a.Resign(testutil.Context(t)); !errors.Is(err, sync.ErrNotHeld) {
		t.Errorf("second Resign() = %v, want %v", err, sync.ErrNotHeld)
	}
	b := <-got
	if b == nil {
		return
	}
	if got := leader(t, s, "elect"); got != "b" {
		t.Errorf("Leader() after a resigned = %q, want %q", got, "b")
	}
	if b.Token() <= a.Token() {
		t.Errorf("Token() of the second leader = %d, want more than %d", b.Token(), a.Token())
	}
	if err := b.Resign(testutil.Context(t)); err != nil {
		t.Fatalf("Resign() = %v", err)
	}
}

// testElectCancel checks that a candidate that gave up does not lead later.
func testElectCancel(t *testing.T, s sync.Sync) {
	a := elect(t, s, "cancel", "a")
	ctx, cancel := context.WithCancel(testutil.Context(t))
	failed := make(chan error, 1)
	go func() {
		_, err := s.Elect(ctx, "cancel", sync.WithID("quitter"))
		failed <- err
	}()
	cancel()
	if err := <-failed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Elect with a cancelled context = %v, want %v", err, context.Canceled)
	}
	if err := a.Resign(testutil.Context(t)); err != nil {
		t.Fatalf("Resign() = %v", err)
	}
	if id, err := s.Leader(testutil.Context(t), "cancel"); !errors.Is(err, sync.ErrNoLeader) {
		t.Errorf("Leader() after the only candidate resigned = %q, %v; want %v", id, err, sync.ErrNoLeader)
	}
}

func testNoLeader(t *testing.T, s sync.Sync) {
	if id, err := s.Leader(testutil.Context(t), "nobody"); !errors.Is(err, sync.ErrNoLeader) {
		t.Errorf("Leader() of an election no one entered = %q, %v; want %v", id, err, sync.ErrNoLeader)
	}
}

func testWatchLeader(t *testing.T, s sync.Sync) {
	w, err := s.WatchLeader(testutil.Context(t), "watch")
	if err != nil {
		t.Fatalf("WatchLeader() = %v", err)
	}
	defer w.Stop()
	next := func(want string) {
		t.Helper()
		got, err := w.Next()
		if err != nil || got != want {
			t.Fatalf("Next() = %q, %v; want %q", got, err, want)
		}
	}
	next("")
	a := elect(t, s, "watch", "a")
	next("a")
	if err := a.Resign(testutil.Context(t)); err != nil {
		t.Fatalf("Resign() = %v", err)
	}
	next("")
	w.Stop()
	if _, err := w.Next(); !errors.Is(err, sync.ErrWatcherStopped) {
		t.Errorf("Next() after Stop = %v, want %v", err, sync.ErrWatcherStopped)
	}
}

func testClose(t *testing.T, s sync.Sync) {
	l := lock(t, s, "close")
	a := elect(t, s, "close", "a")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	testutil.WaitFor(t, "Done() of a lock held at Close", func() bool { return closed(l.Done()) })
	testutil.WaitFor(t, "Done() of a leadership held at Close", func() bool { return closed(a.Done()) })
	if _, err := s.Lock(testutil.Context(t), "close/after"); !errors.Is(err, sync.ErrClosed) {
		t.Errorf("Lock() after Close = %v, want %v", err, sync.ErrClosed)
	}
	if err := l.Unlock(testutil.Context(t)); !errors.Is(err, sync.ErrNotHeld) {
		t.Errorf("Unlock() after Close = %v, want %v", err, sync.ErrNotHeld)
	}
}
