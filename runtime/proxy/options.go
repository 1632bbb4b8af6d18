package proxy

import (
	"log/slog"

	"github.com/protomicro/micro/runtime/auth"
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
	auth         *auth.Policy
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

// WithAuth verifies each call's bearer token (its "authorization"
// metadata) before forwarding it, by the access its method declares in the
// registry (registry.Endpoint.Access) and with the same rules as a
// service's [auth.NewServerInterceptor] given v and opts: a call the
// policy refuses fails with Unauthenticated or PermissionDenied without
// reaching the service, which still checks what it is sent. Health checks
// and reflection, which the proxy answers itself, stay open. The default
// is no check: the services decide alone.
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) { c.auth = auth.NewPolicy(v, opts...) })
}
