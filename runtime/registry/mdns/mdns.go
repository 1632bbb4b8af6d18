// Package mdns is a [registry.Registry] for a LAN without infrastructure:
// every node answers multicast DNS (DNS-SD) queries for itself, and lookups
// ask the network who is there. A node that dies stops answering and so
// drops out of lookups at once; a node registered with a TTL and not renewed
// stops answering when the TTL passes.
//
// It needs a network interface with multicast, which containers, VPNs and
// some clouds lack: there, use the local registry on one host or etcd across
// hosts. A node's registration travels in TXT records; one too large for a
// DNS message loses its endpoints, which tools can read through server
// reflection instead.
package mdns

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// Registry is a registry on multicast DNS. It is safe for concurrent use;
// Close it to stop answering for the nodes it registered.
type Registry struct {
	service string // the DNS-SD service type, "_micro._tcp"
	domain  string
	timeout time.Duration
	poll    time.Duration
	logger  *log.Logger

	mu    sync.Mutex
	nodes map[string]*responder // by instance name
}

// responder answers queries for one registered node.
type responder struct {
	server *mdns.Server
	txt    []string
	expiry *time.Timer // nil without a TTL
}

var _ registry.Registry = (*Registry)(nil)

// maxTXT bounds the encoded registration of one node: with its other records
// it must fit in one multicast DNS message (9000 bytes).
const maxTXT = 6000

// New returns a registry for the LAN. It opens no socket until a node is
// registered or looked up.
func New(opts ...Option) *Registry {
	o := options{service: "_micro._tcp", domain: "local.", timeout: 300 * time.Millisecond, poll: time.Second}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return &Registry{
		service: o.service,
		domain:  o.domain,
		timeout: o.timeout,
		poll:    o.poll,
		logger:  log.New(io.Discard, "", 0), // failures reach callers as errors
		nodes:   make(map[string]*responder),
	}
}

// String returns "mdns".
func (r *Registry) String() string { return "mdns" }

// Close stops answering for every node registered through r.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, n := range r.nodes {
		r.stopLocked(name, n)
	}
	return nil
}

// Register implements [registry.Registry]. Registering a node again with
// the same content only renews its TTL.
func (r *Registry) Register(ctx context.Context, s *registry.Service, opts ...registry.RegisterOption) error {
	if err := s.Validate(); err != nil {
		return err
	}
	o := registry.NewRegisterOptions(opts...)
	for _, n := range s.Nodes {
		if err := r.register(s, n, o.TTL); err != nil {
			return fmt.Errorf("register service %q node %q over mdns: %w", s.Name, n.ID, err)
		}
	}
	return nil
}

func (r *Registry) register(s *registry.Service, n *registry.Node, ttl time.Duration) error {
	one := s.Clone()
	one.Nodes = []*registry.Node{n}
	txt, err := encode(one)
	if err != nil {
		return err
	}
	instance := instanceName(s.Name, s.Version, n.ID)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.nodes[instance]
	if old == nil || !slices.Equal(old.txt, txt) {
		host, port, err := splitAddress(n.Address)
		if err != nil {
			return err
		}
		zone, err := mdns.NewMDNSService(instance, r.service, r.domain, instance+"."+r.domain, port, []net.IP{host}, txt)
		if err != nil {
			return err
		}
		server, err := mdns.NewServer(&mdns.Config{Zone: zone, Logger: r.logger})
		if err != nil {
			return fmt.Errorf("multicast unavailable: %w", err)
		}
		if old != nil {
			r.stopLocked(instance, old)
		}
		old = &responder{server: server, txt: txt}
		r.nodes[instance] = old
	}
	if old.expiry != nil {
		old.expiry.Stop()
		old.expiry = nil
	}
	if ttl > 0 {
		current := old
		old.expiry = time.AfterFunc(ttl, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.nodes[instance] == current {
				r.stopLocked(instance, current)
			}
		})
	}
	return nil
}

func (r *Registry) stopLocked(instance string, n *responder) {
	if n.expiry != nil {
		n.expiry.Stop()
	}
	_ = n.server.Shutdown()
	delete(r.nodes, instance)
}

// Deregister implements [registry.Registry]: the nodes stop answering.
func (r *Registry) Deregister(ctx context.Context, s *registry.Service) error {
	if s == nil || s.Name == "" {
		return fmt.Errorf("deregister: service has no name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range s.Nodes {
		instance := instanceName(s.Name, s.Version, n.ID)
		if old, ok := r.nodes[instance]; ok {
			r.stopLocked(instance, old)
		}
	}
	return nil
}

// GetService implements [registry.Registry] by asking the network, which
// takes the query timeout.
func (r *Registry) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	nodes, err := r.query(ctx)
	if err != nil {
		return nil, fmt.Errorf("get service %q over mdns: %w", name, err)
	}
	nodes = slices.DeleteFunc(nodes, func(s *registry.Service) bool { return s.Name != name })
	if len(nodes) == 0 {
		return nil, fmt.Errorf("get service %q: %w", name, registry.ErrNotFound)
	}
	return registry.Group(nodes), nil
}

// ListServices implements [registry.Registry] by asking the network.
func (r *Registry) ListServices(ctx context.Context) ([]*registry.Service, error) {
	nodes, err := r.query(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services over mdns: %w", err)
	}
	return registry.Group(nodes), nil
}

