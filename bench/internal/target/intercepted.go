package target

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/rpc"
	microserver "github.com/protomicro/micro/runtime/server"
)

// The intercepted targets measure what installing an interceptor costs: one
// on the server and one on the client, each doing the least a real one does
// (look at the procedure called, and count the call), written once for micro
// (an [rpc.Interceptor]) and once for grpc-go (its unary and stream
// interceptors). They run unary workloads only, which is where the issue set
// a goal for them.
var interceptedNotMeasured = map[string]string{
	"stream": "the interceptor goal is on unary calls; make bench measures the intercepted targets only there, to keep its run short",
	"chat":   "the interceptor goal is on unary calls; make bench measures the intercepted targets only there, to keep its run short",
}

// MicroIntercepted is [Micro] with a [callCounter] installed on both sides,
// through server.WithInterceptors and client.WithInterceptors.
func MicroIntercepted() Target {
	return Target{
		Name:  "micro-intercepted",
		About: "micro, with one interceptor on each side (server.WithInterceptors, client.WithInterceptors) that reads the procedure and counts the call",
		Serve: func(addr string) (Server, error) {
			return serveMicro(serviceName+"-intercepted", addr, microserver.WithInterceptors(microCounter{new(callCounter)}))
		},
		Dial: func(addr string) (Client, error) {
			c, err := microClient(addr, client.WithInterceptors(microCounter{new(callCounter)}))
			return dialMicro(serviceName+"-intercepted", c), err
		},
		NotMeasured: interceptedNotMeasured,
	}
}

// GRPCIntercepted is [GRPC] with a [callCounter] installed on both sides,
// through grpc.UnaryInterceptor and grpc.StreamInterceptor on the server and
// grpc.WithUnaryInterceptor and grpc.WithStreamInterceptor on the client: the
// baseline of the interceptor goal.
func GRPCIntercepted() Target {
	return Target{
		Name:  "grpc-go-intercepted",
		About: "grpc-go, with one interceptor on each side (grpc.UnaryInterceptor, grpc.WithUnaryInterceptor, and their stream counterparts) that reads the method and counts the call",
		Serve: func(addr string) (Server, error) {
			counter := new(callCounter)
			return serveGRPC(addr,
				grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
					counter.count(info.FullMethod)
					return handler(ctx, req)
				}),
				grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
					counter.count(info.FullMethod)
					return handler(srv, ss)
				}),
			)
		},
		Dial: func(addr string) (Client, error) {
			counter := new(callCounter)
			return dialGRPC(addr,
				grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
					counter.count(method)
					return invoker(ctx, method, req, reply, cc, opts...)
				}),
				grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
					counter.count(method)
					return streamer(ctx, desc, cc, method, opts...)
				}),
			)
		},
		NotMeasured: interceptedNotMeasured,
	}
}

// healthCheck is the procedure of gRPC health checks, which a call counter
// typically leaves out.
const healthCheck = "/grpc.health.v1.Health/Check"

// callCounter counts the calls of one process, health checks excepted: the
// work of the intercepted targets' interceptors, the same on both
// frameworks.
type callCounter struct {
	calls atomic.Int64
}

func (c *callCounter) count(procedure string) {
	if procedure != healthCheck {
		c.calls.Add(1)
	}
}

// microCounter is a [callCounter] as micro's [rpc.Interceptor].
type microCounter struct {
	*callCounter
}

func (c microCounter) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		c.count(req.Spec().Procedure)
		return next(ctx, req)
	}
}

func (c microCounter) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
		c.count(req.Spec().Procedure)
		return next(ctx, req)
	}
}

func (c microCounter) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return func(ctx context.Context, conn rpc.HandlerConn) error {
		c.count(conn.Spec().Procedure)
		return next(ctx, conn)
	}
}
