// Package etcd is a [sync.Sync] in etcd, for processes spread over many
// hosts, built on etcd's recipes: sessions and elections from
// go.etcd.io/etcd/client/v3/concurrency, and locks by the same recipe as its
// Mutex, with waiters that take over at once (see the mutex type).
//
// A process holds all its locks and leaderships through one etcd session per
// TTL, a lease it keeps alive: 10s unless [WithTTL] or [sync.WithTTL] say
// otherwise. When the process dies, or cannot reach etcd for a TTL, the lease
// expires, etcd deletes its keys, and the next waiter takes over. The lost
// locks' Done channels close once the process learns of it: at once if etcd
// answers, within the TTL and a second if it does not (or, for a session
// opened in the half second before etcd went away, whose TTL etcd's client
// has not learnt yet, within the dial timeout and a second).
//
// A lock is a queue of keys under "<prefix>lock/<key>/", one per waiting
// process, served in the order they asked; the fencing token is the create
// revision of the holder's key. Goroutines of one process wait for a key in
// memory, so that etcd sees at most one of them per key (a session's key
// stands for one holder).
//
// BenchmarkLockUnlock compares Lock and Unlock round trips through this
// package with etcd's concurrency.Mutex on the same server, and reports the
// ratio of their rates ("x-mutex", 1 means as fast):
//
//	go test -run '^$' -bench LockUnlock ./runtime/sync/etcd
package etcd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	stdsync "sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/internal/closed"
	"github.com/protomicro/micro/runtime/sync/internal/gate"
	"github.com/protomicro/micro/runtime/sync/internal/held"
	"github.com/protomicro/micro/runtime/sync/internal/leaderwatch"
)

// Sync is a sync in etcd. It is safe for concurrent use; Close it when done.
type Sync struct {
	client    *clientv3.Client
	ownClient bool
	prefix    string
	ttl       time.Duration
	gates     gate.Gates

	state    closed.Flag
	mu       stdsync.Mutex
	sessions map[int]*concurrency.Session // by TTL in seconds
}

var _ sync.Sync = (*Sync)(nil)

