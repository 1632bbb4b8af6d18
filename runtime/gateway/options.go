package gateway

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
)

// Option configures a [Gateway].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client        client.Client
	clientOptions []client.Option
	logger        *slog.Logger
	bodyLimit     int64
	timeout       time.Duration
	cors          *CORS
	tracer        trace.TracerProvider
	auth          *auth.Policy
	// transcodeAll and served are for tests (export_test.go): the one
	// sends every REST call through the transcoder, the other is called
	// for each the gateway serves itself.
	transcodeAll bool
	served       func()
}

func newConfig(opts []Option) *config {
	c := &config{bodyLimit: 4 << 20, timeout: 30 * time.Second}
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
// gateway's registry, which the gateway closes with itself and which sends
// the trace context of each request with its call; a client given here is
// the caller's to close (a micro.Service's client sends the trace context
// too).
func WithClient(c client.Client) Option {
	return optionFunc(func(cfg *config) { cfg.client = c })
}

// WithClientOptions adds opts to those of the client the gateway makes when
// [WithClient] gives none, after its own (the registry, and sending the
// trace context): client.WithTLS to call the services that serve TLS, or
// metrics.Metrics.ClientOptions to count the calls, for instance. By
// default there are none.
func WithClientOptions(opts ...client.Option) Option {
	return optionFunc(func(c *config) { c.clientOptions = append(c.clientOptions, opts...) })
}

// WithLogger sets where the gateway logs route changes, route conflicts and
// services whose schema it cannot read. The default discards them.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithBodyLimit sets the largest request body the gateway reads, and the
// largest message it buffers in either direction. A REST or Connect unary
// request with a larger body is answered 413. The default is 4 MiB.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.bodyLimit = min(n, 1<<32-1) // the transcoder counts in uint32
		}
	})
}

// WithTimeout sets the deadline of a call whose request names none (with
// grpc-timeout, Connect-Timeout-Ms or X-Server-Timeout). The default is 30
// seconds; zero or less means none. A request's own deadline is sent to the
// service (grpc-timeout); the default is not, for a unary call through the
// client the gateway makes: that client enforces it, as its safety net
// (client.WithDefaultTimeout, which a WithClientOptions replaces), and
// answers 504 when it passes. A client given with [WithClient] is sent the
// default as the call's deadline, and so is every stream.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// CORS is a cross-origin resource sharing policy: which web origins may call
// the gateway from a browser.
type CORS struct {
	// AllowedOrigins lists the origins allowed, "https://app.example.com", or
	// "*" for any.
	AllowedOrigins []string
	// AllowCredentials lets a browser send cookies and HTTP authentication.
	// It is ignored when AllowedOrigins is "*".
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight answer; 0 leaves it
	// to the browser.
	MaxAge time.Duration
}

// WithCORS answers browsers' cross-origin requests by policy. By default
// there is no CORS policy: browsers refuse cross-origin calls.
func WithCORS(policy CORS) Option {
	return optionFunc(func(c *config) { c.cors = &policy })
}

// WithTracerProvider records an OpenTelemetry server span in tp for every
// HTTP request (go.opentelemetry.io/contrib's otelhttp), a child of the
// caller's span when the request carries W3C trace context, and the parent
// of the call the gateway makes to the service. Without it the gateway
// records nothing, but still passes the trace context a request carries
// (traceparent, tracestate, baggage) on to the service.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

// WithAuth verifies each request's bearer token at the edge, by the access
// its method declares in the registry (registry.Endpoint.Access) and with
// the same rules as a service's [auth.NewServerInterceptor] given v and
// opts: a request without a valid token for a method that is not public is
// answered 401 with WWW-Authenticate, one whose token lacks a scope the
// method needs 403, and neither reaches the service. The service still
// checks what it is sent. The default is no check at the edge: the
// services decide alone.
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) { c.auth = auth.NewPolicy(v, opts...) })
}
