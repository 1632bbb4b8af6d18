// Package etcd is a [config.Source] of the keys under a prefix in etcd,
// watched, for configuration shared by the services of many hosts. A key
// under the prefix is a dotted config key, its slashes read as dots
// (/micro/config/db/host sets db.host), and its value is a string, which
// decoding converts to the type of the field it fills.
//
// It is a package of its own so that programs that do not use etcd do not
// link its client.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/knadh/koanf/maps"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/protomicro/micro/runtime/config"
)

// Source reads configuration from etcd. It is safe for concurrent use;
// Close it when done ([config.Config.Close] does).
type Source struct {
	client    *clientv3.Client
	ownClient bool
	address   string
	prefix    string
	timeout   time.Duration
	failed    atomic.Bool // the last load failed: retry while watching
}

var (
	_ config.Source  = (*Source)(nil)
	_ config.Watcher = (*Source)(nil)
)

// New returns a source of the keys under a prefix in etcd. Connecting is
// lazy: an unreachable etcd is an error of the first load or watch, naming
// the address, as [config.New] returns it.
func New(opts ...Option) (*Source, error) {
	o := options{endpoints: []string{"127.0.0.1:2379"}, prefix: "/micro/config/", timeout: 5 * time.Second}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if !strings.HasSuffix(o.prefix, "/") {
		o.prefix += "/"
	}
	s := &Source{client: o.client, prefix: o.prefix, timeout: o.timeout, address: strings.Join(o.endpoints, ",")}
	if s.client == nil {
		client, err := clientv3.New(clientv3.Config{
			Endpoints:   o.endpoints,
			DialTimeout: o.timeout,
			Logger:      zap.NewNop(), // errors reach callers; the client's own log is noise
		})
		if err != nil {
			return nil, fmt.Errorf("etcd config at %s: %w", s.address, err)
		}
		s.client, s.ownClient = client, true
	} else {
		s.address = strings.Join(s.client.Endpoints(), ",")
	}
	return s, nil
}

// String returns "etcd ADDRESS PREFIX".
func (s *Source) String() string { return "etcd " + s.address + " " + s.prefix }

// Load reads every key under the prefix.
func (s *Source) Load(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		s.failed.Store(true)
		return nil, fmt.Errorf("get: %w", err)
	}
	s.failed.Store(false)
	flat := make(map[string]any, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		key := strings.Trim(strings.TrimPrefix(string(kv.Key), s.prefix), "/")
		if key != "" {
			flat[strings.ReplaceAll(key, "/", ".")] = string(kv.Value)
		}
	}
	return maps.Unflatten(flat, "."), nil
}

// retry is how often a watching source loads again after a failed load,
// keeping the last good configuration meanwhile.
const retry = time.Second

// Watch watches the prefix. While etcd is unreachable the etcd client keeps
// trying, and a failed load is tried again every second.
func (s *Source) Watch(ctx context.Context, changed func()) (<-chan struct{}, error) {
	ctx = clientv3.WithRequireLeader(ctx)
	events, cancel, err := s.watch(ctx)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { cancel() }()
		ticker := time.NewTicker(retry)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if events == nil { // watching again failed: try again
					if events, cancel, err = s.watch(ctx); err != nil {
						continue
					}
					changed()
				} else if s.failed.Load() {
					changed()
				}
			case resp, ok := <-events:
				if ok && resp.Err() == nil {
					if len(resp.Events) > 0 {
						changed()
					}
					continue
				}
				// The watch ended (compacted, or the leader was lost): watch
				// again, and load, in case a change was missed.
				cancel()
				if events, cancel, err = s.watch(ctx); err != nil {
					s.failed.Store(true) // the ticker tries again
				}
				changed()
			}
		}
	}()
	return done, nil
}

// watch starts a watch of the prefix and waits until etcd confirms it; the
// watch lasts until cancel is called. When it fails, events is nil and
// cancel does nothing.
func (s *Source) watch(ctx context.Context) (events clientv3.WatchChan, cancel context.CancelFunc, err error) {
	ctx, cancel = context.WithCancel(ctx)
	fail := func(err error) (clientv3.WatchChan, context.CancelFunc, error) {
		cancel()
		return nil, func() {}, fmt.Errorf("watch: %w", err)
	}
	// Watch itself blocks while etcd cannot be reached: bound it.
	started := make(chan clientv3.WatchChan, 1)
	go func() {
		started <- s.client.Watch(ctx, s.prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	}()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case events = <-started:
	case <-timer.C:
		return fail(fmt.Errorf("no answer within %s", s.timeout))
	}
	select {
	case resp, ok := <-events:
		if !ok {
			return fail(errors.Join(errors.New("watch closed"), ctx.Err()))
		}
		if err := resp.Err(); err != nil {
			return fail(err)
		}
		return events, cancel, nil
	case <-timer.C:
		return fail(fmt.Errorf("no answer within %s", s.timeout))
	}
}

// Close closes the connection to etcd, unless it came from [WithClient].
func (s *Source) Close() error {
	if s.ownClient {
		return s.client.Close()
	}
	return nil
}