// New connects to etcd and opens the session of the default TTL, so that an
// etcd that cannot be reached fails here, naming its address.
func New(opts ...Option) (*Sync, error) {
	o := options{
		endpoints:   []string{"127.0.0.1:2379"},
		prefix:      "/micro/sync/",
		dialTimeout: 5 * time.Second,
		ttl:         10 * time.Second,
	}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if !strings.HasSuffix(o.prefix, "/") {
		o.prefix += "/"
	}
	address := strings.Join(o.endpoints, ",")
	s := &Sync{client: o.client, prefix: o.prefix, ttl: o.ttl, sessions: make(map[int]*concurrency.Session)}
	if s.client == nil {
		client, err := clientv3.New(clientv3.Config{
			Endpoints:   o.endpoints,
			DialTimeout: o.dialTimeout,
			Logger:      zap.NewNop(), // errors reach callers; the client's own log is noise
		})
		if err != nil {
			return nil, fmt.Errorf("etcd sync at %s: %w", address, err)
		}
		s.client, s.ownClient = client, true
	} else {
		address = strings.Join(s.client.Endpoints(), ",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.dialTimeout)
	defer cancel()
	if _, err := s.session(ctx, 0); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("etcd sync at %s: %w", address, err)
	}
	return s, nil
}

// String returns "etcd".
func (s *Sync) String() string { return "etcd" }

// Close revokes the sessions, so that every lock and leadership they hold is
// released at once and lost here, and closes the connection to etcd if New
// made it.
func (s *Sync) Close() error {
	s.mu.Lock()
	s.state.Close()
	sessions := s.sessions
	s.sessions = nil
	s.mu.Unlock()
	var errs []error
	for _, sess := range sessions {
		if err := sess.Close(); err != nil {
			errs = append(errs, fmt.Errorf("revoke etcd session: %w", err))
		}
	}
	if s.ownClient {
		errs = append(errs, s.client.Close())
	}
	return errors.Join(errs...)
}

// session returns the live session of ttl (0 for the default), opening one
// if need be.
func (s *Sync) session(ctx context.Context, ttl time.Duration) (*concurrency.Session, error) {
	if ttl <= 0 {
		ttl = s.ttl
	}
	seconds := int(min(math.MaxInt32, (ttl+time.Second-1)/time.Second))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Closed() {
		return nil, sync.ErrClosed
	}
	if sess := s.sessions[seconds]; sess != nil {
		select {
		case <-sess.Done():
			// expired: open another
		default:
			return sess, nil
		}
	}
	// Granting here bounds the wait by ctx; NewSession would wait on the
	// client's context, which lasts until Close.
	lease, err := s.client.Grant(ctx, int64(seconds))
	if err != nil {
		return nil, err
	}
	sess, err := concurrency.NewSession(s.client, concurrency.WithLease(lease.ID), concurrency.WithTTL(seconds))
	if err != nil {
		return nil, err
	}
	s.sessions[seconds] = sess
	return sess, nil
}

// forget drops sess, whose lease etcd no longer has, so that the next call
// opens another.
func (s *Sync) forget(sess *concurrency.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ttl, live := range s.sessions {
		if live == sess {
			delete(s.sessions, ttl)
			sess.Orphan()
		}
	}
}

// Lock implements [sync.Sync]: see [mutex].
func (s *Sync) Lock(ctx context.Context, key string, opts ...sync.LockOption) (sync.Lock, error) {
	h, err := s.lock(ctx, key, sync.NewLockOptions(opts...), false)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

// TryLock implements [sync.Sync]: see [mutex].
func (s *Sync) TryLock(ctx context.Context, key string, opts ...sync.LockOption) (sync.Lock, error) {
	h, err := s.lock(ctx, key, sync.NewLockOptions(opts...), true)
	if err != nil {
		return nil, fmt.Errorf("try lock %q: %w", key, err)
	}
	return h.Lock(), nil
}

func (s *Sync) lock(ctx context.Context, key string, o sync.LockOptions, try bool) (*held.Hold, error) {
	if err := sync.ValidateKey(key); err != nil {
		return nil, err
	}
	leave, err := s.gates.Enter(ctx, "lock/"+key, try)
	if err != nil {
		return nil, err
	}
	sess, m, err := retry(ctx, s, o.TTL, func(sess *concurrency.Session) (*mutex, error) {
		return acquire(ctx, sess, s.prefix+"lock/"+escape(key)+"/", try)
	})
	if err != nil {
		leave()
		return nil, err
	}
	return s.hold(sess, key, "", m.revision, m.unlock, leave), nil
}

// retry runs acquire in the session of ttl, and once more in a new session
// if etcd says the first one's lease has expired.
func retry[T any](ctx context.Context, s *Sync, ttl time.Duration, acquire func(*concurrency.Session) (T, error)) (*concurrency.Session, T, error) {
	for attempt := 0; ; attempt++ {
		sess, err := s.session(ctx, ttl)
		if err != nil {
			var zero T
			return nil, zero, err
		}
		got, err := acquire(sess)
		if attempt == 0 && (errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(err, concurrency.ErrSessionExpired)) {
			s.forget(sess)
			continue
		}
		return sess, got, err
	}
}

// hold is a lock or leadership held through sess, lost when sess ends.
func (s *Sync) hold(sess *concurrency.Session, key, id string, revision int64, release func(context.Context) error, leave func()) *held.Hold {
	var h *held.Hold
	made := make(chan struct{})
	stop := context.AfterFunc(sess.Ctx(), func() {
		<-made
		h.Lose()
	})
	h = held.New(key, id, uint64(revision), release, func() {
		stop()
		leave()
	})
	close(made)
	return h
}

// Elect implements [sync.Sync] with a [concurrency.Election].
func (s *Sync) Elect(ctx context.Context, name string, opts ...sync.ElectOption) (sync.Leadership, error) {
	o := sync.NewElectOptions(opts...)
	if err := sync.ValidateKey(name); err != nil {
		return nil, fmt.Errorf("elect %q: %w", name, err)
	}
	leave, err := s.gates.Enter(ctx, "elect/"+name, false)
	if err != nil {
		return nil, fmt.Errorf("elect %q: %w", name, err)
	}
	sess, e, err := retry(ctx, s, o.TTL, func(sess *concurrency.Session) (*concurrency.Election, error) {
		e := concurrency.NewElection(sess, s.election(name))
		return e, e.Campaign(ctx, o.ID)
	})
	if err != nil {
		leave()
		return nil, fmt.Errorf("elect %q: %w", name, err)
	}
	return s.hold(sess, name, o.ID, e.Rev(), e.Resign, leave).Leadership(), nil
}

// Leader implements [sync.Sync]: the leader is the candidate whose key is
// oldest.
func (s *Sync) Leader(ctx context.Context, name string) (string, error) {
	if err := s.state.Check(name); err != nil {
		return "", fmt.Errorf("leader of %q: %w", name, err)
	}
	res, err := s.client.Get(ctx, s.election(name)+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("leader of %q in etcd: %w", name, err)
	}
	if len(res.Kvs) == 0 {
		return "", fmt.Errorf("leader of %q: %w", name, sync.ErrNoLeader)
	}
	return string(res.Kvs[0].Value), nil
}

// WatchLeader implements [sync.Sync] with an etcd watch of the election's
// candidates. If etcd ends the watch, Next reports why.
func (s *Sync) WatchLeader(ctx context.Context, name string) (sync.LeaderWatcher, error) {
	if err := s.state.Check(name); err != nil {
		return nil, fmt.Errorf("watch leader of %q: %w", name, err)
	}
	prefix := s.election(name) + "/"
	first := func(ctx context.Context) (string, int64, error) {
		res, err := s.client.Get(ctx, prefix, clientv3.WithFirstCreate()...)
		if err != nil {
			return "", 0, fmt.Errorf("leader of %q in etcd: %w", name, err)
		}
		if len(res.Kvs) == 0 {
			return "", res.Header.Revision, nil
		}
		return string(res.Kvs[0].Value), res.Header.Revision, nil
	}
	id, revision, err := first(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %w", err)
	}
	w := leaderwatch.New(ctx)
	w.Set(id)
	changes := s.client.Watch(clientv3.WithRequireLeader(w.Context()), prefix, clientv3.WithPrefix(), clientv3.WithRev(revision+1))
	go func() {
		for res := range changes {
			if w.Context().Err() != nil {
				return // stopped
			}
			if err := res.Err(); err != nil {
				w.Fail(err)
				return
			}
			id, _, err := first(w.Context())
			if err != nil {
				w.Fail(err)
				return
			}
			w.Set(id)
		}
		if w.Context().Err() == nil {
			w.Fail(errors.New("etcd closed the watch"))
		}
	}()
	return w, nil
}

// election is the key prefix of name's candidates, less the final "/" that
// concurrency adds.
func (s *Sync) election(name string) string { return s.prefix + "elect/" + escape(name) }

// escape keeps '/' out of a key, so that one key's prefix never matches
// another's candidates.
func escape(key string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(key)
}
