package etcd

import (
	"crypto/tls"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Option configures a [Registry] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	endpoints          []string
	prefix             string
	dialTimeout        time.Duration
	username, password string
	tls                *tls.Config
	client             *clientv3.Client
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithEndpoints sets the etcd endpoints, "10.0.0.1:2379". The default is
// 127.0.0.1:2379.
func WithEndpoints(endpoints ...string) Option {
	return optionFunc(func(o *options) { o.endpoints = endpoints })
}

// WithPrefix sets the key prefix the registry lives under, so that several
// registries can share one etcd. The default is "/micro/registry/".
func WithPrefix(prefix string) Option {
	return optionFunc(func(o *options) { o.prefix = prefix })
}

// WithDialTimeout bounds how long connecting to etcd may take. The default
// is 5s.
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.dialTimeout = d })
}

// WithCredentials authenticates to etcd as username. By default the registry
// does not authenticate.
func WithCredentials(username, password string) Option {
	return optionFunc(func(o *options) { o.username, o.password = username, password })
}

// WithTLS connects to etcd over TLS. By default the connection is plaintext.
func WithTLS(config *tls.Config) Option {
	return optionFunc(func(o *options) { o.tls = config })
}

// WithClient uses an etcd client the program made, instead of connecting; the
// other connection options are then ignored, and Close leaves the client open.
func WithClient(client *clientv3.Client) Option {
	return optionFunc(func(o *options) { o.client = client })
}
