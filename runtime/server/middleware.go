package server

import (
	"context"

	"github.com/protomicro/micro/runtime/rpc"
)

// UnaryHandler handles one unary call: req is a pointer to the request
// message and the result a pointer to the response message.
type UnaryHandler func(ctx context.Context, req any) (any, error)

// UnaryMiddleware wraps the handler of one unary method. It is called once
// per method when a service is registered, with the method's [rpc.Spec], so
// per-method work (metric labels, an authorization policy) happens once and
// not on every call:
//
//	func logging(spec rpc.Spec, next server.UnaryHandler) server.UnaryHandler {
//		return func(ctx context.Context, req any) (any, error) {
//			res, err := next(ctx, req)
//			slog.InfoContext(ctx, "call", "procedure", spec.Procedure, "code", errors.CodeOf(err))
//			return res, err
//		}
//	}
type UnaryMiddleware func(spec rpc.Spec, next UnaryHandler) UnaryHandler

// StreamHandler handles one streaming call.
type StreamHandler func(ctx context.Context, stream Stream) error

// StreamMiddleware wraps the handler of one streaming method, like
// [UnaryMiddleware].
type StreamMiddleware func(spec rpc.Spec, next StreamHandler) StreamHandler

// chain wraps h in middleware so that the first is outermost.
func chain[H any, M ~func(rpc.Spec, H) H](spec rpc.Spec, h H, middleware []M) H {
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](spec, h)
	}
	return h
}
