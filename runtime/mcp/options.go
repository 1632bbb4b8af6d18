package mcp

import (
	"context"
	"log/slog"
	"time"

	"github.com/protomicro/micro/runtime/auth"
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
	verifier      auth.Verifier
	policy        *auth.Policy
	token         string
}

func newConfig(opts []Option) *config {
	c := &config{timeout: 30 * time.Second, responseLimit: 1 << 20, streamLimit: 100}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.policy == nil {
		c.policy = auth.NewPolicy(nil)
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
// may see and call a tool; ctx carries the caller's verified claims
// ([auth.FromContext]) when the server has a verifier ([WithAuth]). Tools it
// refuses are left out of the caller's list, and calling one is an error
// result with code permission_denied. It narrows what the access policy
// lets through, never widens it.
type Filter func(ctx context.Context, tool ToolInfo) bool

// WithFilter sets a policy of the program's own that decides which tools a
// caller sees and may call, on top of the services' access (see
// [WithAuth]). The default refuses nothing.
func WithFilter(f Filter) Option {
	return optionFunc(func(c *config) { c.filter = f })
}

// WithAuth sets how the server applies the access the services' protos
// declare (package [auth]) to the tools of the services that enforce it
// (registered with [auth.EnforcedMetadata], as micro.WithAuth does): a tool
// is listed to, and called for, only a caller the service would let call
// its method. The caller's token is its request's Authorization header,
// "Bearer <token>", over HTTP, and the token of [WithToken] on stdio.
//
// v verifies the token, as the services do, and opts are the options of
// their [auth.NewServerInterceptor] (the default access of methods that
// declare none, authenticated unless changed; the public procedures), which
// should be the services' own. With v nil (the default) the server cannot
// judge tokens: it lists a caller without a token only the public tools,
// and one with any token every tool, which the service then refuses or not.
// Either way the tool call carries the caller's token to the service, which
// enforces its access itself. Tools of services that do not enforce access
// are everyone's.
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) {
		c.verifier = v
		c.policy = auth.NewPolicy(v, opts...)
	})
}

// WithToken sets the bearer token of the caller on a transport that carries
// no HTTP headers, stdio: the server judges the caller by it ([WithAuth])
// and sends it as the authorization of every tool call. Over HTTP each
// request's own Authorization header counts, and a request without one has
// no token. The default is none.
func WithToken(token string) Option {
	return optionFunc(func(c *config) { c.token = token })
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
