package registry

import "time"

// RegisterOption configures one [Registry.Register] call.
type RegisterOption interface {
	applyRegister(*RegisterOptions)
}

// RegisterOptions is what the [RegisterOption]s of a call add up to. Backends
// read it with [NewRegisterOptions].
type RegisterOptions struct {
	// TTL is how long the node stays registered without being registered
	// again; zero means until deregistered.
	TTL time.Duration
}

// NewRegisterOptions applies opts in order. Used by backends.
func NewRegisterOptions(opts ...RegisterOption) RegisterOptions {
	var o RegisterOptions
	for _, opt := range opts {
		opt.applyRegister(&o)
	}
	return o
}

type ttlOption time.Duration

func (t ttlOption) applyRegister(o *RegisterOptions) { o.TTL = time.Duration(t) }

// WithTTL makes the registered nodes expire unless registered again within
// ttl. By default a node stays until it is deregistered.
func WithTTL(ttl time.Duration) RegisterOption { return ttlOption(ttl) }

// WatchOption configures one [Registry.Watch] call.
type WatchOption interface {
	applyWatch(*WatchOptions)
}

// WatchOptions is what the [WatchOption]s of a call add up to. Backends read it
// with [NewWatchOptions].
type WatchOptions struct {
	// Service limits the watch to one service name; "" watches all.
	Service string
}

// NewWatchOptions applies opts in order. Used by backends.
func NewWatchOptions(opts ...WatchOption) WatchOptions {
	var o WatchOptions
	for _, opt := range opts {
		opt.applyWatch(&o)
	}
	return o
}

type watchServiceOption string

func (s watchServiceOption) applyWatch(o *WatchOptions) { o.Service = string(s) }

// WatchService limits a watch to the named service. By default a watch sees
// every service.
func WatchService(name string) WatchOption { return watchServiceOption(name) }
