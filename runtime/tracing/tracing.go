// Package tracing records OpenTelemetry spans for the calls a server serves
// and a client makes, with go.opentelemetry.io/contrib's otelgrpc stats
// handlers, and for the events a broker publishes and delivers ([Broker]),
// and carries the trace across services in W3C trace context (traceparent,
// tracestate) and baggage headers.
//
// A service turns it on with micro.WithTracerProvider, or with no code from
// the OTEL_* environment (package tracing/otlp); outside a service,
// [ServerOptions] and [ClientOptions] give the options for server.New and
// client.New. Without a tracer provider nothing is installed, so a service
// that does not trace pays nothing per call.
//
// The trace context is the one thing the runtime propagates on its own,
// traced or not: a handler that passes its context on to the calls it makes
// or the events it publishes continues the caller's trace, although the rest
// of the caller's metadata is not forwarded (see client.WithPropagatedHeaders).
// A service's client writes the trace context of the span in the call's
// context (a bare client.New, which links no OpenTelemetry code, does not);
// with [ClientOptions], the stats handler writes that of its client span over
// it, inside grpc-go.
package tracing

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/tracecontext"
	"github.com/protomicro/micro/runtime/server"
)

// Option configures [ServerOptions] and [ClientOptions].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	propagator propagation.TextMapPropagator
	meters     metric.MeterProvider
}

// WithPropagator sets how the trace context is written into a call's
// headers and read from them. The default is [Propagator]; the global
// otel.GetTextMapPropagator is not consulted.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.propagator = p })
}

// WithMeterProvider makes otelgrpc record its OpenTelemetry RPC metrics
// (rpc.server.duration, ...) in mp as well. By default it records none:
// package metrics keeps the Prometheus ones.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meters = mp })
}

// Propagator returns the default propagator: W3C trace context and
// baggage.
func Propagator() propagation.TextMapPropagator {
	return tracecontext.Propagator
}

func otelOptions(tp trace.TracerProvider, opts []Option) []otelgrpc.Option {
	c := &config{propagator: Propagator(), meters: noop.NewMeterProvider()}
	for _, opt := range opts {
		opt.apply(c)
	}
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(c.propagator),
		otelgrpc.WithMeterProvider(c.meters),
	}
}

// ServerOptions returns the options that make a server (server.New) record
// a server span for every call it serves, health checks included, as a
// child of the caller's span when the call carries trace context. The span
// is in the handler's context (trace.SpanFromContext).
func ServerOptions(tp trace.TracerProvider, opts ...Option) []server.Option {
	return []server.Option{server.WithGRPCOptions(grpc.StatsHandler(otelgrpc.NewServerHandler(otelOptions(tp, opts)...)))}
}

// ClientOptions returns the options that make a client (client.New) record
// a client span for every call attempt it makes, as a child of the span in
// the call's context, and send the trace context with the call.
func ClientOptions(tp trace.TracerProvider, opts ...Option) []client.Option {
	return []client.Option{client.WithGRPCOptions(grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOptions(tp, opts)...)))}
}
