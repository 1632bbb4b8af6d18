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
func New(opts ...Option) Server {
	c := newConfig(opts)
	// Let clients probe idle connections as often as micro's clients do
	// (every 10s); grpc-go's default would answer them with GOAWAY.
	keepalive := grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true})
	s := &grpcServer{config: c, grpc: grpc.NewServer(append([]grpc.ServerOption{keepalive}, c.grpcOptions...)...)}
	if c.health {
		s.health = health.NewServer()
		healthpb.RegisterHealthServer(s.grpc, s.health)
	}
	if c.reflection {
		reflection.Register(s.grpc)
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
	handlers := handlerConfig{
		unary:  slices.Clone(s.unary),
		stream: slices.Clone(s.stream),
	}
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
				Handler:    s.unaryHandler(m, chain(spec, m.unary, handlers.unary)),
			})
			continue
		}
		gd.Streams = append(gd.Streams, grpc.StreamDesc{
			StreamName:    spec.Method(),
			Handler:       s.streamHandler(spec, chain(spec, m.stream, handlers.stream)),
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

// unaryHandler adapts h, the method's handler wrapped in middleware, to grpc-go.
func (s *grpcServer) unaryHandler(m *MethodDesc, h UnaryHandler) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	spec := m.Spec()
	return func(_ any, ctx context.Context, decode func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		req := m.newRequest()
		if err := decode(req); err != nil {
			// grpc-go has already answered the caller with its own status.
			return nil, err
		}
		ctx = grpcwire.IncomingContext(ctx)
		res, err := s.callUnary(ctx, spec, h, req)
		if err != nil {
			return nil, s.status(ctx, spec, err)
		}
		return res, nil
	}
}

func (s *grpcServer) callUnary(ctx context.Context, spec rpc.Spec, h UnaryHandler, req any) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(ctx, spec, r)
		}
	}()
	return h(ctx, req)
}

// streamHandler adapts h, the method's handler wrapped in middleware, to grpc-go.
func (s *grpcServer) streamHandler(spec rpc.Spec, h StreamHandler) grpc.StreamHandler {
	return func(_ any, ss grpc.ServerStream) error {
		ctx := grpcwire.IncomingContext(ss.Context())
		if err := s.callStream(ctx, spec, h, &grpcStream{ctx: ctx, ss: ss}); err != nil {
			return s.status(ctx, spec, err)
		}
		return nil
	}
}

func (s *grpcServer) callStream(ctx context.Context, spec rpc.Spec, h StreamHandler, stream Stream) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(ctx, spec, r)
		}
	}()
	return h(ctx, stream)
}

// recovered logs a handler panic and returns what the caller is told.
func (s *grpcServer) recovered(ctx context.Context, spec rpc.Spec, r any) error {
	s.logger.ErrorContext(ctx, "handler panicked", "procedure", spec.Procedure, "panic", r, "stack", string(debug.Stack()))
	return errors.Errorf(errors.CodeInternal, "internal error: the handler panicked")
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

// grpcStream is the [Stream] of a call served by grpc-go.
type grpcStream struct {
	ctx context.Context
	ss  grpc.ServerStream
}

func (s *grpcStream) Context() context.Context { return s.ctx }

func (s *grpcStream) SendMsg(m any) error { return grpcwire.Error(s.ctx, s.ss.SendMsg(m)) }

func (s *grpcStream) RecvMsg(m any) error { return grpcwire.Error(s.ctx, s.ss.RecvMsg(m)) }

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
