package server

import (
	"log/slog"

	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/rpc"
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
	interceptors []rpc.Interceptor
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
// there are none. grpc-go's own interceptors (grpc.UnaryInterceptor,
// grpc.StreamInterceptor and their Chain forms) run for every method, micro's
// and health's alike, outside the interceptors of [WithInterceptors].
func WithGRPCOptions(opts ...grpc.ServerOption) Option {
	return serverOptionFunc(func(c *config) { c.grpcOptions = append(c.grpcOptions, opts...) })
}

// InterceptorOption is both an [Option], applying interceptors to every
// method of a server (health and reflection included), and a
// [HandlerOption], applying them to the methods of one service.
type InterceptorOption interface {
	Option
	HandlerOption
}

type interceptorOption []rpc.Interceptor

func (o interceptorOption) applyServer(c *config) { o.applyHandler(&c.handlerConfig) }

func (o interceptorOption) applyHandler(c *handlerConfig) {
	c.interceptors = append(c.interceptors, o...)
}

// WithInterceptors wraps calls in interceptors, the first given outermost;
// each is composed once per method, when its service is registered. Given to
// [New] they wrap every method the server serves, grpc.health.v1 and server
// reflection included, outside a service's own; given to Register, the
// methods of that service. By default there are none.
func WithInterceptors(interceptors ...rpc.Interceptor) InterceptorOption {
	return interceptorOption(interceptors)
}
