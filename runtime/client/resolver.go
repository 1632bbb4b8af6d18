package client

import (
	"context"
	stderrors "errors"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc/resolver"

	"github.com/protomicro/micro/runtime/registry"
)

// The resolver schemes of the client's targets: "micro:///greeter" looks the
// service up in the registry, "micro-static:///a:1,b:2" lists addresses.
const (
	registryScheme = "micro"
	staticScheme   = "micro-static"
)

// registryBuilder resolves service names through a registry, and keeps the
// addresses current by watching it.
type registryBuilder struct {
	registry registry.Registry
	logger   *slog.Logger
}

func (b *registryBuilder) Scheme() string { return registryScheme }

func (b *registryBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &registryResolver{
		service:  target.Endpoint(),
		registry: b.registry,
		logger:   b.logger,
		cc:       cc,
		cancel:   cancel,
	}
	// Watch before the first lookup, so that no change falls between them.
	w, err := b.registry.Watch(ctx, registry.WatchService(r.service))
	if err != nil {
		cancel()
		return nil, err
	}
	r.resolve(ctx)
	r.done.Add(1)
	go r.watch(ctx, w)
	return r, nil
}

type registryResolver struct {
	service  string
	registry registry.Registry
	logger   *slog.Logger
	cc       resolver.ClientConn
	cancel   context.CancelFunc
	done     sync.WaitGroup
	mu       sync.Mutex // serializes lookups with their updates
}

func (r *registryResolver) watch(ctx context.Context, w registry.Watcher) {
	defer r.done.Done()
	defer w.Stop()
	for {
		if _, err := w.Next(); err != nil {
			if ctx.Err() == nil {
				r.logger.Error("registry watch ended; addresses will no longer follow changes", "service", r.service, "error", err)
			}
			return
		}
		r.resolve(ctx)
	}
}

// resolve looks the service up and hands every node's address to grpc-go.
func (r *registryResolver) resolve(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	services, err := r.registry.GetService(ctx, r.service)
	if err != nil && !stderrors.Is(err, registry.ErrNotFound) {
		r.cc.ReportError(err)
		return
	}
	var addrs []resolver.Address
	seen := make(map[string]bool)
	for _, s := range services {
		for _, n := range s.Nodes {
			if !seen[n.Address] {
				seen[n.Address] = true
				addrs = append(addrs, address(n.Address, n.Metadata[TLSMetadata] == "true"))
			}
		}
	}
	if len(addrs) == 0 {
		r.cc.ReportError(stderrors.New("service " + r.service + " has no nodes"))
		return
	}
	if err := r.cc.UpdateState(resolver.State{Addresses: addrs}); err != nil {
		r.logger.Debug("addresses rejected", "service", r.service, "error", err)
	}
}

func (r *registryResolver) ResolveNow(resolver.ResolveNowOptions) {}

func (r *registryResolver) Close() {
	r.cancel()
	r.done.Wait()
}

// staticBuilder resolves a fixed, comma-separated list of addresses.
type staticBuilder struct{}

func (staticBuilder) Scheme() string { return staticScheme }

func (staticBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	var addrs []resolver.Address
	for _, addr := range strings.Split(target.Endpoint(), ",") {
		addrs = append(addrs, staticAddress(addr))
	}
	if err := cc.UpdateState(resolver.State{Addresses: addrs}); err != nil {
		return nil, err
	}
	return staticResolver{}, nil
}

type staticResolver struct{}

func (staticResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (staticResolver) Close()                                {}
