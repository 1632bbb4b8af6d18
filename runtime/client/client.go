package client

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	grpcmetadata "google.golang.org/grpc/metadata"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/cache"
	"github.com/protomicro/micro/runtime/rpc"
)

// Client calls procedures of services found by name. Generated clients use
// Invoke and NewStream through [Method]; programs that lack the proto can
// call them directly with [codec.JSON] and raw JSON messages.
//
// A Client is safe for concurrent use, and meant to be shared: it keeps one
// pool of connections per service.
//
// [codec.JSON]: https://pkg.go.dev/github.com/protomicro/micro/runtime/codec#JSON
type Client interface {
	// Invoke calls a unary procedure of the named service: it sends req and
	// decodes the reply into res, both pointers to messages.
	Invoke(ctx context.Context, service string, spec rpc.Spec, req, res any, opts ...CallOption) error
	// NewStream opens a stream to a streaming procedure of the named service.
	// The stream ends when ctx is done.
	NewStream(ctx context.Context, service string, spec rpc.Spec, opts ...CallOption) (Stream, error)
	// Close closes every connection. Calls in flight fail with
	// [errors.CodeCanceled]; calls made after Close fail at once.
	//
	// [errors.CodeCanceled]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeCanceled
	Close() error
}

// ErrClosed is wrapped by errors from calls made after [Client.Close].
var ErrClosed = stderrors.New("client is closed")

// New returns a [Client] whose engine is grpc-go. Give it [WithRegistry] to
// find services by name, or [WithAddress] to call fixed addresses.
func New(opts ...Option) Client {
	c := &grpcClient{config: newConfig(opts), conns: make(map[target]*grpc.ClientConn)}
	if reg := c.config.registry; reg != nil {
		if cached, ok := reg.(*cache.Cache); ok {
			c.registry = cached
		} else {
			c.registry = cache.New(reg, cache.WithLogger(c.config.logger))
			c.ownCache = true
		}
	}
	if c.config.timeout > 0 {
		c.net = newSafetyNet(c.config.timeout)
	}
	c.unary = rpc.ChainUnary(c.invoke, c.config.interceptors)
	c.readsResponse = rpc.ReadsResponseMetadata(c.config.interceptors)
	c.streamer = rpc.ChainStreamingClient(c.newStream, c.config.interceptors)
	return c
}

type grpcClient struct {
	config   *config
	registry *cache.Cache            // the configured registry behind a cache, or nil
	ownCache bool                    // the cache was made here, and is closed with the client
	net      *safetyNet              // the default timeout, or nil
	unary    rpc.UnaryFunc           // invoke inside the interceptors
	streamer rpc.StreamingClientFunc // newStream inside the interceptors
	// readsResponse says an interceptor reads unary responses' metadata,
	// which every unary call then copies out of grpc-go.
	readsResponse bool

	mu     sync.RWMutex
	closed bool
	conns  map[target]*grpc.ClientConn
}

// target is what a connection pool is opened to: a service looked up in the
// registry, or a list of addresses.
type target struct {
	service   string
	addresses string // comma-separated; when set, service is ignored
}

// String returns the grpc-go target of t, in one of the client's resolver
// schemes.
func (t target) String() string {
	if t.addresses != "" {
		return staticScheme + ":///" + t.addresses
	}
	return registryScheme + ":///" + url.PathEscape(t.service)
}

func (c *grpcClient) Invoke(ctx context.Context, service string, spec rpc.Spec, req, res any, opts ...CallOption) error {
	r := c.newRequest(ctx, service, spec, opts)
	r.message, r.response.message = req, res
	_, err := c.unary(ctx, r)
	return err
}

func (c *grpcClient) NewStream(ctx context.Context, service string, spec rpc.Spec, opts ...CallOption) (Stream, error) {
	return c.streamer(ctx, c.newRequest(ctx, service, spec, opts))
}

