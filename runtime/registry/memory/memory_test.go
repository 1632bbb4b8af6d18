package memory_test

import (
	"testing"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/registry/registrytest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	registrytest.Run(t, func(*testing.T) registry.Registry { return memory.New() })
}

func BenchmarkScale(b *testing.B) {
	registrytest.Scale(b, func(*testing.B) registry.Registry { return memory.New() })
}
