package memory_test

import (
	"testing"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/brokertest"
	"github.com/protomicro/micro/runtime/broker/memory"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	brokertest.Run(t, func(*testing.T) broker.Broker { return memory.New() })
}
