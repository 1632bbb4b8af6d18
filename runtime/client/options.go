package client

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"time"

	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// DefaultTimeout bounds a unary call whose context has no deadline, unless
// [WithTimeout] given to [New] says otherwise.
const DefaultTimeout = 5 * time.Second

// Option configures a [Client] built by [New].
type Option interface {
	applyClient(*config)
}

// CallOption configures one call, or every call of a [Method] when given to
// [NewMethod].
type CallOption interface {
	applyCall(*Call)
}

// ClientCallOption is both an [Option], setting a default for every call of
// a client, and a [CallOption], setting it for one call.
type ClientCallOption interface {
	Option
	CallOption
}

type config struct {
	registry    registry.Registry
	balancer    Balancer
	retry       RetryPolicy
	addresses   []string
	timeout     time.Duration
	codec       codec.Codec
	logger      *slog.Logger
	dialer      func(context.Context, string) (net.Conn, error)
	grpcOptions []grpc.DialOption
	unary       []UnaryMiddleware
	stream      []StreamMiddleware
}

func newConfig(opts []Option) *config {
	c := &config{timeout: DefaultTimeout, logger: slog.Default(), balancer: RoundRobin, retry: DefaultRetryPolicy}
	for _, opt := range opts {
		opt.applyClient(c)
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) applyClient(c *config) { f(c) }

type callOptionFunc func(*Call)

func (f callOptionFunc) applyCall(c *Call) { f(c) }

type dualOption struct {
	client func(*config)
	call   func(*Call)
}

func (o dualOption) applyClient(c *config) { o.client(c) }
func (o dualOption) applyCall(c *Call)     { o.call(c) }

// WithRegistry sets the registry service names are looked up in. The client
// keeps what it looked up in a cache that one watch of the registry keeps
// current, so calls cost no round trip to the registry. A client with neither
// a registry nor [WithAddress] fails every call with an error saying so;
// micro.NewService supplies the default registry.
func WithRegistry(r registry.Registry) Option {
	return optionFunc(func(c *config) { c.registry = r })
}

// WithBalancer sets how calls are spread across the nodes of a service. The
// default is [RoundRobin].
func WithBalancer(b Balancer) Option {
	return optionFunc(func(c *config) { c.balancer = b })
}

// WithAddress sends calls to fixed addresses ("host:port") instead of looking
// the service up, balancing round robin when there are several. Given to
// [New] it applies to every call; given to a call, to that call.
func WithAddress(addresses ...string) ClientCallOption {
	addresses = slices.Clone(addresses)
	return dualOption{
		client: func(c *config) { c.addresses = addresses },
		call:   func(c *Call) { c.Addresses = addresses },
	}
}

// WithTimeout bounds calls: each ends with [errors.CodeDeadlineExceeded] once
// the timeout or the context's deadline passes, whichever is first.
//
// Given to a call, it sets the call's deadline, which the server sees and
// passes on to the calls it makes. Given to [New], it is a safety net for
// unary calls whose context has no deadline, [DefaultTimeout] unless set: the
// client cancels such a call when the timeout passes, without telling the
// server a deadline, which would cost a timer and a header at both ends of
// every call. Streams, which may rightly last for hours, are bounded only by
// their context unless a call gives WithTimeout itself. Zero means no timeout.
//
// [errors.CodeDeadlineExceeded]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeDeadlineExceeded
func WithTimeout(d time.Duration) ClientCallOption {
	return dualOption{
		client: func(c *config) { c.timeout = d },
		call:   func(c *Call) { c.Timeout = d },
	}
}

// WithCodec sets how messages are encoded. The default is protobuf binary;
// [codec.JSON] sends protobuf JSON ("application/grpc+json"), which every
// micro server accepts.
func WithCodec(cc codec.Codec) ClientCallOption {
	return dualOption{
		client: func(c *config) { c.codec = cc },
		call:   func(c *Call) { c.Codec = cc },
	}
}

// WithMetadata adds key/value pairs to the metadata sent with a call, on top
// of the metadata in the call's context. It panics if pairs has an odd length.
func WithMetadata(pairs ...string) CallOption {
	md := metadata.New(pairs...)
	return callOptionFunc(func(c *Call) {
		if c.Metadata == nil {
			c.Metadata = make(metadata.Metadata, len(md))
		}
		for key, values := range md {
			c.Metadata.Append(key, values...)
		}
	})
}

// WithIdempotency declares the procedure's side effects, which decide whether
// a failed call may be retried. Generated code sets it from the proto's
// idempotency_level; the default is [rpc.IdempotencyUnknown].
func WithIdempotency(level rpc.Idempotency) CallOption {
	return callOptionFunc(func(c *Call) { c.Spec.Idempotency = level })
}

// WithLogger sets where the client logs what it cannot return to a caller,
// such as a registry watch that failed. The default is [slog.Default] at the
// time [New] is called.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithContextDialer sets how connections are made, for tests that serve on
// an in-memory listener or programs that dial through a proxy. The default
// dials TCP.
func WithContextDialer(dial func(ctx context.Context, address string) (net.Conn, error)) Option {
	return optionFunc(func(c *config) { c.dialer = dial })
}

// WithGRPCOptions passes options to every grpc.ClientConn the client opens,
// for what micro does not wrap (TLS credentials, keepalive). Connections are
// plaintext HTTP/2 unless these options say otherwise.
func WithGRPCOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) { c.grpcOptions = append(c.grpcOptions, opts...) })
}

// WithUnaryMiddleware wraps every unary call in middleware, the first given
// outermost. By default there is none.
func WithUnaryMiddleware(middleware ...UnaryMiddleware) Option {
	return optionFunc(func(c *config) { c.unary = append(c.unary, middleware...) })
}

// WithStreamMiddleware wraps the opening of every stream in middleware, the
// first given outermost. By default there is none.
func WithStreamMiddleware(middleware ...StreamMiddleware) Option {
	return optionFunc(func(c *config) { c.stream = append(c.stream, middleware...) })
}
