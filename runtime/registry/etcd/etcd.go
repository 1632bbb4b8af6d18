// Package etcd is a [registry.Registry] kept in etcd, for services spread
// over many hosts. Each node is one key holding its registration as JSON,
// under a prefix ("/micro/registry/" by default); a node registered with a
// TTL holds its key through an etcd lease that each registration renews, so a
// node that dies without deregistering vanishes when its lease expires.
// Watches are etcd watches: changes arrive as soon as etcd commits them.
package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// Registry is a registry in etcd. It is safe for concurrent use; Close it
// when done.
type Registry struct {
	client    *clientv3.Client
	ownClient bool
	prefix    string

	mu     sync.Mutex
	leases map[string]lease // by key, for the nodes this process registered with a TTL
}

// lease is the lease holding one node's key, and the value last put there.
type lease struct {
	id    clientv3.LeaseID
	ttl   int64
	value []byte
}

var _ registry.Registry = (*Registry)(nil)

// New connects to etcd. Connecting is lazy: an unreachable etcd shows in the
// first operation's error, not here.
func New(opts ...Option) (*Registry, error) {
	o := options{
		endpoints:   []string{"127.0.0.1:2379"},
		prefix:      "/micro/registry/",
		dialTimeout: 5 * time.Second,
	}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if !strings.HasSuffix(o.prefix, "/") {
		o.prefix += "/"
	}
	r := &Registry{client: o.client, prefix: o.prefix, leases: make(map[string]lease)}
	if r.client == nil {
		client, err := clientv3.New(clientv3.Config{
			Endpoints:   o.endpoints,
			DialTimeout: o.dialTimeout,
			Username:    o.username,
			Password:    o.password,
			TLS:         o.tls,
			Logger:      zap.NewNop(), // errors reach callers; the client's own log is noise
		})
		if err != nil {
			return nil, fmt.Errorf("etcd registry at %s: %w", strings.Join(o.endpoints, ","), err)
		}
		r.client, r.ownClient = client, true
	}
	return r, nil
}

// String returns "etcd".
func (r *Registry) String() string { return "etcd" }

// Close closes the connection to etcd if New made it. Registrations with a
// TTL lapse when their leases expire.
func (r *Registry) Close() error {
	if r.ownClient {
		return r.client.Close()
	}
	return nil
}

// Register implements [registry.Registry]. Registering a node again with the
// same content renews its lease and writes nothing.
func (r *Registry) Register(ctx context.Context, s *registry.Service, opts ...registry.RegisterOption) error {
	if err := s.Validate(); err != nil {
		return err
	}
	o := registry.NewRegisterOptions(opts...)
	for _, n := range s.Nodes {
		one := s.Clone()
		one.Nodes = []*registry.Node{n}
		value, err := json.Marshal(one)
		if err != nil {
			return fmt.Errorf("register service %q: %w", s.Name, err)
		}
		if err := r.put(ctx, r.key(s.Name, s.Version, n.ID), value, o.TTL); err != nil {
			return fmt.Errorf("register service %q node %q in etcd: %w", s.Name, n.ID, err)
		}
	}
	return nil
}

// put stores value at key, under a lease of ttl when ttl is positive.
func (r *Registry) put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		_, err := r.client.Put(ctx, key, string(value))
		return err
	}
	seconds := int64(max(1, (ttl+time.Second-1)/time.Second)) // etcd counts leases in whole seconds
	r.mu.Lock()
	held, ok := r.leases[key]
	r.mu.Unlock()
	if ok && held.ttl == seconds {
		_, err := r.client.KeepAliveOnce(ctx, held.id)
		switch {
		case err == nil && bytes.Equal(held.value, value):
			return nil // a heartbeat: the lease is renewed and the value is current
		case err == nil:
			if _, err := r.client.Put(ctx, key, string(value), clientv3.WithLease(held.id)); err != nil {
				return err
			}
			r.remember(key, lease{id: held.id, ttl: seconds, value: value})
			return nil
		case !errors.Is(err, rpctypes.ErrLeaseNotFound):
			return err
		}
		// The lease expired (a long pause, or etcd lost it): start over.
	}
	granted, err := r.client.Grant(ctx, seconds)
	if err != nil {
		return err
	}
	if _, err := r.client.Put(ctx, key, string(value), clientv3.WithLease(granted.ID)); err != nil {
		return err
	}
	r.remember(key, lease{id: granted.ID, ttl: seconds, value: value})
	if ok {
		_, _ = r.client.Revoke(ctx, held.id) // a lease of another TTL, now unused
	}
	return nil
}

