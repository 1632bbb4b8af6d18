package mdns_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/mdns"
	"github.com/protomicro/micro/runtime/registry/registrytest"
)

var typeCount atomic.Int64

// newRegistry returns a registry of a service type of its own, so that
// parallel tests do not see each other's nodes.
func newRegistry(t *testing.T) *mdns.Registry {
	r := mdns.New(mdns.WithServiceType(fmt.Sprintf("_mt%d-%d._tcp", time.Now().UnixNano()%1e6, typeCount.Add(1))),
		mdns.WithPollInterval(200*time.Millisecond), mdns.WithQueryTimeout(200*time.Millisecond))
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// requireMulticast skips the test where a node cannot be found over
// multicast DNS on this machine.
func requireMulticast(t *testing.T) {
	t.Helper()
	r := newRegistry(t)
	probe := &registry.Service{Name: "probe", Nodes: []*registry.Node{{ID: "1", Address: "127.0.0.1:9"}}}
	if err := r.Register(t.Context(), probe); err != nil {
		t.Skipf("multicast DNS is unavailable here (%v); the mdns registry needs a network interface with multicast", err)
	}
	for range 5 {
		if _, err := r.GetService(t.Context(), "probe"); err == nil {
			return
		}
	}
	t.Skip("multicast DNS is unavailable here (a registered node never answered); the mdns registry needs a network interface with multicast")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	requireMulticast(t)
	registrytest.Run(t, func(t *testing.T) registry.Registry { return newRegistry(t) },
		registrytest.WithScale(10, 3), registrytest.WithConcurrency(4, 6))
}
