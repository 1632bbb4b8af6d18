package web

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// chartMinutes is how many minutes of calls the charts show.
const chartMinutes = 15

// healthTimeout bounds one node's health check.
const healthTimeout = 2 * time.Second

// Snapshot is the services of the registry as the dashboard shows them, as
// GET /api/services answers and each event of GET /events carries.
type Snapshot struct {
	// Services are sorted by name.
	Services []ServiceView `json:"services"`
}

// ServiceView is one registered service: every version of it, merged.
type ServiceView struct {
	Name string `json:"name"`
	// Versions are the versions registered, sorted; "" is left out.
	Versions []string `json:"versions"`
	// Nodes are the nodes of every version, by version and then ID.
	Nodes []NodeView `json:"nodes"`
	// Serving is how many of Nodes answered SERVING.
	Serving int `json:"serving"`
	// Minutes are the gateway's counts of calls to the service in each of
	// the last 15 minutes, the oldest first.
	Minutes []gateway.Minute `json:"minutes"`
	// Subscriptions are the event topics the service consumes, from its
	// registration, in every version.
	Subscriptions []registry.Subscription `json:"subscriptions,omitempty"`
}

// NodeView is one node of a service.
type NodeView struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Version string `json:"version,omitempty"`
	// Metadata is the service's metadata and the node's own, which wins.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Health is the node's answer to grpc.health.v1 Check: SERVING,
	// NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN; ERROR when it did not answer,
	// with HealthError saying why; or CHECKING before the first answer.
	Health      string `json:"health"`
	HealthError string `json:"health_error,omitempty"`
}

// health is a node's last answer.
type health struct{ status, problem string }

// state follows the registry and the nodes' health, and tells its
// subscribers each new [Snapshot], as JSON.
type state struct {
	registry registry.Registry
	client   client.Client
	gateway  *gateway.Gateway
	config   *config

	mu       sync.Mutex
	services map[string][]*registry.Service // by name
	health   map[string]health              // by node address
	last     []byte                         // the JSON of the last snapshot
	subs     map[chan []byte]struct{}
	// changed is told the names of services the registry changed, for
	// the dashboard's schema cache.
	changed func(name string)
}

// newState reads the services registered now; follow keeps it up to date.
func newState(ctx context.Context, c *config, reg registry.Registry, cl client.Client, g *gateway.Gateway) (*state, registry.Watcher, error) {
	s := &state{registry: reg, client: cl, gateway: g, config: c,
		services: make(map[string][]*registry.Service), health: make(map[string]health), subs: make(map[chan []byte]struct{})}
	w, err := reg.Watch(context.WithoutCancel(ctx))
	if err != nil {
		return nil, nil, err
	}
	names, err := registry.ServiceNames(ctx, reg)
	if err != nil {
		w.Stop()
		return nil, nil, err
	}
	for _, name := range names {
		s.read(ctx, name)
	}
	return s, w, nil
}

// read reads the service called name from the registry again.
func (s *state) read(ctx context.Context, name string) {
	versions, err := s.registry.GetService(ctx, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stderrors.Is(err, registry.ErrNotFound) || err == nil && countNodes(versions) == 0:
		delete(s.services, name)
	case err != nil:
		s.config.logger.Warn("web: read service from the registry", "service", name, "error", err)
	default:
		s.services[name] = versions
	}
}

func countNodes(versions []*registry.Service) int {
	n := 0
	for _, v := range versions {
		n += len(v.Nodes)
	}
	return n
}

// follow keeps the state up to date until ctx is done: it reads a service
// again when the registry says it changed, and checks every node's health
// every interval (new nodes at once).
func (s *state) follow(ctx context.Context, w registry.Watcher) {
	changed := make(chan string, 64)
	go func() {
		defer close(changed)
		for {
			event, err := w.Next()
			if err != nil {
				if !stderrors.Is(err, registry.ErrWatcherStopped) {
					s.config.logger.Error("web: registry watch ended; the dashboard no longer follows the registry", "error", err)
				}
				return
			}
			select {
			case changed <- event.Service.Name:
			case <-ctx.Done():
				return
			}
		}
	}()
	s.checkHealth(ctx, true)
	s.publish()
	ticker := time.NewTicker(s.config.healthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case name, ok := <-changed:
			if !ok {
				changed = nil
				continue
			}
			s.read(ctx, name)
			if s.changed != nil {
				s.changed(name)
			}
			s.publish() // a node that left is gone at once, before the checks
			s.checkHealth(ctx, false)
		case <-ticker.C:
			s.checkHealth(ctx, true)
		}
		s.publish()
	}
}

