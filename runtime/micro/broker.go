package micro

import (
	"fmt"
	"strings"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/broker/nats"
)

// BrokerNames returns the names [NewBroker] knows, which are what --broker
// and MICRO_BROKER accept.
func BrokerNames() []string { return []string{"memory", "nats"} }

// NewBroker builds the broker named name (one of [BrokerNames]) at address,
// or at its default address when address is "": for nats, a server URL or
// several separated by commas (nats://127.0.0.1:4222 by default); memory
// takes none. An unreachable NATS is an error naming the address. Close the
// broker when done.
func NewBroker(name, address string) (broker.Broker, error) {
	switch name {
	case "memory":
		return memory.New(), nil
	case "nats":
		var opts []nats.Option
		if address != "" {
			opts = append(opts, nats.WithURL(address))
		}
		return nats.New(opts...)
	}
	return nil, fmt.Errorf("unknown broker %q: want one of %s", name, strings.Join(BrokerNames(), ", "))
}
