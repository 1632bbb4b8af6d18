package etcd

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Option configures a [Sync] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	endpoints   []string
	prefix      string
	dialTimeout time.Duration
	ttl         time.Duration
	client      *clientv3.Client
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithEndpoints sets the etcd endpoints, "10.0.0.1:2379". The default is
// 127.0.0.1:2379.
func WithEndpoints(endpoints ...string) Option {
	return optionFunc(func(o *options) { o.endpoints = endpoints })
}

// WithPrefix sets the key prefix the locks and elections live under, so that
// several programs can share one etcd without sharing locks. The default is
// "/micro/sync/".
func WithPrefix(prefix string) Option {
	return optionFunc(func(o *options) { o.prefix = prefix })
}

// WithDialTimeout bounds how long [New] may take to reach etcd. The default
// is 5s.
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.dialTimeout = d })
}

// WithTTL sets the TTL of locks and elections that do not ask for one with
// [sync.WithTTL]: how long they outlive a process that died or lost touch
// with etcd. etcd counts it in whole seconds, rounding up. The default is
// 10s.
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(o *options) {
		if ttl > 0 {
			o.ttl = ttl
		}
	})
}

// WithClient uses an etcd client the program made, for TLS or
// authentication, say, instead of connecting; the endpoints and dial timeout
// are then ignored, and Close leaves the client open.
func WithClient(client *clientv3.Client) Option {
	return optionFunc(func(o *options) { o.client = client })
}
