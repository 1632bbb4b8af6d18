package server

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Server serves registered services. Generated code needs only Register;
// programs use the rest to run the server, or let the service entry point
// (micro.NewService) do it.
//
// A Server's methods are safe for concurrent use.
type Server interface {
	// Register adds a service. It fails if the descriptor is malformed, if a
	// service of the same name is registered, or once the server is serving.
	Register(desc *ServiceDesc, opts ...HandlerOption) error
	// Serve accepts connections on lis until Shutdown, then returns nil; it
	// returns an error if lis fails. It may be called for several listeners.
	Serve(lis net.Listener) error
	// Shutdown stops accepting calls and waits for those in flight to finish.
	// If ctx ends first, it cancels them, closes every connection and returns
	// ctx's error. Health checks report NOT_SERVING from the start of Shutdown.
	Shutdown(ctx context.Context) error
	// Services returns the registered services in registration order.
	Services() []*ServiceDesc
}

// New returns a [Server] whose engine is grpc-go. It serves grpc.health.v1 and
// server reflection unless told not to ([WithHealth], [WithReflection]), and
// accepts protobuf binary and protobuf JSON ("application/grpc+json").
// Interceptors given with [WithInterceptors] see health and reflection calls
// as well as those of registered services.
func New(opts ...Option) Server {
	c := newConfig(opts)
	// Let clients probe idle connections as often as micro's clients do
	// (every 10s); grpc-go's default would answer them with GOAWAY.
	keepalive := grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true})
	s := &grpcServer{config: c, grpc: grpc.NewServer(append([]grpc.ServerOption{keepalive}, c.grpcOptions...)...)}
	builtin := registrar{s}
	if c.health {
		s.health = health.NewServer()
		healthpb.RegisterHealthServer(builtin, s.health)
	}
	if c.reflection {
		reflection.Register(builtin)
	}
	return s
}

type grpcServer struct {
	*config
	grpc   *grpc.Server
	health *health.Server // nil when off

	mu       sync.Mutex
	serving  bool
	services []*ServiceDesc
}

func (s *grpcServer) Register(desc *ServiceDesc, opts ...HandlerOption) error {
	if err := desc.validate(); err != nil {
		return err
	}
	handlers := handlerConfig{interceptors: slices.Clone(s.interceptors)}
	for _, opt := range opts {
		opt.applyHandler(&handlers)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		return fmt.Errorf("register service %s: the server is already serving", desc.Name)
	}
	for _, known := range s.services {
		if known.Name == desc.Name {
			return fmt.Errorf("register service %s: already registered", desc.Name)
		}
	}
	gd := &grpc.ServiceDesc{
		ServiceName: desc.Name,
		HandlerType: (*any)(nil), // handlers are closures over the implementation
	}
	for _, m := range desc.Methods {
		spec := m.Spec()
		if spec.StreamType == rpc.Unary {
			gd.Methods = append(gd.Methods, grpc.MethodDesc{
				MethodName: spec.Method(),
				Handler:    s.unaryHandler(spec, m.newRequest, m.unary, handlers.interceptors),
			})
			continue
		}
		gd.Streams = append(gd.Streams, grpc.StreamDesc{
			StreamName:    spec.Method(),
			Handler:       s.streamHandler(spec, m.stream, handlers.interceptors),
			ServerStreams: spec.StreamType.IsServerStream(),
			ClientStreams: spec.StreamType.IsClientStream(),
		})
	}
	s.grpc.RegisterService(gd, struct{}{})
	s.services = append(s.services, desc)
	if s.health != nil {
		s.health.SetServingStatus(desc.Name, healthpb.HealthCheckResponse_SERVING)
	}
	return nil
}

// registrar registers the services micro serves without descriptors of its
// own (health, reflection) behind the server's interceptors, so a policy sees
// every call the server answers.
type registrar struct{ s *grpcServer }

