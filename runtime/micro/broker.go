package micro

import (
	"fmt"
	"strings"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/local"
	"github.com/protomicro/micro/runtime/broker/memory"
)

// BrokerKind is a broker backend that --broker and MICRO_BROKER may name
// beyond the built-in local and memory, added with [WithBrokers]: a program
// links a backend only if it names it in code, so that a service that never
// uses NATS does not carry its client.
type BrokerKind struct {
	// Name is what MICRO_BROKER says to select it, "nats".
	Name string
	// Open builds the broker at address, or at its default address when
	// address is "" (MICRO_BROKER_ADDRESS), as nats.Open does.
	Open func(address string) (broker.Broker, error)
}

// BrokerNames returns the names [NewBroker] knows given kinds: local and
// memory, then the kinds' names.
func BrokerNames(kinds ...BrokerKind) []string {
	names := []string{"local", "memory"}
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	return names
}

// NewBroker builds the broker named name (one of [BrokerNames]) at address,
// or at its default address when address is "": a directory for local
// ($TMPDIR/micro-<uid>/broker by default); memory takes none; a kind added
// here opens its own. Services use it for --broker and MICRO_BROKER; tools
// such as the micro command use it to reach the same events. The caller
// closes the broker.
func NewBroker(name, address string, kinds ...BrokerKind) (broker.Broker, error) {
	for _, k := range kinds {
		if k.Name == name && k.Open != nil {
			return k.Open(address)
		}
	}
	switch name {
	case "local":
		var opts []local.Option
		if address != "" {
			opts = append(opts, local.WithDir(address))
		}
		return local.New(opts...)
	case "memory":
		return memory.New(), nil
	case "nats":
		return nil, fmt.Errorf("broker %q is not built into this program: add micro.WithBrokers(micro.BrokerKind{Name: \"nats\", Open: nats.Open}), with package github.com/protomicro/micro/runtime/broker/nats, to micro.NewService", name)
	}
	return nil, fmt.Errorf("unknown broker %q: want one of %s, or a kind the program adds with micro.WithBrokers", name, strings.Join(BrokerNames(kinds...), ", "))
}
