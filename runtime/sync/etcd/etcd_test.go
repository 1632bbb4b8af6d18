package etcd_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/protomicro/micro/runtime/registry/etcd/etcdtest"
	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/etcd"
	"github.com/protomicro/micro/runtime/sync/synctest"
	"github.com/protomicro/micro/testdata/testutil"
)

func TestMain(m *testing.M) {
	synctest.Child(open)
	goleak.VerifyTestMain(m)
}

func open(endpoint string) (sync.Sync, error) {
	return etcd.New(etcd.WithEndpoints(endpoint))
}

func newSync(t testing.TB, opts ...etcd.Option) *etcd.Sync {
	t.Helper()
	s, err := etcd.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newClient(t testing.TB, endpoint string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	var (
		mu       stdsync.Mutex
		prefixes = make(map[*testing.T]string)
		n        atomic.Int64
	)
	synctest.Run(t, func(t *testing.T) sync.Sync {
		// One etcd; the syncs of one test share a prefix of its own.
		mu.Lock()
		prefix, ok := prefixes[t]
		if !ok {
			prefix = fmt.Sprintf("/test/%d/", n.Add(1))
			prefixes[t] = prefix
		}
		mu.Unlock()
		return newSync(t, etcd.WithEndpoints(endpoint), etcd.WithPrefix(prefix))
	})
}

func TestProcesses(t *testing.T) {
	synctest.RunProcesses(t, etcdtest.Start(t), open, synctest.WithExpiry())
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	address := testutil.UnusedAddress(t)
	_, err := etcd.New(etcd.WithEndpoints(address), etcd.WithDialTimeout(500*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), address) {
		t.Errorf("New(%q) with no etcd there = %v, want an error naming the address", address, err)
	}
}

// TestStopped checks that every lock and leadership is lost, within the TTL,
// when etcd stops.
func TestStopped(t *testing.T) {
	t.Parallel()
	endpoint, stop := etcdtest.StartStoppable(t)
	const ttl = 2 * time.Second
	// A new session's lease is watched for the dial timeout + 1s until etcd
	// first answers its keepalive; keep that within the TTL.
	s := newSync(t, etcd.WithEndpoints(endpoint), etcd.WithTTL(ttl), etcd.WithDialTimeout(time.Second))
	ctx := testutil.Context(t)
	var done []<-chan struct{}
	for _, key := range []string{"a", "b", "c"} {
		l, err := s.Lock(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, l.Done())
	}
	other, err := s.Lock(ctx, "other ttl", sync.WithTTL(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	leading, err := s.Elect(ctx, "leader")
	if err != nil {
		t.Fatal(err)
	}
	done = append(done, other.Done(), leading.Done())
	stop()
	stopped := time.Now()
	for i, c := range done {
		select {
		case <-c:
		case <-time.After(3*time.Second + 5*time.Second):
			t.Fatalf("Done() %d still open %v after etcd stopped", i, time.Since(stopped))
		}
	}
	// The client looks for unanswered leases once a second; the machine may
	// be slow by another.
	if took := time.Since(stopped); took > 3*time.Second+2*time.Second {
		t.Errorf("Done() closed %v after etcd stopped, want within the longest TTL, 3s (+2s)", took)
	}
}

// TestLostLeader checks that a leader whose lease expires (revoked here, as
// etcd does to a process that stops answering) learns it has lost, and that
// another candidate takes over.
func TestLostLeader(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	a, b := newSync(t, etcd.WithEndpoints(endpoint)), newSync(t, etcd.WithEndpoints(endpoint))
	ctx := testutil.Context(t)
	old, err := a.Elect(ctx, "lost", sync.WithID("a"))
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan sync.Leadership, 1)
	go func() {
		l, err := b.Elect(ctx, "lost", sync.WithID("b"))
		if err != nil {
			t.Errorf("Elect as b = %v", err)
		}
		next <- l
	}()
	client := newClient(t, endpoint)
	leases, err := client.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Get(ctx, "/micro/sync/elect/lost/", clientv3.WithFirstCreate()...)
	if err != nil || len(res.Kvs) != 1 {
		t.Fatalf("leader key: %v, %v", res, err)
	}
	if _, err := client.Revoke(ctx, clientv3.LeaseID(res.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke the leader's lease (of %d): %v", len(leases.Leases), err)
	}
	select {
	case <-old.Done():
	case <-ctx.Done():
		t.Fatal("Done() of a leader whose lease was revoked stayed open")
	}
	if l := <-next; l != nil {
		if id, err := b.Leader(ctx, "lost"); id != "b" {
			t.Errorf("Leader() = %q, %v; want %q", id, err, "b")
		}
		if l.Token() <= old.Token() {
			t.Errorf("Token() of the new leader = %d, want more than %d", l.Token(), old.Token())
		}
	}
	// The old leader's process can campaign again with a new session.
	ctx2, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := a.Elect(ctx2, "lost", sync.WithID("a")); err == nil {
		t.Error("Elect of the old leader succeeded while b leads")
	}
}

// TestNoLeaks checks that many lock and unlock cycles through one sync use
// one etcd lease and leave no goroutines behind, and that Close revokes it.
func TestNoLeaks(t *testing.T) {
	endpoint := etcdtest.Start(t)
	client := newClient(t, endpoint)
	ctx := testutil.Context(t)
	leases := func() int {
		t.Helper()
		res, err := client.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Leases)
	}
	before := leases()
	s, err := etcd.New(etcd.WithEndpoints(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	warm, err := s.Lock(ctx, "leaks")
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	for i := range 1000 {
		l, err := s.Lock(ctx, "leaks")
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := l.Unlock(ctx); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	if got := leases(); got != before+1 {
		t.Errorf("%d etcd leases after 1,000 cycles, want %d: the one session's", got, before+1)
	}
	testutil.WaitFor(t, "goroutines of the cycles to end", func() bool { return runtime.NumGoroutine() <= goroutines })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := leases(); got != before {
		t.Errorf("%d etcd leases after Close, want %d", got, before)
	}
}

// BenchmarkLockUnlock compares Lock and Unlock round trips through this
// package with concurrency.Mutex, alternating them on one etcd so that both
// see the same server; x-mutex is the ratio of their rates.
func BenchmarkLockUnlock(b *testing.B) {
	endpoint := etcdtest.Start(b)
	s := newSync(b, etcd.WithEndpoints(endpoint))
	session, err := concurrency.NewSession(newClient(b, endpoint))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = session.Close() }()
	mutex := concurrency.NewMutex(session, "/bench/mutex")
	ctx := b.Context()
	var ours, theirs time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		l, err := s.Lock(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := mutex.Lock(ctx); err != nil {
			b.Fatal(err)
		}
		if err := mutex.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
		ours, theirs = ours+mid.Sub(start), theirs+time.Since(mid)
	}
	b.ReportMetric(float64(b.N)/ours.Seconds(), "sync-locks/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "mutex-locks/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-mutex")
}
