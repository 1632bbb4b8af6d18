package metrics_test

import (
	"errors"
	"testing"

	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestRegistryCounted looks services up and watches one come and go through
// an instrumented registry, and reads the counts by backend, operation,
// outcome and event type.
func TestRegistryCounted(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	reg := m.InstrumentRegistry(memory.New())
	ctx := testutil.Context(t)
	if got := reg.String(); got != "memory" {
		t.Errorf("String() = %q, want the backend's, memory", got)
	}
	if _, err := reg.GetService(ctx, "greeter"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("GetService(greeter) before registering = %v, want ErrNotFound", err)
	}
	w, err := reg.Watch(ctx, registry.WatchService("greeter"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	greeter := &registry.Service{Name: "greeter", Version: "v1", Nodes: []*registry.Node{{ID: "greeter-1", Address: "127.0.0.1:1"}}}
	if err := reg.Register(ctx, greeter); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := reg.GetService(ctx, "greeter"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.ListServices(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg.Deregister(ctx, greeter); err != nil {
		t.Fatal(err)
	}
	for _, want := range []registry.EventType{registry.EventCreate, registry.EventDelete} {
		if e, err := w.Next(); err != nil || e.Type != want {
			t.Fatalf("Next() = %v, %v; want a %s event", e, err, want)
		}
	}

	checkSeries(t, m, []series{
		{"micro_registry_lookups_total", map[string]string{"backend": "memory", "operation": "get_service", "outcome": "ok"}, 2},
		{"micro_registry_lookups_total", map[string]string{"backend": "memory", "operation": "get_service", "outcome": "not_found"}, 1},
		{"micro_registry_lookups_total", map[string]string{"backend": "memory", "operation": "list_services", "outcome": "ok"}, 1},
		{"micro_registry_watch_events_total", map[string]string{"backend": "memory", "type": "create"}, 1},
		{"micro_registry_watch_events_total", map[string]string{"backend": "memory", "type": "delete"}, 1},
		{"micro_registry_watch_events_total", map[string]string{"type": "update"}, -1},
	})
}
