package client

import "context"

// UnaryInvoker performs one unary call: it sends req, a pointer to the
// request message, and decodes the reply into res.
type UnaryInvoker func(ctx context.Context, call *Call, req, res any) error

// UnaryMiddleware wraps unary calls:
//
//	func logging(next client.UnaryInvoker) client.UnaryInvoker {
//		return func(ctx context.Context, call *client.Call, req, res any) error {
//			err := next(ctx, call, req, res)
//			slog.InfoContext(ctx, "call", "service", call.Service, "procedure", call.Spec.Procedure, "code", errors.CodeOf(err))
//			return err
//		}
//	}
type UnaryMiddleware func(next UnaryInvoker) UnaryInvoker

// Streamer opens one stream.
type Streamer func(ctx context.Context, call *Call) (Stream, error)

// StreamMiddleware wraps the opening of streams; to see the messages, it
// returns a [Stream] that wraps the one next returns.
type StreamMiddleware func(next Streamer) Streamer
