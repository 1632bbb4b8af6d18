package client

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// DefaultTimeout bounds a unary call whose context has no deadline, unless
// [WithDefaultTimeout] says otherwise.
const DefaultTimeout = 5 * time.Second

// Option configures a [Client] built by [New].
type Option interface {
	applyClient(*config)
}

// CallOption configures one call, or every call of a [Method] when given to
// [NewMethod].
type CallOption interface {
	applyCall(*call)
}

// ClientCallOption is both an [Option], setting a default for every call of
// a client, and a [CallOption], setting it for one call.
type ClientCallOption interface {
	Option
	CallOption
}

type config struct {
	registry     registry.Registry
	balancer     Balancer
	retry        RetryPolicy
	addresses    []string
	timeout      time.Duration
	codec        codec.Codec
	logger       *slog.Logger
	dialer       func(context.Context, string) (net.Conn, error)
	grpcOptions  []grpc.DialOption
	interceptors []rpc.Interceptor
	propagate    []string                         // lower-case header keys copied from incoming to outgoing
	tls          credentials.TransportCredentials // from WithTLS, or nil
}

func newConfig(opts []Option) *config {
	c := &config{timeout: DefaultTimeout, logger: slog.Default(), balancer: RoundRobin, retry: DefaultRetryPolicy()}
	for _, opt := range opts {
		opt.applyClient(c)
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) applyClient(c *config) { f(c) }

type callOptionFunc func(*call)

func (f callOptionFunc) applyCall(c *call) { f(c) }

type dualOption struct {
	client func(*config)
	call   func(*call)
}

func (o dualOption) applyClient(c *config) { o.client(c) }
func (o dualOption) applyCall(c *call)     { o.call(c) }

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

// WithAddress sends calls to fixed addresses ("host:port", or
// "tls://host:port" for a node that speaks TLS, see [WithTLS]) instead of
// looking the service up, balancing round robin when there are several. Given to
// [New] it applies to every call; given to a call, to that call.
func WithAddress(addresses ...string) ClientCallOption {
	addresses = slices.Clone(addresses)
	return dualOption{
		client: func(c *config) { c.addresses = addresses },
		call:   func(c *call) { c.addresses = addresses },
	}
}

// WithTimeout sets a call's deadline: the call ends with
// [errors.CodeDeadlineExceeded] once it passes, or the context's deadline
// does, whichever is first. The deadline is sent: the server sees it and the
// calls its handler makes with its context inherit it. Zero leaves the
// context's deadline alone.
//
// [errors.CodeDeadlineExceeded]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeDeadlineExceeded
func WithTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *call) { c.timeout = d })
}

// WithDefaultTimeout sets the client's safety net for unary calls whose
// context has no deadline and that set no [WithTimeout]: the client cancels
// such a call with [errors.CodeDeadlineExceeded] once d has passed (calls
// share timers, so it may be up to a thirty-second of d later). It is not
// sent to the server, which would cost a timer and a header at both ends of
// every call. Streams, which may rightly last for hours, are bounded only by
// their context. The default is [DefaultTimeout]; zero turns it off.
//
// [errors.CodeDeadlineExceeded]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeDeadlineExceeded
func WithDefaultTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithCodec sets how messages are encoded. The default is protobuf binary;
// [codec.JSON] sends protobuf JSON ("application/grpc+json"), which every
// micro server accepts.
func WithCodec(cc codec.Codec) ClientCallOption {
	return dualOption{
		client: func(c *config) { c.codec = cc },
		call:   func(c *call) { c.codec = cc },
	}
}

// WithHeaders adds key/value pairs to the headers sent with a call, on top
// of the outgoing metadata of the call's context
// (metadata.NewOutgoingContext). It panics if pairs has an odd length.
func WithHeaders(pairs ...string) CallOption {
	md := metadata.New(pairs...)
	return callOptionFunc(func(c *call) {
		if c.header == nil {
			c.header = make(metadata.Metadata, len(md))
		}
		for key, values := range md {
			c.header.Append(key, values...)
		}
	})
}

// WithResponseHeader makes a unary call store the response headers its
// server sent in *md once the call returns (nil if none came). Streams have
// Header instead.
func WithResponseHeader(md *metadata.Metadata) CallOption {
	return callOptionFunc(func(c *call) { c.responseHeader = md })
}

// WithResponseTrailer makes a unary call store the response trailers its
// server sent in *md once the call returns, failed or not. Streams have
// Trailer instead.
func WithResponseTrailer(md *metadata.Metadata) CallOption {
	return callOptionFunc(func(c *call) { c.responseTrailer = md })
}

// WithPropagatedHeaders names headers that a call made with a handler's
// context forwards from the handler's incoming metadata, such as
// "x-request-id"; a header the call sets itself wins. Nothing else a caller
// sent is forwarded, and credentials never are: keys for which
// [metadata.IsCredential] holds (authorization, cookie, ...) are ignored
// here. To forward a credential on purpose, put it on the outgoing context.
// Deadlines always propagate, through the context. By default no header is
// propagated.
func WithPropagatedHeaders(keys ...string) Option {
	return optionFunc(func(c *config) {
		for _, key := range keys {
			if key = strings.ToLower(key); !metadata.IsCredential(key) && !slices.Contains(c.propagate, key) {
				c.propagate = append(c.propagate, key)
			}
		}
	})
}

// WithIdempotency declares the procedure's side effects, which decide whether
// a failed call may be retried. Generated code sets it from the proto's
// idempotency_level; the default is [rpc.IdempotencyUnknown].
func WithIdempotency(level rpc.Idempotency) CallOption {
	return callOptionFunc(func(c *call) { c.spec.Idempotency = level })
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

// WithInterceptors wraps every call, unary or streaming, in interceptors,
// the first given outermost; they are composed once, here. An interceptor
// sees one logical call: retries and the default timeout happen inside it.
// By default there are none.
func WithInterceptors(interceptors ...rpc.Interceptor) Option {
	return optionFunc(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}
