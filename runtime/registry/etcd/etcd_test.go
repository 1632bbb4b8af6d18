package etcd_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/etcd"
	"github.com/protomicro/micro/runtime/registry/etcd/etcdtest"
	"github.com/protomicro/micro/runtime/registry/registrytest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	var n atomic.Int64
	registrytest.Run(t, func(t *testing.T) registry.Registry {
		// One etcd, a prefix of its own for each test.
		r, err := etcd.New(etcd.WithEndpoints(endpoint), etcd.WithPrefix(fmt.Sprintf("/test/%d/", n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	})
}

func BenchmarkScale(b *testing.B) {
	endpoint := etcdtest.Start(b)
	registrytest.Scale(b, func(b *testing.B) registry.Registry {
		r, err := etcd.New(etcd.WithEndpoints(endpoint))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = r.Close() })
		return r
	})
}
