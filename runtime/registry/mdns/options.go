package mdns

import "time"

// Option configures a [Registry] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	service, domain string
	timeout, poll   time.Duration
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithServiceType sets the DNS-SD service type nodes are announced under,
// so that separate groups of services on one LAN do not see each other. The
// default is "_micro._tcp".
func WithServiceType(serviceType string) Option {
	return optionFunc(func(o *options) { o.service = serviceType })
}

// WithDomain sets the multicast DNS domain. The default is "local.".
func WithDomain(domain string) Option {
	return optionFunc(func(o *options) { o.domain = domain })
}

// WithQueryTimeout sets how long a lookup waits for answers. The default is
// 300ms; a busy or slow LAN may need more.
func WithQueryTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.timeout = d })
}

// WithPollInterval sets how often a watch asks the network again. The
// default is 1s.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *options) { o.poll = d })
}