func (r *Registry) remember(key string, l lease) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.leases[key] = l
}

// Deregister implements [registry.Registry].
func (r *Registry) Deregister(ctx context.Context, s *registry.Service) error {
	if s == nil || s.Name == "" {
		return fmt.Errorf("deregister: service has no name")
	}
	for _, n := range s.Nodes {
		key := r.key(s.Name, s.Version, n.ID)
		if _, err := r.client.Delete(ctx, key); err != nil {
			return fmt.Errorf("deregister service %q node %q from etcd: %w", s.Name, n.ID, err)
		}
		r.mu.Lock()
		held, ok := r.leases[key]
		delete(r.leases, key)
		r.mu.Unlock()
		if ok {
			_, _ = r.client.Revoke(ctx, held.id) // the key is gone already; this only tidies
		}
	}
	return nil
}

// GetService implements [registry.Registry].
func (r *Registry) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	nodes, err := r.get(ctx, r.prefix+escape(name)+"/")
	if err != nil {
		return nil, fmt.Errorf("get service %q from etcd: %w", name, err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("get service %q: %w", name, registry.ErrNotFound)
	}
	return registry.Group(nodes), nil
}

// ListServices implements [registry.Registry].
func (r *Registry) ListServices(ctx context.Context) ([]*registry.Service, error) {
	nodes, err := r.get(ctx, r.prefix)
	if err != nil {
		return nil, fmt.Errorf("list services from etcd: %w", err)
	}
	return registry.Group(nodes), nil
}

// get returns the nodes stored under prefix, one single-node service each.
func (r *Registry) get(ctx context.Context, prefix string) ([]*registry.Service, error) {
	res, err := r.client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	nodes := make([]*registry.Service, 0, len(res.Kvs))
	for _, kv := range res.Kvs {
		if s := decode(kv.Value); s != nil {
			nodes = append(nodes, s)
		}
	}
	return nodes, nil
}

// decode reads a node's value, or returns nil for one that is not ours.
func decode(value []byte) *registry.Service {
	s := new(registry.Service)
	if json.Unmarshal(value, s) != nil || s.Name == "" || len(s.Nodes) != 1 {
		return nil
	}
	return s
}

// Watch implements [registry.Registry] with an etcd watch. If etcd ends the
// watch (it compacted the revisions the watch needed, say), Next reports why.
func (r *Registry) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	o := registry.NewWatchOptions(opts...)
	prefix := r.prefix
	if o.Service != "" {
		prefix += escape(o.Service) + "/"
	}
	q := watch.New(ctx, o, nil)
	// Start from the current revision, so that the watch sees every change
	// after Watch returns.
	res, err := r.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		q.Stop()
		return nil, fmt.Errorf("watch etcd: %w", err)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	changes := r.client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(res.Header.Revision+1))
	go func() {
		defer cancel()
		for {
			select {
			case <-q.Done():
				return
			case res, ok := <-changes:
				if !ok {
					q.Fail(errors.New("etcd closed the watch"))
					return
				}
				if err := res.Err(); err != nil {
					q.Fail(err)
					return
				}
				for _, e := range res.Events {
					if event := convert(e); event != nil {
						q.Push(event)
					}
				}
			}
		}
	}()
	return q, nil
}

// convert turns an etcd event into a registry event, or nil for a change
// that is not a node's.
func convert(e *clientv3.Event) *registry.Event {
	switch {
	case e.Type == clientv3.EventTypeDelete:
		if e.PrevKv == nil {
			return nil
		}
		if s := decode(e.PrevKv.Value); s != nil {
			return &registry.Event{Type: registry.EventDelete, Service: s}
		}
	case e.IsCreate():
		if s := decode(e.Kv.Value); s != nil {
			return &registry.Event{Type: registry.EventCreate, Service: s}
		}
	default:
		if e.PrevKv != nil && bytes.Equal(e.PrevKv.Value, e.Kv.Value) {
			return nil
		}
		if s := decode(e.Kv.Value); s != nil {
			return &registry.Event{Type: registry.EventUpdate, Service: s}
		}
	}
	return nil
}

// key is the etcd key of one node.
func (r *Registry) key(name, version, id string) string {
	return r.prefix + escape(name) + "/" + escape(version) + "@" + escape(id)
}

// escape keeps '/' and '@' out of key segments, so that one service's prefix
// never matches another's keys.
func escape(s string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F", "@", "%40").Replace(s)
}
