// Package registrytest is the conformance suite for [registry.Registry]
// backends. Each backend's tests call [Run] with a constructor for a fresh,
// empty registry:
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) registry.Registry { return memory.New() })
//	}
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// Option adapts the suite to a backend.
type Option interface {
	apply(*suite)
}

type suite struct {
	services, nodes int // of the Many test
	workers, rounds int // of the Concurrent test
}

type optionFunc func(*suite)

func (f optionFunc) apply(s *suite) { f(s) }

// WithScale sets how many services of how many nodes the Many test
// registers. The default is 100 services of 5 nodes; backends built for a LAN
// rather than a data center may ask for less.
func WithScale(services, nodes int) Option {
	return optionFunc(func(s *suite) { s.services, s.nodes = services, nodes })
}

// WithConcurrency sets how many goroutines register and deregister at once in
// the Concurrent test, and how many nodes each goes through. The default is
// 8 goroutines of 25 nodes.
func WithConcurrency(workers, nodes int) Option {
	return optionFunc(func(s *suite) { s.workers, s.rounds = workers, nodes })
}

// Run runs the suite. newRegistry returns an empty registry and arranges its
// own cleanup with t.Cleanup.
func Run(t *testing.T, newRegistry func(t *testing.T) registry.Registry, opts ...Option) {
	t.Helper()
	cfg := suite{services: 100, nodes: 5, workers: 8, rounds: 25}
	for _, opt := range opts {
		opt.apply(&cfg)
	}
	for _, tt := range []struct {
		name string
		test func(*testing.T, registry.Registry)
	}{
		{"RegisterGet", testRegisterGet},
		{"Versions", testVersions},
		{"Deregister", testDeregister},
		{"ListServices", testListServices},
		{"Invalid", testInvalid},
		{"Watch", testWatch},
		{"WatchService", testWatchService},
		{"WatchStop", testWatchStop},
		{"WatchConverges", testWatchConverges},
		{"TTL", testTTL},
		{"Concurrent", cfg.testConcurrent},
		{"Many", cfg.testMany},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newRegistry(t))
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func service(name, version string, nodes ...string) *registry.Service {
	s := &registry.Service{
		Name:     name,
		Version:  version,
		Metadata: map[string]string{"owner": "team"},
		Endpoints: []*registry.Endpoint{{
			Procedure: "/test.v1.Test/Get", StreamType: rpc.ServerStream, Idempotency: rpc.NoSideEffects,
			Request: "test.v1.GetRequest", Response: "test.v1.GetResponse",
			HTTP: []rpc.HTTPRule{{Method: "GET", Path: "/v1/{id}"}},
		}},
	}
	for _, id := range nodes {
		s.Nodes = append(s.Nodes, &registry.Node{ID: id, Address: address(id), Metadata: map[string]string{"zone": "a"}})
	}
	return s
}

// address is a valid, distinct address for the node with the given ID.
func address(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return fmt.Sprintf("127.0.0.1:%d", 1024+h.Sum32()%60000)
}

func mustRegister(t *testing.T, r registry.Registry, s *registry.Service, opts ...registry.RegisterOption) {
	t.Helper()
	if err := r.Register(testContext(t), s, opts...); err != nil {
		t.Fatalf("Register(%s %s): %v", s.Name, s.Version, err)
	}
}

func testRegisterGet(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	mustRegister(t, r, service("greeter", "v1", "1001"))
	mustRegister(t, r, service("greeter", "v1", "1002"))
	got, err := r.GetService(ctx, "greeter")
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if diff := cmp.Diff([]*registry.Service{service("greeter", "v1", "1001", "1002")}, got); diff != "" {
		t.Errorf("GetService mismatch (-want +got):\n%s", diff)
	}
	// What GetService returns is a copy.
	got[0].Nodes[0].Address = "changed"
	again, _ := r.GetService(ctx, "greeter")
	if again[0].Nodes[0].Address == "changed" {
		t.Error("changing GetService's result changed the registry")
	}
	if _, err := r.GetService(ctx, "missing"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetService(missing) error = %v, want ErrNotFound", err)
	}
}

func testVersions(t *testing.T, r registry.Registry) {
	mustRegister(t, r, service("greeter", "v1", "1001"))
	mustRegister(t, r, service("greeter", "v2", "1002"))
	got, err := r.GetService(testContext(t), "greeter")
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	want := []*registry.Service{service("greeter", "v1", "1001"), service("greeter", "v2", "1002")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetService mismatch (-want +got):\n%s", diff)
	}
}

func testDeregister(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	mustRegister(t, r, service("greeter", "v1", "1001", "1002"))
	if err := r.Deregister(ctx, service("greeter", "v1", "1001")); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	got, err := r.GetService(ctx, "greeter")
	if err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if diff := cmp.Diff([]*registry.Service{service("greeter", "v1", "1002")}, got); diff != "" {
		t.Errorf("GetService after Deregister mismatch (-want +got):\n%s", diff)
	}
	if err := r.Deregister(ctx, service("greeter", "v1", "1002")); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if _, err := r.GetService(ctx, "greeter"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetService after the last node left: error = %v, want ErrNotFound", err)
	}
	if err := r.Deregister(ctx, service("greeter", "v1", "1002")); err != nil {
		t.Errorf("Deregister of an unknown node: %v, want nil", err)
	}
}

func testListServices(t *testing.T, r registry.Registry) {
	mustRegister(t, r, service("b", "v1", "1"))
	mustRegister(t, r, service("a", "v2", "2"))
	mustRegister(t, r, service("a", "v1", "3"))
	got, err := r.ListServices(testContext(t))
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	want := []*registry.Service{service("a", "v1", "3"), service("a", "v2", "2"), service("b", "v1", "1")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListServices mismatch (-want +got):\n%s", diff)
	}
}

func testInvalid(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	for _, s := range []*registry.Service{
		nil,
		{Nodes: []*registry.Node{{ID: "1", Address: "a:1"}}},
		{Name: "x"},
		{Name: "x", Nodes: []*registry.Node{{Address: "a:1"}}},
		{Name: "x", Nodes: []*registry.Node{{ID: "1"}}},
	} {
		if err := r.Register(ctx, s); err == nil {
			t.Errorf("Register(%+v) succeeded, want an error", s)
		}
	}
}

func next(t *testing.T, w registry.Watcher) *registry.Event {
	t.Helper()
	type result struct {
		e   *registry.Event
		err error
	}
	ch := make(chan result, 1)
	go func() {
		e, err := w.Next()
		ch <- result{e, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Next: %v", r.err)
		}
		return r.e
	case <-time.After(20 * time.Second):
		t.Fatal("Next: no event within 20s")
		return nil
	}
}

func describe(e *registry.Event) string {
	ids := ""
	for _, n := range e.Service.Nodes {
		ids += " " + n.ID
	}
	return fmt.Sprintf("%s %s %s%s", e.Type, e.Service.Name, e.Service.Version, ids)
}

// testWatch makes one change at a time and expects each to be reported, in
// order. Backends that poll may merge changes made faster than they look, so
// the suite waits for each event before making the next change.
func testWatch(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	w, err := r.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	mustRegister(t, r, service("greeter", "v1", "1001"))
	if got, want := describe(next(t, w)), "create greeter v1 1001"; got != want {
		t.Errorf("after Register: event %q, want %q", got, want)
	}
	mustRegister(t, r, service("greeter", "v1", "1001")) // unchanged: no event
	changed := service("greeter", "v1", "1001")
	changed.Nodes[0].Address = "127.0.0.1:2001"
	mustRegister(t, r, changed)
	e := next(t, w)
	if got, want := describe(e), "update greeter v1 1001"; got != want {
		t.Errorf("after a changed Register: event %q, want %q (re-registering unchanged must not make one)", got, want)
	}
	if got := e.Service.Nodes[0].Address; got != "127.0.0.1:2001" {
		t.Errorf("update event carries address %q, want the new one", got)
	}
	if err := r.Deregister(ctx, changed); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if got, want := describe(next(t, w)), "delete greeter v1 1001"; got != want {
		t.Errorf("after Deregister: event %q, want %q", got, want)
	}
}

func testWatchService(t *testing.T, r registry.Registry) {
	w, err := r.Watch(testContext(t), registry.WatchService("wanted"))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	mustRegister(t, r, service("other", "v1", "1"))
	mustRegister(t, r, service("wanted", "v1", "2"))
	if got, want := describe(next(t, w)), "create wanted v1 2"; got != want {
		t.Errorf("first event = %q, want %q", got, want)
	}
}

func testWatchStop(t *testing.T, r registry.Registry) {
	ctx, cancel := context.WithCancel(testContext(t))
	w, err := r.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.Next()
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, registry.ErrWatcherStopped) {
			t.Errorf("Next after cancel: error = %v, want ErrWatcherStopped", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Next did not return after the watch context was canceled")
	}
	w.Stop()
	w.Stop()
	if _, err := w.Next(); !errors.Is(err, registry.ErrWatcherStopped) {
		t.Errorf("Next after Stop: error = %v, want ErrWatcherStopped", err)
	}
}

// testWatchConverges makes a burst of changes and checks that a watcher
// applying the events it gets ends up with what the registry holds, which is
// what a client's cache relies on.
func testWatchConverges(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	w, err := r.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	for i := range 20 {
		mustRegister(t, r, service(fmt.Sprintf("svc%d", i%4), "v1", fmt.Sprint(i)))
	}
	for i := range 10 {
		if err := r.Deregister(ctx, service(fmt.Sprintf("svc%d", i%4), "v1", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 10; i < 15; i++ {
		moved := service(fmt.Sprintf("svc%d", i%4), "v1", fmt.Sprint(i))
		moved.Nodes[0].Address = "127.0.0.2:1"
		mustRegister(t, r, moved)
	}
	want := make(map[string]string) // node ID to address
	for i := 10; i < 20; i++ {
		want[fmt.Sprint(i)] = address(fmt.Sprint(i))
		if i < 15 {
			want[fmt.Sprint(i)] = "127.0.0.2:1"
		}
	}
	got := make(map[string]string)
	deadline := time.Now().Add(20 * time.Second)
	for !cmp.Equal(want, got) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher's view did not converge (-want +got):\n%s", cmp.Diff(want, got))
		}
		e := next(t, w)
		for _, n := range e.Service.Nodes {
			if e.Type == registry.EventDelete {
				delete(got, n.ID)
			} else {
				got[n.ID] = n.Address
			}
		}
	}
}

// testTTL registers a node that must be refreshed within 2 seconds: it stays
// while refreshed and is gone, with a delete event, once refreshing stops.
func testTTL(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	w, err := r.Watch(ctx, registry.WatchService("ephemeral"))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	const ttl = 2 * time.Second
	s := service("ephemeral", "v1", "1")
	registered := time.Now()
	mustRegister(t, r, s, registry.WithTTL(ttl))
	if got := describe(next(t, w)); got != "create ephemeral v1 1" {
		t.Fatalf("first event %q, want create", got)
	}
	for range 3 { // refreshed for longer than the TTL
		time.Sleep(ttl / 2)
		mustRegister(t, r, s, registry.WithTTL(ttl))
	}
	if _, err := r.GetService(ctx, "ephemeral"); err != nil {
		t.Fatalf("GetService while refreshed, %v after registering: %v", time.Since(registered).Round(time.Millisecond), err)
	}
	refreshed := time.Now()
	e := next(t, w)
	if got := describe(e); got != "delete ephemeral v1 1" {
		t.Errorf("event after refreshing stopped %q, want delete", got)
	}
	if waited := time.Since(refreshed); waited < ttl/2 || waited > 3*ttl {
		t.Errorf("the node expired %v after its last refresh, want about the TTL (%v)", waited.Round(time.Millisecond), ttl)
	}
	if _, err := r.GetService(ctx, "ephemeral"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetService after expiry: %v, want ErrNotFound", err)
	}
}

func (cfg suite) testConcurrent(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	workers, nodes := cfg.workers, cfg.rounds
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := range nodes {
				s := service(fmt.Sprintf("svc%d", w%2), "v1", fmt.Sprintf("%d-%d", w, n))
				if err := r.Register(ctx, s); err != nil {
					t.Errorf("Register: %v", err)
					return
				}
				if n%2 == 1 {
					if err := r.Deregister(ctx, s); err != nil {
						t.Errorf("Deregister: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, name := range []string{"svc0", "svc1"} {
		got, err := r.GetService(ctx, name)
		if err != nil {
			t.Fatalf("GetService(%s): %v", name, err)
		}
		for _, s := range got {
			total += len(s.Nodes)
		}
	}
	if want := workers * ((nodes + 1) / 2); total != want {
		t.Errorf("nodes left after concurrent register/deregister = %d, want %d", total, want)
	}
}

// testMany registers many services of several nodes each.
func (cfg suite) testMany(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	services, nodes := cfg.services, cfg.nodes
	for i := range services {
		s := service(fmt.Sprintf("many%03d", i), "v1")
		for n := range nodes {
			s.Nodes = append(s.Nodes, &registry.Node{ID: fmt.Sprintf("%d-%d", i, n), Address: fmt.Sprintf("10.0.%d.%d:8080", i, n)})
		}
		mustRegister(t, r, s)
	}
	all, err := r.ListServices(ctx)
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	if len(all) != services {
		t.Fatalf("ListServices returned %d services, want %d", len(all), services)
	}
	for i, s := range all {
		if want := fmt.Sprintf("many%03d", i); s.Name != want || len(s.Nodes) != nodes {
			t.Errorf("ListServices()[%d] = %s with %d nodes, want %s with %d", i, s.Name, len(s.Nodes), want, nodes)
		}
	}
	name := fmt.Sprintf("many%03d", services/2)
	got, err := r.GetService(ctx, name)
	if err != nil || len(got) != 1 || len(got[0].Nodes) != nodes {
		t.Errorf("GetService(%s) = %v, %v, want one version with %d nodes", name, got, err, nodes)
	}
}
