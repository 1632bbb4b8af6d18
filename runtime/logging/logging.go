// Package logging makes a service's slog records say which call they belong
// to: inside a call, a record carries the trace_id and span_id of the span
// in its context (when the call is traced), the procedure served and the
// peer that called it.
//
// A service (micro.NewService) wraps its logger's handler with [NewHandler]
// and puts the logger and the call into every handler's context with
// [Interceptor]; a handler logs with
//
//	logging.FromContext(ctx).InfoContext(ctx, "order placed", "id", id)
//
// or with its own *slog.Logger, as long as it passes ctx (the *Context
// methods) and that logger's handler is wrapped too. [FromEnvironment] builds
// the logger from MICRO_LOG_FORMAT and MICRO_LOG_LEVEL.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/rpc"
)

// Attribute keys the handler adds.
const (
	KeyTraceID   = "trace_id"
	KeySpanID    = "span_id"
	KeyProcedure = "procedure"
	KeyPeer      = "peer"
)

// Environment variables [FromEnvironment] reads.
const (
	EnvFormat = "MICRO_LOG_FORMAT" // text (default) or json
	EnvLevel  = "MICRO_LOG_LEVEL"  // debug, info (default), warn or error
)

// NewHandler returns a handler that adds to each record, before passing it
// to h, the trace_id and span_id of the valid span context in the record's
// context, and the procedure and peer of the call [Interceptor] put in it.
// Records logged without a context, or outside a call, pass unchanged. A
// handler made by NewHandler is returned as is.
func NewHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*handler); ok {
		return h
	}
	return &handler{next: h}
}

type handler struct{ next slog.Handler }

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
		}
		if c, ok := ctx.Value(callKey{}).(*call); ok {
			r.AddAttrs(slog.String(KeyProcedure, c.procedure))
			if peer := c.peerAddr(); peer != "" {
				r.AddAttrs(slog.String(KeyPeer, peer))
			}
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{next: h.next.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name)}
}

// FromEnvironment returns a logger writing to w in the format MICRO_LOG_FORMAT
// names (text or json) at the level MICRO_LOG_LEVEL names, through
// [NewHandler]; getenv reads a variable (os.Getenv). It returns nil, and no
// error, when neither is set, so that the caller keeps its own logger. It
// fails on any other value, naming the variable.
func FromEnvironment(w io.Writer, getenv func(string) string) (*slog.Logger, error) {
	format, level := strings.TrimSpace(getenv(EnvFormat)), strings.TrimSpace(getenv(EnvLevel))
	if format == "" && level == "" {
		return nil, nil
	}
	var l slog.Level
	switch strings.ToLower(level) {
	case "", "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("%s is %q, want debug, info, warn or error", EnvLevel, level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(NewHandler(slog.NewTextHandler(w, opts))), nil
	case "json":
		return slog.New(NewHandler(slog.NewJSONHandler(w, opts))), nil
	default:
		return nil, fmt.Errorf("%s is %q, want text or json", EnvFormat, format)
	}
}

// call is what [Interceptor] records of a call for the handler.
type call struct {
	procedure, peer string
	// from gives the peer when peer is empty: the interceptor asks the
	// call for it only when a record is logged, since working it out costs
	// an allocation or two that a call which logs nothing need not pay.
	from   interface{ Peer() rpc.Peer }
	logger *slog.Logger
}

func (c *call) peerAddr() string {
	if c.peer == "" && c.from != nil {
		return c.from.Peer().Addr
	}
	return c.peer
}

type callKey struct{}

// callContext is a context carrying a call, as context.WithValue(ctx,
// callKey{}, &call) would, in one allocation instead of two: the
// interceptor makes one for every call served.
type callContext struct {
	context.Context
	call call
}

func (c *callContext) Value(key any) any {
	if key == (callKey{}) {
		return &c.call
	}
	return c.Context.Value(key)
}

// FromContext returns the logger of the service serving the call ctx belongs
// to, as [Interceptor] put it there, and [slog.Default] outside a call.
func FromContext(ctx context.Context) *slog.Logger {
	if c, ok := ctx.Value(callKey{}).(*call); ok && c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// NewContext returns ctx inside a call of procedure from peer (peer may be
// empty), served with logger (nil for [slog.Default]), as [Interceptor]
// makes it: for handlers run outside a server.
func NewContext(ctx context.Context, logger *slog.Logger, procedure, peer string) context.Context {
	return &callContext{Context: ctx, call: call{procedure: procedure, peer: peer, logger: logger}}
}

// Interceptor returns a server interceptor that puts the call (its procedure
// and peer) and logger into the context of the handler of every unary call
// and stream, for [NewHandler] and [FromContext]. It is for servers
// (server.WithInterceptors) and event subscriptions, whose deliveries are
// calls "event:<topic>" with no peer; on a client's streams it does nothing,
// and a client's unary calls would be labelled with the procedure called.
func Interceptor(logger *slog.Logger) rpc.Interceptor {
	return interceptor{logger: logger}
}

type interceptor struct{ logger *slog.Logger }

func (i interceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		return next(&callContext{Context: ctx, call: call{procedure: req.Spec().Procedure, from: req, logger: i.logger}}, req)
	}
}

func (interceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return func(ctx context.Context, conn rpc.HandlerConn) error {
		ctx = &callContext{Context: ctx, call: call{procedure: conn.Spec().Procedure, from: conn, logger: i.logger}}
		return next(ctx, contextConn{HandlerConn: conn, ctx: ctx})
	}
}

// contextConn is a stream whose context is the interceptor's.
type contextConn struct {
	rpc.HandlerConn
	ctx context.Context
}

func (c contextConn) Context() context.Context { return c.ctx }