func (r registrar) RegisterService(gd *grpc.ServiceDesc, impl any) {
	wrapped := *gd
	wrapped.Methods = slices.Clone(gd.Methods)
	wrapped.Streams = slices.Clone(gd.Streams)
	for i, m := range wrapped.Methods {
		spec := rpc.Spec{Procedure: "/" + gd.ServiceName + "/" + m.MethodName}
		wrapped.Methods[i].Handler = r.s.foreignUnaryHandler(spec, m.Handler)
	}
	for i, st := range wrapped.Streams {
		spec := rpc.Spec{Procedure: "/" + gd.ServiceName + "/" + st.StreamName, StreamType: streamType(st)}
		original := st.Handler
		handler := r.s.streamHandler(spec, func(ctx context.Context, conn rpc.HandlerConn) error {
			ss, _ := ctx.Value(grpcStreamKey{}).(grpc.ServerStream)
			return original(impl, &grpcServerStream{ServerStream: ss, conn: conn})
		}, r.s.interceptors)
		wrapped.Streams[i].Handler = func(impl any, ss grpc.ServerStream) error {
			return handler(impl, &contextStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), grpcStreamKey{}, ss)})
		}
	}
	r.s.grpc.RegisterService(&wrapped, impl)
}

func (r registrar) GetServiceInfo() map[string]grpc.ServiceInfo { return r.s.grpc.GetServiceInfo() }

func streamType(st grpc.StreamDesc) rpc.StreamType {
	switch {
	case st.ClientStreams && st.ServerStreams:
		return rpc.BidiStream
	case st.ClientStreams:
		return rpc.ClientStream
	}
	return rpc.ServerStream
}

func (s *grpcServer) Serve(lis net.Listener) error {
	s.mu.Lock()
	s.serving = true
	s.mu.Unlock()
	if err := s.grpc.Serve(lis); err != nil {
		return fmt.Errorf("serve on %s: %w", lis.Addr(), err)
	}
	return nil
}

func (s *grpcServer) Shutdown(ctx context.Context) error {
	if s.health != nil {
		s.health.Shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return fmt.Errorf("shutdown: calls still in flight were canceled: %w", ctx.Err())
	}
}

func (s *grpcServer) Services() []*ServiceDesc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.services)
}

// unaryHandler adapts a micro unary method to grpc-go. The interceptors are
// composed here, once per method. An interceptor given to grpc-go itself
// (grpc.UnaryInterceptor through WithGRPCOptions) runs outside them, for
// every method alike.
func (s *grpcServer) unaryHandler(spec rpc.Spec, newRequest func() any, h func(context.Context, any) (any, error), interceptors []rpc.Interceptor) grpcUnaryHandler {
	call := s.unaryCall(spec, interceptors)
	return func(_ any, ctx context.Context, decode func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		req := newRequest()
		if err := decode(req); err != nil {
			// grpc-go has already answered the caller with its own status.
			return nil, err
		}
		ctx = grpcwire.IncomingContext(ctx)
		if interceptor == nil {
			return call(ctx, req, h)
		}
		return interceptor(ctx, req, &grpc.UnaryServerInfo{FullMethod: spec.Procedure}, func(ctx context.Context, req any) (any, error) {
			return call(ctx, req, h)
		})
	}
}

type grpcUnaryHandler = func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error)

// foreignUnaryHandler puts the server's interceptors around a unary method of
// a service registered through grpc-go's own descriptors.
func (s *grpcServer) foreignUnaryHandler(spec rpc.Spec, original grpcUnaryHandler) grpcUnaryHandler {
	call := s.unaryCall(spec, s.interceptors)
	return func(impl any, ctx context.Context, decode func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		ctx = grpcwire.IncomingContext(ctx)
		return original(impl, ctx, decode, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			inner := func(ctx context.Context, req any) (any, error) { return call(ctx, req, next) }
			if interceptor == nil {
				return inner(ctx, req)
			}
			return interceptor(ctx, req, info, inner)
		})
	}
}