// newRequest describes a call from the client's defaults and opts.
func (c *grpcClient) newRequest(ctx context.Context, service string, spec rpc.Spec, opts []CallOption) *request {
	r := &request{call: call{service: service, spec: spec, addresses: c.config.addresses, codec: c.config.codec, retry: c.config.retry}}
	for _, opt := range opts {
		opt.applyCall(&r.call)
	}
	r.header, r.headerOwned = c.headers(ctx, &r.call)
	return r
}

// ours returns the request the client made, which an interceptor must pass on
// (changed, perhaps, but not replaced).
func ours(req rpc.Request) (*request, error) {
	if r, ok := req.(*request); ok {
		return r, nil
	}
	return nil, errors.Errorf(errors.CodeInternal, "%s: an interceptor passed on a request of type %T, not the one it was given", req.Spec().Procedure, req)
}

// invoke is the unary call itself, inside all interceptors.
func (c *grpcClient) invoke(ctx context.Context, req rpc.Request) (rpc.Response, error) {
	r, err := ours(req)
	if err != nil {
		return nil, err
	}
	conn, err := c.conn(ctx, &r.call)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	} else if !ok && c.net != nil {
		// The default timeout is a safety net the client enforces itself
		// (see safetyNet), not a deadline sent to the server.
		ctx = c.net.bound(ctx, &r.net)
		defer c.net.release(&r.net)
	}
	ctx = grpcwire.OutgoingContext(ctx, r.header)
	opts := c.callOptions(r)
	for attempt := 1; ; attempt++ {
		// Always through grpc-go's Invoke: a stream of the call's own would
		// read header, trailer and peer only when asked, but grpc-go watches
		// every stream that is not one of its own unary calls with a
		// goroutine, which costs a call more than the copies do.
		err := grpcwire.Error(ctx, conn.Invoke(ctx, r.spec.Procedure, r.message, r.response.message, opts...))
		if err != nil { // the cause is looked up under the context's lock: not on success
			if cause, ok := stderrors.AsType[defaultTimeout](context.Cause(ctx)); ok {
				return nil, errors.New(errors.CodeDeadlineExceeded, cause)
			}
		}
		if err == nil || attempt >= r.retry.MaxAttempts || !retryable(&r.call, err) || !r.retry.backoff(ctx, attempt) {
			if r.responseHeader != nil {
				*r.responseHeader = r.response.Header()
			}
			if r.responseTrailer != nil {
				*r.responseTrailer = r.response.Trailer()
			}
			if err != nil {
				return nil, err
			}
			return &r.response, nil
		}
	}
}

// newStream opens the stream itself, inside all interceptors.
func (c *grpcClient) newStream(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
	r, err := ours(req)
	if err != nil {
		return nil, err
	}
	conn, err := c.conn(ctx, &r.call)
	if err != nil {
		return nil, err
	}
	// The stream's context is canceled when the stream ends, which releases
	// its timer, or by the caller.
	var cancel context.CancelFunc
	if r.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	ctx = grpcwire.OutgoingContext(ctx, r.header)
	desc := &grpc.StreamDesc{
		StreamName:    r.spec.Method(),
		ServerStreams: r.spec.StreamType.IsServerStream(),
		ClientStreams: r.spec.StreamType.IsClientStream(),
	}
	opts := codecOptions(r.codec)
	cs, err := conn.NewStream(ctx, desc, r.spec.Procedure, opts...)
	if err != nil {
		cancel()
		return nil, grpcwire.Error(ctx, err)
	}
	return &grpcStream{spec: r.spec, ctx: ctx, cancel: cancel, cs: cs, serverStreams: desc.ServerStreams}, nil
}

// codecOptions returns grpc-go's options for encoding messages with cc:
// none for protobuf binary, which is grpc-go's default. A codec of another
// type is forced even when it is named "proto", so that a caller can pass
// messages it holds already encoded (the gateway does).
func codecOptions(cc codec.Codec) []grpc.CallOption {
	if _, isProto := cc.(codec.Proto); cc == nil || isProto {
		return nil
	}
	return []grpc.CallOption{grpc.ForceCodecV2(grpcwire.CodecV2(cc))}
}

