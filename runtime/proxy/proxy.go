package proxy

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpbv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// Proxy is a gRPC server that forwards every call to the registered service
// that serves its procedure. Its routes follow the registry.
//
// A Proxy is safe for concurrent use. Serve it on a listener; Shutdown or
// Close it to stop.
type Proxy struct {
	config    *config
	registry  registry.Registry
	client    client.Client
	ownClient bool
	grpc      *grpc.Server
	// table is what calls are routed by; the loop replaces it whole.
	table atomic.Pointer[table]
	// schemas caches the services' schemas for reflection.
	schemas schemaCache

	// services are the registry's services as the loop last read them, by
	// name; only the loop (and New, before the loop starts) touch it.
	services map[string][]*registry.Service
	// reflected are the endpoints read through server reflection of the
	// services registered without any, by name; only the loop touches it.
	reflected map[string][]*registry.Endpoint
	watcher   registry.Watcher
	stop      context.CancelFunc
	done      chan struct{}
	close     sync.Once
}

// streamWorkers is how many goroutines serve the proxy's calls, and keep
// their stacks from one call to the next; calls past them run on goroutines
// of their own.
const streamWorkers = 64

// New returns a proxy in front of the services in reg. It reads the
// services registered now before it returns (ctx bounds that), then follows
// the registry until it is closed.
func New(ctx context.Context, reg registry.Registry, opts ...Option) (*Proxy, error) {
	p := &Proxy{config: newConfig(opts), registry: reg, services: make(map[string][]*registry.Service), reflected: make(map[string][]*registry.Endpoint), done: make(chan struct{})}
	p.client = p.config.client
	if p.client == nil {
		p.client = client.New(client.WithRegistry(reg), client.WithDefaultTimeout(0), client.WithLogger(p.config.logger))
		p.ownClient = true
	}
	p.table.Store(newTable(nil))
	p.grpc = grpc.NewServer(
		grpc.UnknownServiceHandler(p.forward),
		grpc.ForceServerCodecV2(grpcwire.CodecV2(grpcwire.FrameCodec{})),
		grpc.MaxRecvMsgSize(p.config.messageLimit),
		// Every call's handler makes a call of its own, a deep stack: a
		// goroutine per call grows its stack (and copies it) twice, which
		// cost a sixth of the proxy's CPU. Workers keep theirs.
		grpc.NumStreamWorkers(streamWorkers),
	)
	healthpb.RegisterHealthServer(p.grpc, health{p})
	rpbv1.RegisterServerReflectionServer(p.grpc, reflectionV1{p})
	rpbv1alpha.RegisterServerReflectionServer(p.grpc, reflectionV1alpha{p})

	// Watch before listing, so that no change falls between the two.
	loopCtx, stop := context.WithCancel(context.Background())
	w, err := reg.Watch(loopCtx)
	if err != nil {
		stop()
		p.closeOwned()
		return nil, fmt.Errorf("watch registry %s: %w", reg, err)
	}
	p.watcher, p.stop = w, stop
	names, err := registry.ServiceNames(ctx, reg)
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("list the services of registry %s: %w", reg, err)
	}
	p.refresh(ctx, names)
	go p.loop(loopCtx)
	return p, nil
}

// Serve accepts calls on lis until Shutdown or Close; it returns nil then.
func (p *Proxy) Serve(lis net.Listener) error {
	return p.grpc.Serve(lis)
}

// Shutdown stops accepting calls and waits for those in flight to finish,
// or for ctx to be done (then it ends them, and returns ctx's error), then
// closes the proxy.
func (p *Proxy) Shutdown(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() { p.grpc.GracefulStop(); close(stopped) }()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		p.grpc.Stop()
		<-stopped
		err = ctx.Err()
	}
	return stderrors.Join(err, p.Close())
}

// Close ends every call at once, stops following the registry and closes
// the client the proxy made. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.close.Do(func() {
		p.stop()
		p.watcher.Stop()
		<-p.done
		p.closeOwned()
	})
	return nil
}

func (p *Proxy) closeOwned() {
	p.grpc.Stop()
	if p.ownClient {
		_ = p.client.Close()
	}
}

// Services returns the registry names of the services the proxy forwards
// to now, sorted.
func (p *Proxy) Services() []string { return slices.Clone(p.table.Load().names) }

// loop follows the registry until ctx is done, reading each service that
// changed again and replacing the table.
func (p *Proxy) loop(ctx context.Context) {
	defer close(p.done)
	for {
		event, err := p.watcher.Next()
		if err != nil {
			if !stderrors.Is(err, registry.ErrWatcherStopped) && ctx.Err() == nil {
				p.config.logger.Error("proxy: registry watch ended; routes no longer follow the registry", "error", err)
			}
			return
		}
		p.refresh(ctx, []string{event.Service.Name})
	}
}

