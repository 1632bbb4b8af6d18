package proxy

import (
	"log/slog"

	"github.com/protomicro/micro/runtime/client"
)

// Option configures a [Proxy].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client       client.Client
	logger       *slog.Logger
	messageLimit int
}

func newConfig(opts []Option) *config {
	c := &config{messageLimit: 4 << 20}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WithClient sets the client that calls the services, and reads their
// schemas through server reflection. The default is a [client.New] on the
// proxy's registry with no default timeout (the caller's deadline is the
// call's), which the proxy closes with itself; a client given here is the
// caller's to close.
func WithClient(c client.Client) Option {
	return optionFunc(func(cfg *config) { cfg.client = c })
}

// WithLogger sets where the proxy logs services that come and go,
// procedures two services claim, and registry failures. The default
// discards them.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithMessageLimit sets the largest message, in bytes, the proxy accepts
// from a caller; a larger one fails the call with ResourceExhausted. The
// default is 4 MiB, gRPC's own.
func WithMessageLimit(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.messageLimit = n
		}
	})
}