// callOptions returns grpc-go's options for a unary call: the codec, and
// where to put the response's header and trailer when the caller or an
// interceptor reads them (grpc-go copies them: see
// rpc.ResponseMetadataReader), and the peer when interceptors may want it
// (a copy of a struct, free).
func (c *grpcClient) callOptions(r *request) []grpc.CallOption {
	opts := r.callOptions[:0] // no allocation: r is on the heap already
	if _, isProto := r.codec.(codec.Proto); r.codec != nil && !isProto {
		opts = append(opts, grpc.ForceCodecV2(grpcwire.CodecV2(r.codec)))
	}
	if c.readsResponse || r.responseHeader != nil {
		opts = append(opts, grpc.Header((*grpcmetadata.MD)(&r.response.header)))
	}
	if c.readsResponse || r.responseTrailer != nil {
		opts = append(opts, grpc.Trailer((*grpcmetadata.MD)(&r.response.trailer)))
	}
	if len(c.config.interceptors) > 0 {
		opts = append(opts, grpc.Peer(&r.peer))
	}
	return opts
}

// conn returns the connection pool for the call's target, opening it on first
// use. A service the registry does not know fails with NotFound.
func (c *grpcClient) conn(ctx context.Context, call *call) (*grpc.ClientConn, error) {
	var t target
	switch {
	case len(call.addresses) > 0:
		t.addresses = strings.Join(call.addresses, ",")
	case c.registry != nil:
		t.service = call.service
	default:
		return nil, errors.Errorf(errors.CodeFailedPrecondition,
			"call %s on %q: the client has no registry and no address (use client.WithRegistry or client.WithAddress)",
			call.spec.Procedure, call.service)
	}
	c.mu.RLock()
	conn, ok := c.conns[t]
	closed := c.closed
	c.mu.RUnlock()
	if ok {
		return conn, nil
	}
	if closed {
		return nil, errors.New(errors.CodeCanceled, fmt.Errorf("call %s on %q: %w", call.spec.Procedure, call.service, ErrClosed))
	}
	if len(call.addresses) == 0 {
		if _, err := c.registry.GetService(ctx, call.service); err != nil {
			if stderrors.Is(err, registry.ErrNotFound) {
				return nil, errors.Errorf(errors.CodeNotFound, "service %q is not registered in the %s registry", call.service, c.registry)
			}
			return nil, errors.Errorf(errors.CodeUnavailable, "look up service %q: %w", call.service, err)
		}
	}
	return c.open(t)
}

func (c *grpcClient) open(t target) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[t]; ok {
		return conn, nil
	}
	if c.closed {
		return nil, errors.New(errors.CodeCanceled, ErrClosed)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(newNodeCredentials(c.config.tls)),
		grpc.WithResolvers(&registryBuilder{registry: c.registry, logger: c.config.logger}, staticBuilder{}),
		grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig": [{%q: {}}]}`, c.config.balancer)),
		// Probe idle connections, so that a node that stopped answering is
		// found out and skipped; servers made by server.New allow it.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
	}
	if c.config.dialer != nil {
		opts = append(opts, grpc.WithContextDialer(c.config.dialer))
	}
	opts = append(opts, c.config.grpcOptions...)
	conn, err := grpc.NewClient(t.String(), opts...)
	if err != nil {
		return nil, errors.Errorf(errors.CodeInvalidArgument, "connect to %s: %w", t, err)
	}
	c.conns[t] = conn
	return conn, nil
}

func (c *grpcClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for t, conn := range c.conns {
		if err := conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close connection to %s: %w", t, err))
		}
		delete(c.conns, t)
	}
	if c.ownCache { // after the connections, whose resolvers watch it
		errs = append(errs, c.registry.Close())
	}
	return stderrors.Join(errs...)
}