// unaryCall returns what runs one unary call of spec: the handler h given
// with each call (so that the chain is built once), inside interceptors,
// with panics recovered and the error turned into the caller's status.
func (s *grpcServer) unaryCall(spec rpc.Spec, interceptors []rpc.Interceptor) func(ctx context.Context, req any, h func(context.Context, any) (any, error)) (any, error) {
	if len(interceptors) == 0 {
		return func(ctx context.Context, req any, h func(context.Context, any) (any, error)) (res any, err error) {
			defer s.recoverInto(ctx, spec, &err)
			if res, err = h(ctx, req); err != nil {
				return nil, s.status(ctx, spec, err)
			}
			return res, nil
		}
	}
	chain := rpc.ChainUnary(func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		r, ok := req.(*request)
		if !ok {
			return nil, errors.Errorf(errors.CodeInternal, "%s: an interceptor passed on a request of type %T, not the one it was given", spec.Procedure, req)
		}
		res, err := r.handler(ctx, r.message)
		if err != nil {
			return nil, err
		}
		r.response.message = res
		return &r.response, nil
	}, interceptors)
	return func(ctx context.Context, req any, h func(context.Context, any) (any, error)) (_ any, err error) {
		defer s.recoverInto(ctx, spec, &err)
		res, err := chain(ctx, &request{spec: &spec, ctx: ctx, message: req, handler: h})
		if res != nil {
			header, trailer := responseMetadata(res)
			if len(header) > 0 {
				_ = grpc.SetHeader(ctx, grpcwire.MD(header)) // fails only once headers are sent, and then they are
			}
			if len(trailer) > 0 {
				_ = grpc.SetTrailer(ctx, grpcwire.MD(trailer))
			}
		}
		if err != nil {
			return nil, s.status(ctx, spec, err)
		}
		if res == nil {
			return nil, s.status(ctx, spec, errors.Errorf(errors.CodeInternal, "%s: an interceptor returned neither a response nor an error", spec.Procedure))
		}
		return res.Any(), nil
	}
}

// streamHandler adapts a streaming method, h, to grpc-go, inside
// interceptors composed here once.
func (s *grpcServer) streamHandler(spec rpc.Spec, h rpc.StreamingHandlerFunc, interceptors []rpc.Interceptor) grpc.StreamHandler {
	h = rpc.ChainStreamingHandler(h, interceptors)
	return func(_ any, ss grpc.ServerStream) (err error) {
		ctx := grpcwire.IncomingContext(ss.Context())
		defer s.recoverInto(ctx, spec, &err)
		if err := h(ctx, &handlerConn{spec: &spec, ctx: ctx, ss: ss}); err != nil {
			return s.status(ctx, spec, err)
		}
		return nil
	}
}

// recoverInto turns a panic of a handler or interceptor into the Internal
// status the caller gets, and logs it.
func (s *grpcServer) recoverInto(ctx context.Context, spec rpc.Spec, err *error) {
	if r := recover(); r != nil {
		s.logger.ErrorContext(ctx, "handler panicked", "procedure", spec.Procedure, "panic", r, "stack", string(debug.Stack()))
		*err = s.status(ctx, spec, errors.Errorf(errors.CodeInternal, "internal error: the handler panicked"))
	}
}

// status turns a handler's error into the status its caller gets, logging
// errors whose text is not meant for the caller.
func (s *grpcServer) status(ctx context.Context, spec rpc.Spec, err error) error {
	st, deliberate := grpcwire.Status(err)
	if !deliberate {
		s.logger.ErrorContext(ctx, "handler failed", "procedure", spec.Procedure, "error", err)
	}
	return st.Err()
}

// request is the [rpc.Request] of a unary call a server received, and holds
// its [rpc.Response] so that a call needs one allocation for both.
type request struct {
	spec     *rpc.Spec
	ctx      context.Context
	message  any
	handler  func(context.Context, any) (any, error)
	response response
}

