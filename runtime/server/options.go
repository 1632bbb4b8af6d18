package server

import (
	"log/slog"

	"google.golang.org/grpc"
)

// Option configures a [Server] built by [New].
type Option interface {
	applyServer(*config)
}

// HandlerOption configures the handlers of one service, given when it is
// registered.
type HandlerOption interface {
	applyHandler(*handlerConfig)
}

type config struct {
	logger      *slog.Logger
	reflection  bool
	health      bool
	grpcOptions []grpc.ServerOption
	handlerConfig
}

type handlerConfig struct {
	unary  []UnaryMiddleware
	stream []StreamMiddleware
}

func newConfig(opts []Option) *config {
	c := &config{logger: slog.Default(), reflection: true, health: true}
	for _, opt := range opts {
		opt.applyServer(c)
	}
	return c
}

type serverOptionFunc func(*config)

func (f serverOptionFunc) applyServer(c *config) { f(c) }

// WithLogger sets where the server logs handler errors that are not
// [errors.Error]s and recovered panics. The default is [slog.Default] at the
// time [New] is called.
//
// [errors.Error]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#Error
func WithLogger(logger *slog.Logger) Option {
	return serverOptionFunc(func(c *config) { c.logger = logger })
}

// WithReflection turns gRPC server reflection (v1 and v1alpha), which lets
// grpcurl and micro describe services without their protos, on or off. It is
// on by default.
func WithReflection(enabled bool) Option {
	return serverOptionFunc(func(c *config) { c.reflection = enabled })
}

// WithHealth turns the grpc.health.v1 service on or off. It is on by default:
// every registered service reports SERVING while the server serves and
// NOT_SERVING once it shuts down.
func WithHealth(enabled bool) Option {
	return serverOptionFunc(func(c *config) { c.health = enabled })
}

// WithGRPCOptions passes options to the underlying grpc.Server, for what micro
// does not wrap (TLS credentials, keepalive, message size limits). By default
// there are none.
func WithGRPCOptions(opts ...grpc.ServerOption) Option {
	return serverOptionFunc(func(c *config) { c.grpcOptions = append(c.grpcOptions, opts...) })
}

// MiddlewareOption is both an [Option], applying middleware to every service
// of a server, and a [HandlerOption], applying it to one service.
type MiddlewareOption interface {
	Option
	HandlerOption
}

type middlewareOption handlerConfig

func (m middlewareOption) applyServer(c *config) { m.applyHandler(&c.handlerConfig) }

func (m middlewareOption) applyHandler(c *handlerConfig) {
	c.unary = append(c.unary, m.unary...)
	c.stream = append(c.stream, m.stream...)
}

// WithUnaryMiddleware wraps unary handlers in middleware, the first given
// outermost. Server-wide middleware runs outside a service's own. By default
// there is none.
func WithUnaryMiddleware(middleware ...UnaryMiddleware) MiddlewareOption {
	return middlewareOption{unary: middleware}
}

// WithStreamMiddleware wraps streaming handlers in middleware, the first
// given outermost. Server-wide middleware runs outside a service's own. By
// default there is none.
func WithStreamMiddleware(middleware ...StreamMiddleware) MiddlewareOption {
	return middlewareOption{stream: middleware}
}
