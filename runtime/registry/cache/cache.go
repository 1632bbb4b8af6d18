// Package cache keeps a registry's answers in memory and current through one
// watch of the whole registry, so that looking a service up costs no round
// trip to the registry once the service has been looked up before. Clients
// put their registry behind a cache; it is a [registry.Registry] itself.
//
// Changes made through the cache are seen by its next lookup; changes made
// elsewhere are seen once the registry's watch reports them.
package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// Cache is a [registry.Registry] that answers GetService from memory. It is
// safe for concurrent use; Close it when done.
type Cache struct {
	registry registry.Registry
	logger   *slog.Logger
	ctx      context.Context // canceled by Close
	cancel   context.CancelFunc

	mu       sync.Mutex
	services map[string]*entry // services looked up
	queues   map[*watch.Queue]struct{}
	watching bool
}

// entry is what the cache holds of one service name.
type entry struct {
	versions map[string]*registry.Service // with their nodes
	loaded   bool                         // versions came from a lookup: until then, look up
	loading  chan struct{}                // closed when the lookup under way ends; nil if none
	stale    bool                         // changed through the cache: look up again
	changes  int                          // events seen, to detect lookups that raced one
}

var _ registry.Registry = (*Cache)(nil)

// Option configures a [Cache].
type Option interface {
	apply(*Cache)
}

type optionFunc func(*Cache)

func (f optionFunc) apply(c *Cache) { f(c) }

// WithLogger sets where the cache reports a watch that failed and restarts.
// The default is [slog.Default] when [New] is called.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *Cache) { c.logger = logger })
}

// New returns a cache in front of r.
func New(r registry.Registry, opts ...Option) *Cache {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{
		registry: r,
		logger:   slog.Default(),
		ctx:      ctx,
		cancel:   cancel,
		services: make(map[string]*entry),
		queues:   make(map[*watch.Queue]struct{}),
	}
	for _, opt := range opts {
		opt.apply(c)
	}
	return c
}

// String names the cached registry, "local".
func (c *Cache) String() string { return c.registry.String() }

// Close stops the cache's watch and every watcher it handed out.
func (c *Cache) Close() error {
	c.cancel()
	return nil
}

// Register implements [registry.Registry] by registering with the registry.
func (c *Cache) Register(ctx context.Context, s *registry.Service, opts ...registry.RegisterOption) error {
	err := c.registry.Register(ctx, s, opts...)
	c.invalidate(s)
	return err
}

// Deregister implements [registry.Registry] by deregistering from the registry.
func (c *Cache) Deregister(ctx context.Context, s *registry.Service) error {
	err := c.registry.Deregister(ctx, s)
	c.invalidate(s)
	return err
}

func (c *Cache) invalidate(s *registry.Service) {
	if s == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.services[s.Name]; ok {
		e.stale = true
	}
}

// ListServices implements [registry.Registry] by asking the registry.
func (c *Cache) ListServices(ctx context.Context) ([]*registry.Service, error) {
	return c.registry.ListServices(ctx)
}

