package cache_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/cache"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/registry/registrytest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	registrytest.Run(t, func(t *testing.T) registry.Registry {
		c := cache.New(memory.New())
		t.Cleanup(func() { _ = c.Close() })
		return c
	})
}

// counting counts the lookups that reach the registry.
type counting struct {
	registry.Registry
	lookups atomic.Int64
}

func (c *counting) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	c.lookups.Add(1)
	return c.Registry.GetService(ctx, name)
}

func node(id string) *registry.Service {
	return &registry.Service{Name: "greeter", Nodes: []*registry.Node{{ID: id, Address: "127.0.0.1:" + id}}}
}

func TestLookupsHitMemory(t *testing.T) {
	t.Parallel()
	reg := &counting{Registry: memory.New()}
	c := cache.New(reg)
	defer c.Close()
	ctx := t.Context()
	if err := reg.Register(ctx, node("1")); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := c.GetService(ctx, "greeter"); err != nil {
			t.Fatal(err)
		}
	}
	if got := reg.lookups.Load(); got != 1 {
		t.Errorf("100 lookups reached the registry %d times, want 1", got)
	}
	// A change made elsewhere arrives through the watch.
	if err := reg.Register(ctx, node("2")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := c.GetService(ctx, "greeter")
		if err == nil && len(got[0].Nodes) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache never saw the second node: %v, %v", got, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := reg.lookups.Load(); got != 1 {
		t.Errorf("following a change reached the registry %d times, want 1 in all", got)
	}
	// The last node leaving makes the name unknown, still without a lookup.
	for _, id := range []string{"1", "2"} {
		if err := reg.Deregister(ctx, node(id)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_, err := c.GetService(ctx, "greeter")
		if errors.Is(err, registry.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache still has nodes after all left: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