// query returns every node that answers within the timeout, one
// single-node service each.
func (r *Registry) query(ctx context.Context) ([]*registry.Service, error) {
	// hashicorp/mdns goes on writing to an entry after handing it over (its
	// issue #131), so entries are only collected here and read once the
	// query has returned.
	entries := make(chan *mdns.ServiceEntry, 64)
	var received []*mdns.ServiceEntry
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for e := range entries {
			received = append(received, e)
		}
	}()
	err := mdns.QueryContext(ctx, &mdns.QueryParam{
		Service:     r.service,
		Domain:      r.domain,
		Timeout:     r.timeout,
		Entries:     entries,
		DisableIPv6: true,
		Logger:      r.logger,
	})
	close(entries)
	<-collected
	if err != nil {
		return nil, err
	}
	var nodes []*registry.Service
	seen := make(map[string]bool)
	for _, e := range received {
		if s := decode(e.InfoFields); s != nil && !seen[e.Name] {
			seen[e.Name] = true
			nodes = append(nodes, s)
		}
	}
	return nodes, nil
}

// missedPolls is how many polls in a row a node must fail to answer before
// a watch reports it gone: multicast answers get lost now and then.
const missedPolls = 3

// Watch implements [registry.Registry] by asking the network every poll
// interval (1s by default) and reporting the differences. A node is reported
// gone once it has not answered three polls in a row.
func (r *Registry) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	o := registry.NewWatchOptions(opts...)
	q := watch.New(ctx, o, nil)
	known, err := r.snapshot(ctx)
	if err != nil {
		q.Stop()
		return nil, fmt.Errorf("watch over mdns: %w", err)
	}
	missed := make(map[string]int)
	go func() {
		ticker := time.NewTicker(r.poll)
		defer ticker.Stop()
		for {
			select {
			case <-q.Done():
				return
			case <-ticker.C:
			}
			current, err := r.snapshot(ctx)
			if err != nil {
				continue // the next poll tries again
			}
			for key, s := range known {
				if _, ok := current[key]; ok {
					delete(missed, key)
				} else if missed[key]++; missed[key] < missedPolls {
					current[key] = s // not gone yet
				}
			}
			for _, e := range diff(known, current) {
				if e.Type == registry.EventDelete {
					delete(missed, instanceName(e.Service.Name, e.Service.Version, e.Service.Nodes[0].ID))
				}
				q.Push(e)
			}
			known = current
		}
	}()
	return q, nil
}

// snapshot returns the nodes on the network by instance, as their encoded
// registrations.
func (r *Registry) snapshot(ctx context.Context) (map[string]*registry.Service, error) {
	nodes, err := r.query(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*registry.Service, len(nodes))
	for _, s := range nodes {
		out[instanceName(s.Name, s.Version, s.Nodes[0].ID)] = s
	}
	return out, nil
}

// diff returns the events that turn before into after, in a stable order.
func diff(before, after map[string]*registry.Service) []*registry.Event {
	var events []*registry.Event
	for _, key := range sortedKeys(after) {
		s := after[key]
		old, ok := before[key]
		switch {
		case !ok:
			events = append(events, &registry.Event{Type: registry.EventCreate, Service: s})
		case !same(old, s):
			events = append(events, &registry.Event{Type: registry.EventUpdate, Service: s})
		}
	}
	for _, key := range sortedKeys(before) {
		if _, ok := after[key]; !ok {
			events = append(events, &registry.Event{Type: registry.EventDelete, Service: before[key]})
		}
	}
	return events
}

func same(a, b *registry.Service) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func sortedKeys(m map[string]*registry.Service) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// encode writes a single-node registration as TXT strings: its JSON in
// base64, in pieces a TXT string can hold. A registration too large for a
// DNS message loses its endpoints.
func encode(s *registry.Service) ([]string, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodedLen(len(data)) > maxTXT && len(s.Endpoints) > 0 {
		s = s.Clone()
		s.Endpoints = nil
		return encode(s)
	}
	text := base64.StdEncoding.EncodeToString(data)
	if len(text) > maxTXT {
		return nil, fmt.Errorf("registration of %d bytes is too large for multicast DNS even without endpoints", len(data))
	}
	var txt []string
	for len(text) > 0 {
		n := min(len(text), 250)
		txt = append(txt, text[:n])
		text = text[n:]
	}
	return txt, nil
}

// decode reads what encode wrote, or returns nil for records that are not
// a registration.
func decode(txt []string) *registry.Service {
	data, err := base64.StdEncoding.DecodeString(strings.Join(txt, ""))
	if err != nil {
		return nil
	}
	s := new(registry.Service)
	if json.Unmarshal(data, s) != nil || s.Name == "" || len(s.Nodes) != 1 {
		return nil
	}
	return s
}

// instanceName is a DNS label naming one node of one service version.
func instanceName(name, version, id string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + version + "\x00" + id))
	return "n" + hex.EncodeToString(sum[:16])
}

// splitAddress parses a node's address for its A and SRV records.
func splitAddress(address string) (net.IP, int, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, 0, fmt.Errorf("node address %q: %w", address, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, 0, fmt.Errorf("node address %q: bad port", address)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return nil, 0, fmt.Errorf("node address %q: cannot resolve its host", address)
		}
		ip = ips[0]
	}
	return ip, port, nil
}
