package etcd

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Option configures a [Source] made by [New].
type Option interface {
	apply(*options)
}

type options struct {
	endpoints []string
	prefix    string
	timeout   time.Duration
	client    *clientv3.Client
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithEndpoints sets the etcd endpoints, "10.0.0.1:2379". The default is
// 127.0.0.1:2379.
func WithEndpoints(endpoints ...string) Option {
	return optionFunc(func(o *options) { o.endpoints = endpoints })
}

// WithPrefix sets the key prefix the configuration lives under. The default
// is "/micro/config/".
func WithPrefix(prefix string) Option {
	return optionFunc(func(o *options) { o.prefix = prefix })
}

// WithTimeout bounds connecting to etcd and each read. The default is 5s.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.timeout = d })
}

// WithClient uses an etcd client the program made (for credentials or TLS,
// say), instead of connecting; [WithEndpoints] is then ignored, and Close
// leaves the client open.
func WithClient(client *clientv3.Client) Option {
	return optionFunc(func(o *options) { o.client = client })
}
