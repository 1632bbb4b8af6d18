package mcp

import (
	"context"
	"log/slog"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/rpc"
)

// Option configures a [Server].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client        client.Client
	logger        *slog.Logger
	timeout       time.Duration
	responseLimit int
	streamLimit   int
	filter        Filter
}

func newConfig(opts []Option) *config {
	c := &config{timeout: 30 * time.Second, responseLimit: 1 << 20, streamLimit: 100}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ToolInfo is what a [Filter] knows of a tool: the method it calls and who
// the proto says may call it.
type ToolInfo struct {
	// Name is the tool's name, "greeter_Hello".
	Name string
	// Service is the registry name of the service called, "greeter".
	Service string
	// Spec is the method's procedure, stream type and idempotency.
	Spec rpc.Spec
	// Access is who may call the method, from micro's proto options; nil
	// when the proto declares none.
	Access *rpc.Access
}

// Filter reports whether the caller of a request, whose context ctx is,
// may see and call a tool. Tools it refuses are left out of the caller's
// list, and calling one is an error result with code permission_denied.
type Filter func(ctx context.Context, tool ToolInfo) bool

// WithFilter sets the policy that decides which tools a caller sees and may
// call. The default lists and calls every tool, a method whose access is not
// public included: there is no authentication yet, and the service itself
// decides whom it answers.
func WithFilter(f Filter) Option {
	return optionFunc(func(c *config) { c.filter = f })
}

// WithClient sets the client that calls the services, and reads their
// schemas through server reflection. The default is a [client.New] on the
// server's registry, which the server closes with itself; a client given
// here is the caller's to close.
func WithClient(c client.Client) Option {
	return optionFunc(func(cfg *config) { cfg.client = c })
}

// WithLogger sets where the server logs tools that come and go and services
// whose schema it cannot read. The default discards them.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithTimeout sets the deadline of one tool call. The default is 30
// seconds; zero or less means none.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithResponseLimit sets the largest response a tool call returns, in bytes
// of its JSON; a larger one is an error result with code resource_exhausted,
// so that one call cannot flood the model's context. The default is 1 MiB.
func WithResponseLimit(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.responseLimit = n
		}
	})
}

// WithStreamLimit sets how many responses a call of a server-streaming
// method collects; the result says whether the service had more, and the
// stream is canceled. The default is 100.
func WithStreamLimit(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.streamLimit = n
		}
	})
}
