package client

import (
	"math/rand/v2"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
)

// Balancer is how a client spreads the calls to a service across its nodes.
// Either way, only nodes with a working connection are chosen: a node that is
// down, or that stopped answering its connection's keepalive pings, is
// skipped until it can be reached again.
type Balancer string

// The balancers.
const (
	// RoundRobin sends each call to the next node in turn. It is the default.
	RoundRobin Balancer = "round_robin"
	// Random sends each call to a node chosen at random.
	Random Balancer = "micro_random"
)

// init makes the Random balancer known to grpc-go, which looks balancers up
// by name in a process-wide table that, like its codec table, must be filled
// at init time, before any gRPC call runs (see the init of
// runtime/internal/grpcwire).
func init() {
	balancer.Register(base.NewBalancerBuilder(string(Random), randomPicker{}, base.Config{}))
}

// randomPicker builds pickers that choose uniformly among ready nodes.
type randomPicker struct{}

func (randomPicker) Build(info base.PickerBuildInfo) balancer.Picker {
	if len(info.ReadySCs) == 0 {
		return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
	}
	ready := make([]balancer.SubConn, 0, len(info.ReadySCs))
	for sc := range info.ReadySCs {
		ready = append(ready, sc)
	}
	return &picker{ready: ready}
}

type picker struct{ ready []balancer.SubConn }

func (p *picker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{SubConn: p.ready[rand.IntN(len(p.ready))]}, nil
}
