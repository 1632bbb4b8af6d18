// Package tracecontext writes and reads the trace context the runtime
// propagates by default, W3C trace context (traceparent, tracestate) and
// baggage, in micro metadata, so that the client, the broker and the gateway
// carry a trace the same way whether or not the program traces.
package tracecontext

import (
	"context"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Propagator is W3C trace context and baggage, the default of the runtime.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Present reports whether ctx has anything to propagate: a valid span
// context or baggage. It costs two context lookups.
func Present(ctx context.Context) bool {
	return trace.SpanContextFromContext(ctx).IsValid() || baggage.FromContext(ctx).Len() > 0
}

// Inject writes ctx's trace context and baggage into md.
func Inject(ctx context.Context, md metadata.Metadata) {
	Propagator.Inject(ctx, Carrier(md))
}

// Extract returns ctx with the remote span context and baggage md carries.
func Extract(ctx context.Context, md metadata.Metadata) context.Context {
	return Propagator.Extract(ctx, Carrier(md))
}

// Carrier is metadata as a propagation.TextMapCarrier.
type Carrier metadata.Metadata

// Get returns the first value of key.
func (c Carrier) Get(key string) string { return metadata.Metadata(c).Get(key) }

// Set replaces the values of key with value.
func (c Carrier) Set(key, value string) { metadata.Metadata(c).Set(key, value) }

// Keys lists the keys present.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// ClientInterceptor returns a client interceptor that sends the trace
// context and baggage of each call's context with the call, unless the call
// already carries a traceparent. The client package does not do it itself
// so that a program that only calls services links no OpenTelemetry code;
// service entry points and the gateway install it.
func ClientInterceptor() rpc.Interceptor { return clientInterceptor{} }

type clientInterceptor struct{}

func (clientInterceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		inject(ctx, req)
		return next(ctx, req)
	}
}

func (clientInterceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
		inject(ctx, req)
		return next(ctx, req)
	}
}

func (clientInterceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}

// inject checks ctx first: a request's Header costs a copy.
func inject(ctx context.Context, req rpc.Request) {
	if !Present(ctx) {
		return
	}
	if md := req.Header(); md != nil && md.Get("traceparent") == "" {
		Inject(ctx, md)
	}
}
