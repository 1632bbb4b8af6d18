// Package memory is a [registry.Registry] held in the memory of one process:
// for tests, and for programs whose services and clients share a process.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// Registry is an in-memory registry. The zero value is not usable; call [New].
type Registry struct {
	now func() time.Time

	mu       sync.Mutex
	services map[string]map[string]*version // name, then version
	watchers map[*watch.Queue]struct{}
}

// version is one registered version of a service.
type version struct {
	service *registry.Service // without nodes
	nodes   map[string]*node
}

type node struct {
	node    *registry.Node
	expires time.Time   // zero: never
	timer   *time.Timer // fires at expires; nil when it never expires
}

var _ registry.Registry = (*Registry)(nil)

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		now:      time.Now,
		services: make(map[string]map[string]*version),
		watchers: make(map[*watch.Queue]struct{}),
	}
}

// String returns "memory".
func (r *Registry) String() string { return "memory" }

// Register implements [registry.Registry]. Nodes registered with
// [registry.WithTTL] expire, and watchers hear of it, unless registered again
// in time.
func (r *Registry) Register(ctx context.Context, s *registry.Service, opts ...registry.RegisterOption) error {
	if err := s.Validate(); err != nil {
		return err
	}
	o := registry.NewRegisterOptions(opts...)
	r.mu.Lock()
	defer r.mu.Unlock()
	versions := r.services[s.Name]
	if versions == nil {
		versions = make(map[string]*version)
		r.services[s.Name] = versions
	}
	v := versions[s.Version]
	if v == nil {
		v = &version{nodes: make(map[string]*node)}
		versions[s.Version] = v
	}
	v.service = s.Clone()
	v.service.Nodes = nil
	for _, n := range s.Clone().Nodes {
		typ := registry.EventCreate
		old, ok := v.nodes[n.ID]
		if ok {
			if old.timer != nil {
				old.timer.Stop()
			}
			if old.node.Address == n.Address && maps.Equal(old.node.Metadata, n.Metadata) {
				r.expireAfter(s.Name, s.Version, old, o.TTL)
				continue
			}
			typ = registry.EventUpdate
		}
		entry := &node{node: n}
		v.nodes[n.ID] = entry
		r.expireAfter(s.Name, s.Version, entry, o.TTL)
		r.notifyLocked(typ, v.service, n)
	}
	return nil
}

// expireAfter arranges for n to be removed once ttl passes without it being
// registered again; a zero ttl keeps it until it is deregistered.
func (r *Registry) expireAfter(name, ver string, n *node, ttl time.Duration) {
	n.expires, n.timer = time.Time{}, nil
	if ttl <= 0 {
		return
	}
	n.expires = r.now().Add(ttl)
	n.timer = time.AfterFunc(ttl, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		v := r.services[name][ver]
		if v != nil && v.nodes[n.node.ID] == n && !r.now().Before(n.expires) {
			r.removeLocked(name, ver, v, n.node.ID)
		}
	})
}

// Deregister implements [registry.Registry].
func (r *Registry) Deregister(ctx context.Context, s *registry.Service) error {
	if s == nil || s.Name == "" {
		return fmt.Errorf("deregister: service has no name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.services[s.Name][s.Version]
	if v == nil {
		return nil
	}
	for _, n := range s.Nodes {
		r.removeLocked(s.Name, s.Version, v, n.ID)
	}
	return nil
}

// GetService implements [registry.Registry].
func (r *Registry) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	versions := r.services[name]
	if len(versions) == 0 {
		return nil, fmt.Errorf("get service %q: %w", name, registry.ErrNotFound)
	}
	return snapshot(versions), nil
}

// ListServices implements [registry.Registry].
func (r *Registry) ListServices(ctx context.Context) ([]*registry.Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*registry.Service
	for _, versions := range r.services {
		out = append(out, snapshot(versions)...)
	}
	slices.SortFunc(out, func(a, b *registry.Service) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return out, nil
}

// Watch implements [registry.Registry].
func (r *Registry) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	q := watch.New(ctx, registry.NewWatchOptions(opts...), func(q *watch.Queue) {
		r.mu.Lock()
		delete(r.watchers, q)
		r.mu.Unlock()
	})
	r.mu.Lock()
	r.watchers[q] = struct{}{}
	r.mu.Unlock()
	return q, nil
}

// snapshot copies every version of one service with its nodes, versions and
// nodes in a stable order.
func snapshot(versions map[string]*version) []*registry.Service {
	out := make([]*registry.Service, 0, len(versions))
	for _, v := range versions {
		s := v.service.Clone()
		for _, n := range v.nodes {
			s.Nodes = append(s.Nodes, n.node)
		}
		slices.SortFunc(s.Nodes, func(a, b *registry.Node) int { return cmp.Compare(a.ID, b.ID) })
		s = s.Clone()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *registry.Service) int { return cmp.Compare(a.Version, b.Version) })
	return out
}

func (r *Registry) removeLocked(name, ver string, v *version, id string) {
	n, ok := v.nodes[id]
	if !ok {
		return
	}
	if n.timer != nil {
		n.timer.Stop()
	}
	delete(v.nodes, id)
	if len(v.nodes) == 0 {
		delete(r.services[name], ver)
		if len(r.services[name]) == 0 {
			delete(r.services, name)
		}
	}
	r.notifyLocked(registry.EventDelete, v.service, n.node)
}

func (r *Registry) notifyLocked(typ registry.EventType, s *registry.Service, n *registry.Node) {
	if len(r.watchers) == 0 {
		return
	}
	for q := range r.watchers {
		event := s.Clone()
		event.Nodes = []*registry.Node{n}
		q.Push(&registry.Event{Type: typ, Service: event.Clone()})
	}
}
