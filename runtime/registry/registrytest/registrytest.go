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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// Run runs the suite. newRegistry returns an empty registry and arranges its
// own cleanup with t.Cleanup.
func Run(t *testing.T, newRegistry func(t *testing.T) registry.Registry) {
	t.Helper()
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
		{"Concurrent", testConcurrent},
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
		s.Nodes = append(s.Nodes, &registry.Node{ID: id, Address: "127.0.0.1:" + id, Metadata: map[string]string{"zone": "a"}})
	}
	return s
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

func testWatch(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	w, err := r.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	mustRegister(t, r, service("greeter", "v1", "1001"))
	mustRegister(t, r, service("greeter", "v1", "1001")) // unchanged: no event
	changed := service("greeter", "v1", "1001")
	changed.Nodes[0].Address = "127.0.0.1:2001"
	mustRegister(t, r, changed)
	if err := r.Deregister(ctx, changed); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	var got []string
	for range 3 {
		got = append(got, describe(next(t, w)))
	}
	want := []string{"create greeter v1 1001", "update greeter v1 1001", "delete greeter v1 1001"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
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

func testConcurrent(t *testing.T, r registry.Registry) {
	ctx := testContext(t)
	const workers, nodes = 8, 25
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
	if want := workers * (nodes + 1) / 2; total != want {
		t.Errorf("nodes left after concurrent register/deregister = %d, want %d", total, want)
	}
}