// refresh reads the named services from the registry again and replaces the
// table.
func (p *Proxy) refresh(ctx context.Context, names []string) {
	changed := false
	for _, name := range names {
		versions, err := p.registry.GetService(ctx, name)
		switch {
		case stderrors.Is(err, registry.ErrNotFound) || err == nil && !hasNode(versions):
			if _, ok := p.services[name]; ok {
				p.config.logger.Info("proxy: service left", "service", name)
				delete(p.services, name)
				delete(p.reflected, name)
				changed = true
			}
		case err != nil:
			// The previous routes stay until the next change of the service.
			p.config.logger.Warn("proxy: read service from the registry", "service", name, "error", err)
		default:
			if !hasEndpoints(versions) {
				versions = p.withReflectedEndpoints(ctx, name, versions)
			}
			if _, ok := p.services[name]; !ok {
				p.config.logger.Info("proxy: service joined", "service", name)
			}
			p.services[name] = versions
			changed = true
		}
	}
	if changed {
		old, t := p.table.Load(), newTable(p.services)
		for _, c := range t.conflicts {
			if !slices.Contains(old.conflicts, c) {
				p.config.logger.Warn("proxy: two services serve one procedure; the first keeps it", "procedure", c.procedure, "service", c.service, "other", c.other)
			}
		}
		p.table.Store(t)
		close(old.changed)
	}
}

// withReflectedEndpoints returns versions, of a service registered without
// endpoints (by hand, or by a framework other than micro), with the
// endpoints of the procedures its nodes' server reflection lists. It reads
// them once per service and keeps them until the service leaves; a service
// whose schema cannot be read is logged, and not forwarded to.
func (p *Proxy) withReflectedEndpoints(ctx context.Context, name string, versions []*registry.Service) []*registry.Service {
	endpoints, ok := p.reflected[name]
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		schema, err := dynamic.Resolve(ctx, p.client, name)
		if err != nil {
			p.config.logger.Warn("proxy: service lists no endpoints, and its schema cannot be read; not forwarded to", "service", name, "error", err)
			return versions
		}
		for _, m := range schema.Methods() {
			spec := dynamic.Spec(m)
			endpoints = append(endpoints, &registry.Endpoint{Procedure: spec.Procedure, StreamType: spec.StreamType, Idempotency: spec.Idempotency})
		}
		p.reflected[name] = endpoints
	}
	out := make([]*registry.Service, len(versions))
	for i, v := range versions {
		v = v.Clone()
		v.Endpoints = endpoints
		out[i] = v
	}
	return out
}

func hasEndpoints(versions []*registry.Service) bool {
	return slices.ContainsFunc(versions, func(s *registry.Service) bool { return len(s.Endpoints) > 0 })
}

func hasNode(versions []*registry.Service) bool {
	return slices.ContainsFunc(versions, func(s *registry.Service) bool { return len(s.Nodes) > 0 })
}

// route is where calls of one procedure go.
type route struct {
	service string // registry name
	spec    rpc.Spec
}

// table is what the proxy routes by at one moment. It is never changed once
// stored; changed is closed when a new one replaces it.
type table struct {
	procedures map[string]route  // by procedure
	protos     map[string]string // registry name by proto service name
	names      []string          // registry names, sorted
	keys       map[string]string // what the registry said of each service's endpoints, by name
	conflicts  []conflict
	changed    chan struct{}
}

// conflict is a procedure that two services list: service serves it, other
// does not. The proxy logs a conflict once, when it first sees it.
type conflict struct{ procedure, service, other string }

// newTable works out the routes of services; the service whose name sorts
// first wins a procedure two of them list, and the conflict is recorded.
func newTable(services map[string][]*registry.Service) *table {
	t := &table{procedures: make(map[string]route), protos: make(map[string]string), keys: make(map[string]string), changed: make(chan struct{})}
	for name := range services {
		t.names = append(t.names, name)
	}
	slices.Sort(t.names)
	for _, name := range t.names {
		var endpoints []*registry.Endpoint
		for _, v := range services[name] {
			for _, e := range v.Endpoints {
				if slices.ContainsFunc(endpoints, func(x *registry.Endpoint) bool { return x.Procedure == e.Procedure }) {
					continue
				}
				endpoints = append(endpoints, e)
				if owner, ok := t.procedures[e.Procedure]; ok {
					t.conflicts = append(t.conflicts, conflict{procedure: e.Procedure, service: owner.service, other: name})
					continue
				}
				t.procedures[e.Procedure] = route{service: name, spec: rpc.Spec{Procedure: e.Procedure, StreamType: e.StreamType, Idempotency: e.Idempotency, Access: e.Access}}
				if proto, _ := rpc.SplitProcedure(e.Procedure); proto != "" {
					if _, ok := t.protos[proto]; !ok {
						t.protos[proto] = name
					}
				}
			}
		}
		key, _ := json.Marshal(endpoints)
		t.keys[name] = string(key)
	}
	return t
}

// serves reports whether name, a registry name or a proto service name, is
// a service the proxy forwards to.
func (t *table) serves(name string) bool {
	if _, ok := t.protos[name]; ok {
		return true
	}
	_, ok := slices.BinarySearch(t.names, name)
	return ok
}