// checkHealth asks the nodes for their health, all of them or only those
// not asked yet, at once, and records the answers.
func (s *state) checkHealth(ctx context.Context, all bool) {
	s.mu.Lock()
	var addresses []string
	for _, versions := range s.services {
		for _, v := range versions {
			for _, n := range v.Nodes {
				address := client.NodeAddress(n) // "tls://..." for a node that serves TLS
				if _, asked := s.health[address]; all || !asked {
					addresses = append(addresses, address)
				}
			}
		}
	}
	s.mu.Unlock()
	slices.Sort(addresses)
	addresses = slices.Compact(addresses)
	answers := make([]health, len(addresses))
	var wg sync.WaitGroup
	for i, address := range addresses {
		wg.Go(func() { answers[i] = s.check(ctx, address) })
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, address := range addresses {
		s.health[address] = answers[i]
	}
}

// check asks the node at address for the health of its whole server.
func (s *state) check(ctx context.Context, address string) health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	res := new(healthpb.HealthCheckResponse)
	err := s.client.Invoke(ctx, "", rpc.Spec{Procedure: healthpb.Health_Check_FullMethodName}, &healthpb.HealthCheckRequest{}, res,
		client.WithAddress(address))
	if err != nil {
		return health{status: "ERROR", problem: err.Error()}
	}
	return health{status: res.GetStatus().String()}
}

// snapshot returns the state now.
func (s *state) snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Services: []ServiceView{}}
	for _, name := range slices.Sorted(maps.Keys(s.services)) {
		out.Services = append(out.Services, s.view(name))
	}
	return out
}

// service returns the state of the service called name; s.mu is not held.
func (s *state) service(name string) (ServiceView, []*registry.Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions, ok := s.services[name]
	if !ok {
		return ServiceView{}, nil, false
	}
	return s.view(name), versions, true
}

// view returns the service called name as shown; s.mu is held.
func (s *state) view(name string) ServiceView {
	versions := slices.Clone(s.services[name])
	slices.SortStableFunc(versions, func(a, b *registry.Service) int { return strings.Compare(a.Version, b.Version) })
	v := ServiceView{Name: name, Versions: []string{}, Nodes: []NodeView{}, Minutes: s.gateway.Recent(name, chartMinutes)}
	for _, version := range versions {
		if version.Version != "" && !slices.Contains(v.Versions, version.Version) {
			v.Versions = append(v.Versions, version.Version)
		}
		for _, sub := range version.Subscriptions {
			if !slices.Contains(v.Subscriptions, sub) {
				v.Subscriptions = append(v.Subscriptions, sub)
			}
		}
		nodes := slices.Clone(version.Nodes)
		slices.SortFunc(nodes, func(a, b *registry.Node) int { return strings.Compare(a.ID, b.ID) })
		for _, n := range nodes {
			h, ok := s.health[client.NodeAddress(n)]
			if !ok {
				h.status = "CHECKING"
			}
			if h.status == healthpb.HealthCheckResponse_SERVING.String() {
				v.Serving++
			}
			metadata := maps.Clone(version.Metadata)
			if metadata == nil {
				metadata = make(map[string]string, len(n.Metadata))
			}
			maps.Copy(metadata, n.Metadata)
			v.Nodes = append(v.Nodes, NodeView{ID: n.ID, Address: n.Address, Version: version.Version,
				Metadata: metadata, Health: h.status, HealthError: h.problem})
		}
	}
	return v
}

// publish tells the subscribers the snapshot, if it changed.
func (s *state) publish() {
	data, err := json.Marshal(s.snapshot())
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if string(data) == string(s.last) {
		return
	}
	s.last = data
	for ch := range s.subs {
		send(ch, data)
	}
}

// send gives ch data, in place of what it holds still unread: a slow
// browser needs only the latest snapshot.
func send(ch chan []byte, data []byte) {
	select {
	case <-ch:
	default:
	}
	ch <- data
}

// subscribe returns a channel that holds the current snapshot and then each
// new one, until cancel is called.
func (s *state) subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	now, _ := json.Marshal(s.snapshot())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[ch] = struct{}{}
	if s.last != nil {
		now = s.last
	}
	send(ch, now) // under s.mu, as publish sends, so that send never blocks
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, ch)
	}
}