func (r *request) Spec() rpc.Spec            { return *r.spec }
func (r *request) Peer() rpc.Peer            { return peerOf(r.ctx) }
func (r *request) Header() metadata.Metadata { return metadata.FromIncomingContext(r.ctx) }
func (r *request) Any() any                  { return r.message }

// response is the [rpc.Response] of a unary call a server answers; the
// header and trailer maps are made when an interceptor asks for them.
type response struct {
	message         any
	header, trailer metadata.Metadata
}

func (r *response) Header() metadata.Metadata {
	if r.header == nil {
		r.header = make(metadata.Metadata)
	}
	return r.header
}

func (r *response) Trailer() metadata.Metadata {
	if r.trailer == nil {
		r.trailer = make(metadata.Metadata)
	}
	return r.trailer
}

func (r *response) Any() any { return r.message }

// responseMetadata returns the header and trailer interceptors added to res.
// It reads the server's own response directly, because its Header and
// Trailer make the maps they return, which a call whose interceptors add
// nothing need not pay for.
func responseMetadata(res rpc.Response) (header, trailer metadata.Metadata) {
	if r, ok := res.(*response); ok {
		return r.header, r.trailer
	}
	return res.Header(), res.Trailer()
}

func peerOf(ctx context.Context) rpc.Peer {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return rpc.Peer{Addr: p.Addr.String()}
	}
	return rpc.Peer{}
}

// handlerConn is the [rpc.HandlerConn] of a streaming call served by grpc-go.
type handlerConn struct {
	spec *rpc.Spec
	ctx  context.Context
	ss   grpc.ServerStream
}

func (c *handlerConn) Spec() rpc.Spec            { return *c.spec }
func (c *handlerConn) Peer() rpc.Peer            { return peerOf(c.ctx) }
func (c *handlerConn) Context() context.Context  { return c.ctx }
func (c *handlerConn) Header() metadata.Metadata { return metadata.FromIncomingContext(c.ctx) }
func (c *handlerConn) SendMsg(m any) error       { return grpcwire.Error(c.ctx, c.ss.SendMsg(m)) }
func (c *handlerConn) RecvMsg(m any) error       { return grpcwire.Error(c.ctx, c.ss.RecvMsg(m)) }
func (c *handlerConn) SetHeader(md metadata.Metadata) error {
	return c.ss.SetHeader(grpcwire.MD(md))
}
func (c *handlerConn) SetTrailer(md metadata.Metadata) { c.ss.SetTrailer(grpcwire.MD(md)) }

// grpcStreamKey finds, under the server's interceptors, the grpc-go stream of
// a call to a service registered through grpc-go's own descriptors.
type grpcStreamKey struct{}

// contextStream is a grpc-go stream with another context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// grpcServerStream hands a grpc-go handler the stream as interceptors left
// it: messages go through conn, everything else to grpc-go's stream.
type grpcServerStream struct {
	grpc.ServerStream
	conn rpc.HandlerConn
}

func (s *grpcServerStream) Context() context.Context { return s.conn.Context() }
func (s *grpcServerStream) SendMsg(m any) error      { return s.conn.SendMsg(m) }
func (s *grpcServerStream) RecvMsg(m any) error      { return s.conn.RecvMsg(m) }

// SetHeader sets response headers of the call ctx belongs to, sent with the
// first response or by [SendHeader]; several calls merge. ctx must be the
// context a handler received.
func SetHeader(ctx context.Context, md metadata.Metadata) error {
	return grpc.SetHeader(ctx, grpcwire.MD(md))
}

// SendHeader sends response headers at once, merged with those set before.
func SendHeader(ctx context.Context, md metadata.Metadata) error {
	return grpc.SendHeader(ctx, grpcwire.MD(md))
}

// SetTrailer sets response trailers, sent when the handler returns; several
// calls merge.
func SetTrailer(ctx context.Context, md metadata.Metadata) error {
	return grpc.SetTrailer(ctx, grpcwire.MD(md))
}
