// Package tracing records OpenTelemetry spans for the calls a server serves
// and a client makes, with gRPC stats handlers of its own, and for the events
// a broker publishes and delivers ([Broker]), and carries the trace across
// services in W3C trace context (traceparent, tracestate) and baggage
// headers.
//
// The call spans are those of go.opentelemetry.io/contrib's otelgrpc stats
// handlers, with its default (v1.43) semantic conventions: the same names
// ("pkg.Service/Method"), kinds, attributes (rpc.system.name, rpc.method,
// rpc.response.status_code, server.address, server.port), statuses and
// parents; only the instrumentation scope differs ([ScopeName]). They cost
// much less when the sampler drops the span: the handlers extract or inject
// the trace context and start the span with options built once per
// procedure (the sampler sees rpc.method and rpc.system.name, as with
// otelgrpc), and add the peer's address and the outcome only to a span that
// records. Where micro's handlers do not cover what otelgrpc does,
// otelgrpc's are installed instead: with [WithMeterProvider] (the
// OpenTelemetry RPC metrics), or when OTEL_SEMCONV_STABILITY_OPT_IN asks for
// the older RPC conventions (rpc/old, rpc/dup).
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
// it, inside grpc-go, sampled or not.
package tracing

import (
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

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

// WithMeterProvider records OpenTelemetry RPC metrics (rpc.server.call.duration,
// rpc.client.call.duration) in mp as well, by having otelgrpc's stats
// handlers record the spans and the metrics in place of micro's own, at
// otelgrpc's cost per call. By default none are recorded: package metrics
// keeps the Prometheus ones.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meters = mp })
}

// Propagator returns the default propagator: W3C trace context and
// baggage.
func Propagator() propagation.TextMapPropagator {
	return tracecontext.Propagator
}

func newConfig(opts []Option) *config {
	c := &config{propagator: Propagator()}
	for _, opt := range opts {
		opt.apply(c)
	}
	return c
}

// statsHandler returns the stats handler of one side: micro's own, unless
// a meter provider is given or OTEL_SEMCONV_STABILITY_OPT_IN asks for the
// older RPC conventions ("rpc/old", "rpc/dup"), which otelgrpc has and
// micro's handler does not.
func (c *config) statsHandler(tp trace.TracerProvider, client bool) stats.Handler {
	if c.meters == nil && !olderConventions(os.Getenv("OTEL_SEMCONV_STABILITY_OPT_IN")) {
		return newStatsHandler(tp, c.propagator, client)
	}
	meters := c.meters
	if meters == nil {
		meters = noop.NewMeterProvider()
	}
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(c.propagator), otelgrpc.WithMeterProvider(meters)}
	if client {
		return otelgrpc.NewClientHandler(opts...)
	}
	return otelgrpc.NewServerHandler(opts...)
}

// olderConventions reports whether optIn, the value of
// OTEL_SEMCONV_STABILITY_OPT_IN, asks otelgrpc for the RPC conventions
// before v1.43.
func olderConventions(optIn string) bool {
	for part := range strings.SplitSeq(optIn, ",") {
		if part = strings.TrimSpace(part); part == "rpc/old" || part == "rpc/dup" {
			return true
		}
	}
	return false
}

// ServerOptions returns the options that make a server (server.New) record
// a server span for every call it serves, health checks included, as a
// child of the caller's span when the call carries trace context. The span
// is in the handler's context (trace.SpanFromContext).
func ServerOptions(tp trace.TracerProvider, opts ...Option) []server.Option {
	return []server.Option{server.WithGRPCOptions(grpc.StatsHandler(newConfig(opts).statsHandler(tp, false)))}
}

// ClientOptions returns the options that make a client (client.New) record
// a client span for every call attempt it makes, as a child of the span in
// the call's context, and send the trace context with the call.
func ClientOptions(tp trace.TracerProvider, opts ...Option) []client.Option {
	return []client.Option{client.WithGRPCOptions(grpc.WithStatsHandler(newConfig(opts).statsHandler(tp, true)))}
}
