// Package local is a [sync.Sync] that needs nothing installed: the processes
// of one user on one host lock through files in a private directory, one
// file per key, with flock(2). The operating system releases a process's
// locks when it exits or is killed, so a lock never outlives its holder, and
// TTLs are ignored; a lock is lost only by [Sync.Close].
//
// Each file holds its key's last fencing token and, for an election, the
// leader's ID, written under the lock, so that tokens count acquisitions.
// Files are never removed (a process could otherwise lock a file another has
// just unlinked), so the directory keeps a small file per key ever used.
//
// Goroutines of one process wait for a key in turn. A process waiting for a
// key another process holds polls for it instead (after 1ms, doubling up to
// 50ms by default), so processes are not served in order. Leader watchers
// poll at the same interval.
//
// The directory is $TMPDIR/micro-<uid>/sync unless [WithDir] says otherwise;
// it and its files are readable by their owner only. flock exists on Linux,
// macOS and the BSDs; elsewhere [New] fails.
package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/protomicro/micro/runtime/internal/flock"
	"github.com/protomicro/micro/runtime/internal/userdir"
	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/internal/closed"
	"github.com/protomicro/micro/runtime/sync/internal/gate"
	"github.com/protomicro/micro/runtime/sync/internal/held"
	"github.com/protomicro/micro/runtime/sync/internal/leaderwatch"
)

// Sync is a sync kept in a directory. It is safe for concurrent use by any
// number of goroutines and processes; Close it when done.
type Sync struct {
	dir   string
	poll  time.Duration
	gates gate.Gates

	state closed.Flag
	mu    stdsync.Mutex
	held  map[*held.Hold]struct{}
}

var _ sync.Sync = (*Sync)(nil)

// Kinds of key, each a subdirectory.
const (
	locks     = "lock"
	elections = "elect"
)

// New opens the sync directory, creating it if need be.
func New(opts ...Option) (*Sync, error) {
	if !flock.Supported {
		return nil, fmt.Errorf("local sync: no flock on %s", runtime.GOOS)
	}
	o := options{poll: 50 * time.Millisecond}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.dir == "" {
		dir, err := userdir.Path("sync")
		if err != nil {
			return nil, fmt.Errorf("local sync: %w", err)
		}
		o.dir = dir
	}
	for _, kind := range []string{locks, elections} {
		if err := os.MkdirAll(filepath.Join(o.dir, kind), 0o700); err != nil {
			return nil, fmt.Errorf("local sync: %w", err)
		}
	}
	return &Sync{dir: o.dir, poll: o.poll, held: make(map[*held.Hold]struct{})}, nil
}

// String returns "local".
func (s *Sync) String() string { return "local" }

// Dir returns the directory the sync lives in.
func (s *Sync) Dir() string { return s.dir }

