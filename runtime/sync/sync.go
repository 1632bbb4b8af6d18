package sync

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxKeyLen is the longest lock key or election name, in bytes.
const MaxKeyLen = 200

// ErrLocked is returned by [Sync.TryLock] when another holder has the lock.
var ErrLocked = errors.New("locked by another holder")

// ErrNoLeader is returned by [Sync.Leader] when no candidate leads.
var ErrNoLeader = errors.New("no leader")

// ErrInvalidKey is wrapped by the error for a lock key or election name that
// is empty, longer than [MaxKeyLen] or not UTF-8.
var ErrInvalidKey = errors.New("invalid key")

// ErrNotHeld is returned by [Lock.Unlock] and [Leadership.Resign] when the
// lock or leadership was already released or lost.
var ErrNotHeld = errors.New("not held")

// ErrClosed is returned by the methods of a [Sync] after [Sync.Close].
var ErrClosed = errors.New("sync closed")

// ErrWatcherStopped is returned by [LeaderWatcher.Next] once the watcher is
// stopped.
var ErrWatcherStopped = errors.New("watcher stopped")

// Sync hands out locks and leaderships. Implementations are safe for
// concurrent use; two Lock calls for one key exclude each other whether they
// come from one goroutine, two goroutines or two processes.
type Sync interface {
	// Lock blocks until it holds the lock named key, or ctx is done.
	Lock(ctx context.Context, key string, opts ...LockOption) (Lock, error)
	// TryLock takes the lock named key if it is free, and otherwise returns
	// an error wrapping [ErrLocked] at once.
	TryLock(ctx context.Context, key string, opts ...LockOption) (Lock, error)
	// Elect campaigns for leadership of name and blocks until this candidate
	// leads, or ctx is done. Candidates lead in the order they campaigned.
	Elect(ctx context.Context, name string, opts ...ElectOption) (Leadership, error)
	// Leader returns the ID of the candidate leading name, or an error
	// wrapping [ErrNoLeader].
	Leader(ctx context.Context, name string) (string, error)
	// WatchLeader reports who leads name, from now on until ctx is done or
	// the watcher is stopped.
	WatchLeader(ctx context.Context, name string) (LeaderWatcher, error)
	// Close releases every lock and leadership still held, as if lost, and
	// the backend's resources. Later calls fail with [ErrClosed].
	Close() error
	// String names the backend, "local".
	String() string
}

// Lock is a held lock. Its methods are safe for concurrent use.
type Lock interface {
	// Key is the name the lock was taken under.
	Key() string
	// Token is the fencing token: larger than the token of every earlier
	// holder of the key.
	Token() uint64
	// Done is closed when the lock is released, or lost: its holder's
	// session expired or the backend became unreachable.
	Done() <-chan struct{}
	// Unlock releases the lock. Unlocking a lock that was already released
	// or lost returns an error wrapping [ErrNotHeld].
	Unlock(ctx context.Context) error
}

// Leadership is held by the candidate that won an election. Its methods are
// safe for concurrent use.
type Leadership interface {
	// Name is the election's name.
	Name() string
	// ID is this candidate's ID, what [Sync.Leader] reports while it leads.
	ID() string
	// Token is a fencing token: larger than that of every earlier leader of
	// the election.
	Token() uint64
	// Done is closed when the leadership ends: resigned, or lost because
	// the leader's session expired or the backend became unreachable.
	Done() <-chan struct{}
	// Resign gives up leadership, so that the next candidate leads.
	// Resigning a leadership already ended returns an error wrapping
	// [ErrNotHeld].
	Resign(ctx context.Context) error
}

// LeaderWatcher reports who leads one election.
type LeaderWatcher interface {
	// Next returns the ID of the leader, or "" while there is none. The
	// first call returns the state when the watch started; each later call
	// blocks until the leader changes. A watcher that falls behind sees only
	// the latest leader. After [LeaderWatcher.Stop], or once the context
	// given to WatchLeader is done, Next returns an error wrapping
	// [ErrWatcherStopped].
	Next() (string, error)
	// Stop ends the watch. It is safe to call more than once and from any
	// goroutine.
	Stop()
}

// ValidateKey returns an error wrapping [ErrInvalidKey] and naming key when
// key cannot name a lock or an election: it is empty, longer than
// [MaxKeyLen] bytes, or not UTF-8. Used by backends.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("key %q: %w: empty", key, ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key %q: %w: %d bytes, more than %d", key, ErrInvalidKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("key %q: %w: not UTF-8", key, ErrInvalidKey)
	}
	return nil
}