// GetService implements [registry.Registry]. The first lookup of a name asks
// the registry; later ones are answered from memory.
func (c *Cache) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	if err := c.startWatch(); err != nil {
		return c.registry.GetService(ctx, name)
	}
	for {
		c.mu.Lock()
		e, ok := c.services[name]
		if ok && e.loaded && !e.stale {
			services := snapshot(e)
			c.mu.Unlock()
			if len(services) == 0 {
				return nil, errNotFound(name)
			}
			return services, nil
		}
		if ok && e.loading != nil {
			// Another lookup of the name is under way: wait for its answer.
			loading := e.loading
			c.mu.Unlock()
			select {
			case <-loading:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if !ok {
			e = &entry{versions: make(map[string]*registry.Service)}
			c.services[name] = e
		}
		e.stale = false
		e.loading = make(chan struct{})
		changes := e.changes
		c.mu.Unlock()

		services, err := c.registry.GetService(ctx, name)
		c.mu.Lock()
		close(e.loading)
		e.loading = nil
		switch {
		case err != nil && !errors.Is(err, registry.ErrNotFound):
			e.stale = true
			c.mu.Unlock()
			return nil, err
		case e.changes != changes || e.stale:
			// An event arrived while the registry answered: the answer may
			// predate it, so ask again.
			c.mu.Unlock()
			continue
		}
		e.versions = make(map[string]*registry.Service, len(services))
		for _, s := range services {
			e.versions[s.Version] = s.Clone()
		}
		e.loaded = true
		c.mu.Unlock()
		if len(services) == 0 {
			return nil, errNotFound(name)
		}
		return services, nil
	}
}

func errNotFound(name string) error {
	return fmt.Errorf("get service %q: %w", name, registry.ErrNotFound)
}

// Watch implements [registry.Registry]: the watcher sees every change the
// cache's own watch of the registry reports.
func (c *Cache) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	if err := c.startWatch(); err != nil {
		return nil, err
	}
	q := watch.New(ctx, registry.NewWatchOptions(opts...), func(q *watch.Queue) {
		c.mu.Lock()
		delete(c.queues, q)
		c.mu.Unlock()
	})
	c.mu.Lock()
	c.queues[q] = struct{}{}
	c.mu.Unlock()
	context.AfterFunc(c.ctx, q.Stop)
	return q, nil
}

// startWatch starts the cache's watch of the registry, once.
func (c *Cache) startWatch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watching {
		return nil
	}
	if err := c.ctx.Err(); err != nil {
		return errors.New("cache is closed")
	}
	w, err := c.registry.Watch(c.ctx)
	if err != nil {
		return err
	}
	c.watching = true
	go c.follow(w)
	return nil
}

// follow applies the registry's changes until the cache is closed,
// restarting the watch when it fails and looking again at everything cached
// then, since changes may have been missed.
func (c *Cache) follow(w registry.Watcher) {
	backoff := 100 * time.Millisecond
	for {
		e, err := w.Next()
		if err == nil {
			backoff = 100 * time.Millisecond
			c.apply(e)
			continue
		}
		w.Stop()
		if c.ctx.Err() != nil {
			return
		}
		c.logger.Warn("registry watch failed; restarting it", "registry", c.registry.String(), "error", err, "retry_in", backoff)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
		if w, err = c.registry.Watch(c.ctx); err != nil {
			w = failed{err}
			continue
		}
		c.mu.Lock()
		for _, e := range c.services {
			e.stale = true
		}
		c.mu.Unlock()
	}
}

// failed is a watcher that could not be started.
type failed struct{ err error }

func (f failed) Next() (*registry.Event, error) { return nil, f.err }
func (f failed) Stop()                          {}

// apply updates the cached service an event concerns and passes the event on.
func (c *Cache) apply(event *registry.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.services[event.Service.Name]; ok {
		e.changes++
		version := event.Service.Version
		s := e.versions[version]
		for _, n := range event.Service.Nodes {
			if event.Type == registry.EventDelete {
				if s == nil {
					continue
				}
				s.Nodes = slices.DeleteFunc(s.Nodes, func(old *registry.Node) bool { return old.ID == n.ID })
				if len(s.Nodes) == 0 {
					delete(e.versions, version)
					s = nil
				}
				continue
			}
			if s == nil {
				s = event.Service.Clone()
				s.Nodes = nil
				e.versions[version] = s
			} else {
				update := event.Service.Clone()
				s.Metadata, s.Endpoints, s.Subscriptions = update.Metadata, update.Endpoints, update.Subscriptions
			}
			s.Nodes = slices.DeleteFunc(s.Nodes, func(old *registry.Node) bool { return old.ID == n.ID })
			s.Nodes = append(s.Nodes, n)
		}
	}
	for q := range c.queues {
		q.Push(&registry.Event{Type: event.Type, Service: event.Service.Clone()})
	}
}

// snapshot copies a cached service's versions, in order, nodes sorted by ID.
func snapshot(e *entry) []*registry.Service {
	out := make([]*registry.Service, 0, len(e.versions))
	for _, s := range e.versions {
		s = s.Clone()
		slices.SortFunc(s.Nodes, func(a, b *registry.Node) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *registry.Service) int { return cmp.Compare(a.Version, b.Version) })
	return out
}