// Lock implements [sync.Sync].
func (s *Sync) Lock(ctx context.Context, key string, _ ...sync.LockOption) (sync.Lock, error) {
	h, err := s.acquire(ctx, locks, key, "", false)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

// TryLock implements [sync.Sync].
func (s *Sync) TryLock(ctx context.Context, key string, _ ...sync.LockOption) (sync.Lock, error) {
	h, err := s.acquire(ctx, locks, key, "", true)
	if err != nil {
		return nil, fmt.Errorf("try lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

// Elect implements [sync.Sync]: the leader is whoever holds the election's
// file.
func (s *Sync) Elect(ctx context.Context, name string, opts ...sync.ElectOption) (sync.Leadership, error) {
	o := sync.NewElectOptions(opts...)
	h, err := s.acquire(ctx, elections, name, o.ID, false)
	if err != nil {
		return nil, fmt.Errorf("elect %q: %w", name, err)
	}
	return h.Leadership(), nil
}

// Leader implements [sync.Sync].
func (s *Sync) Leader(ctx context.Context, name string) (string, error) {
	id, err := s.leader(ctx, name)
	switch {
	case err != nil:
		return "", fmt.Errorf("leader of %q: %w", name, err)
	case id == "":
		return "", fmt.Errorf("leader of %q: %w", name, sync.ErrNoLeader)
	}
	return id, nil
}

// leader returns the ID of name's leader, or "" for none.
func (s *Sync) leader(ctx context.Context, name string) (string, error) {
	if err := s.state.Check(name); err != nil {
		return "", err
	}
	path := s.path(elections, name)
	for range 100 {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		// A shared lock is granted only while no leader holds the file.
		free, err := flock.TryLock(f, true)
		var id string
		if err == nil && !free {
			_, id, err = readState(f)
		}
		_ = f.Close() // read-only, and closing releases the shared lock
		if err != nil || free || id != "" {
			return id, err
		}
		// A leader holds the file but has not written its ID yet.
		if err := wait(ctx, time.Millisecond); err != nil {
			return "", err
		}
	}
	return "", nil
}

// WatchLeader implements [sync.Sync] by asking [Sync.Leader] every poll
// interval.
func (s *Sync) WatchLeader(ctx context.Context, name string) (sync.LeaderWatcher, error) {
	id, err := s.leader(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("watch leader of %q: %w", name, err)
	}
	w := leaderwatch.New(ctx)
	w.Set(id)
	go func() {
		ticker := time.NewTicker(s.poll)
		defer ticker.Stop()
		for {
			select {
			case <-w.Done():
				return
			case <-ticker.C:
			}
			id, err := s.leader(ctx, name)
			if err != nil {
				w.Fail(err)
				return
			}
			w.Set(id)
		}
	}()
	return w, nil
}

// Close implements [sync.Sync]: every lock and leadership it holds is
// released.
func (s *Sync) Close() error {
	s.mu.Lock()
	s.state.Close()
	holds := make([]*held.Hold, 0, len(s.held))
	for h := range s.held {
		holds = append(holds, h)
	}
	s.mu.Unlock()
	var errs []error
	for _, h := range holds {
		if err := h.End(context.Background()); err != nil && !errors.Is(err, sync.ErrNotHeld) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// acquire takes the file of key for id and counts one more acquisition in
// it.
func (s *Sync) acquire(ctx context.Context, kind, key, id string, try bool) (*held.Hold, error) {
	if err := s.state.Check(key); err != nil {
		return nil, err
	}
	leave, err := s.gates.Enter(ctx, kind+"/"+key, try)
	if err != nil {
		return nil, err
	}
	f, err := s.flock(ctx, s.path(kind, key), try)
	if err != nil {
		leave()
		return nil, err
	}
	token, _, err := readState(f)
	if err == nil {
		token++
		err = writeState(f, token, id)
	}
	if err != nil {
		_ = f.Close() // releases the lock; the error above is what matters
		leave()
		return nil, err
	}
	var h *held.Hold
	h = held.New(key, id, token, func(context.Context) error {
		var err error
		if id != "" {
			err = writeState(f, token, "") // no one leads once the leader resigns
		}
		return errors.Join(err, f.Close()) // closing releases the lock
	}, func() {
		leave()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.held, h)
	})
	s.mu.Lock()
	shut := s.state.Closed()
	if !shut {
		s.held[h] = struct{}{}
	}
	s.mu.Unlock()
	if shut {
		_ = h.End(ctx) // Close ran meanwhile
		return nil, sync.ErrClosed
	}
	return h, nil
}

// flock opens path and locks it, polling while another process holds it.
func (s *Sync) flock(ctx context.Context, path string, try bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, s.poll) {
		ok, err := flock.TryLock(f, false)
		switch {
		case err == nil && ok:
			return f, nil
		case err == nil && try:
			err = sync.ErrLocked
		case err == nil:
			err = wait(ctx, delay)
		}
		if err != nil {
			_ = f.Close() // not locked: nothing to lose
			return nil, err
		}
	}
}

// wait waits for d, or fails when ctx is done first.
func wait(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// path is the file of key. A key is escaped into the file name, or hashed
// when escaping makes it too long for one; the prefixes keep the two apart.
func (s *Sync) path(kind, key string) string {
	name := "k-" + url.PathEscape(key)
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(key))
		name = "h-" + hex.EncodeToString(sum[:])
	}
	return filepath.Join(s.dir, kind, name)
}

// readState reads a key's file: its last token, then the ID of its holder on
// the second line. A file written by a process killed halfway may have
// leftovers after the second line, which are ignored.
func readState(f *os.File) (uint64, string, error) {
	state, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil {
		return 0, "", err
	}
	lines := bytes.SplitN(state, []byte("\n"), 3)
	if len(lines[0]) == 0 {
		return 0, "", nil // a new file
	}
	token, err := strconv.ParseUint(string(lines[0]), 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("%s is not a lock file: %w", f.Name(), err)
	}
	var id string
	if len(lines) > 1 {
		if id, err = url.QueryUnescape(string(lines[1])); err != nil {
			return 0, "", fmt.Errorf("%s is not a lock file: %w", f.Name(), err)
		}
	}
	return token, id, nil
}

// writeState writes a key's file in place. The token has a fixed width, so
// that a later, shorter write never leaves part of an old token behind, and
// the ID is escaped, so that it stays on its line.
func writeState(f *os.File, token uint64, id string) error {
	state := fmt.Appendf(nil, "%020d\n%s\n", token, url.QueryEscape(id))
	if _, err := f.WriteAt(state, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(state)))
}
