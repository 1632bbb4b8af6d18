package target

import (
	"context"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/logging"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/rpc"
	microserver "github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/runtime/tracing"
)

// The observed targets measure what observability costs per call: tracing
// with the sampler off (spans made but not recorded, trace context still
// sent) plus Prometheus call metrics, and everything on (every span sampled
// and batched to an exporter that drops them, plus the metrics), on micro
// (tracing.ServerOptions/ClientOptions, metrics.ServerOptions/ClientOptions,
// and the logging interceptor a service installs) and on grpc-go with the
// same libraries used directly (otelgrpc stats handlers, go-grpc-middleware's
// Prometheus provider). Unary workloads only, where the goals are.

// observedAuth holds the interceptors of the "everything on" targets beyond
// tracing and metrics: authentication goes here once it exists, so that the
// figure covers it.
var observedAuth []rpc.Interceptor

// tracerProvider returns a tracer provider that samples every span when on,
// and none otherwise, and exports to nothing, in batches.
func tracerProvider(on bool) *sdktrace.TracerProvider {
	sampler := sdktrace.NeverSample()
	if on {
		sampler = sdktrace.AlwaysSample()
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sampler)), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
}

// MicroObserved is [Micro] with tracing (sampled when on, else not) and call
// metrics on both sides.
func MicroObserved(on bool) Target {
	name, about := "micro-observed-off", "micro with tracing, its sampler off, and Prometheus call metrics on both sides"
	if on {
		name, about = "micro-observed", "micro with every span sampled and batched to a no-op exporter, and Prometheus call metrics, on both sides"
	}
	return Target{
		Name:  name,
		About: about,
		Serve: func(addr string) (Server, error) {
			tp := tracerProvider(on)
			opts := append(metrics.New().ServerOptions(), tracing.ServerOptions(tp)...)
			opts = append(opts, microserver.WithInterceptors(append([]rpc.Interceptor{logging.Interceptor(nil)}, observedAuth...)...))
			srv, err := serveMicro(serviceName+"-"+name, addr, opts...)
			return withShutdown(srv, tp), err
		},
		Dial: func(addr string) (Client, error) {
			tp := tracerProvider(on)
			opts := append(metrics.New().ClientOptions(), tracing.ClientOptions(tp)...)
			c, err := microClient(addr, opts...)
			return dialMicro(serviceName+"-"+name, c), err
		},
		NotMeasured: interceptedNotMeasured,
	}
}

// GRPCObserved is [GRPC] with otelgrpc's stats handlers and the Prometheus
// provider's interceptors on both sides, as [MicroObserved] has them.
func GRPCObserved(on bool) Target {
	name, about := "grpc-go-observed-off", "grpc-go with otelgrpc stats handlers, sampler off, and go-grpc-middleware's Prometheus provider on both sides"
	if on {
		name, about = "grpc-go-observed", "grpc-go with otelgrpc stats handlers sampling every span to a no-op exporter, and go-grpc-middleware's Prometheus provider, on both sides"
	}
	otel := func(tp *sdktrace.TracerProvider) []otelgrpc.Option {
		return []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(tracing.Propagator()), otelgrpc.WithMeterProvider(noop.NewMeterProvider())}
	}
	return Target{
		Name:  name,
		About: about,
		Serve: func(addr string) (Server, error) {
			tp := tracerProvider(on)
			m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(metrics.DefaultBuckets)))
			prometheus.NewRegistry().MustRegister(m)
			srv, err := serveGRPC(addr, grpc.StatsHandler(otelgrpc.NewServerHandler(otel(tp)...)),
				grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(m.StreamServerInterceptor()))
			return withShutdown(srv, tp), err
		},
		Dial: func(addr string) (Client, error) {
			tp := tracerProvider(on)
			m := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(metrics.DefaultBuckets)))
			prometheus.NewRegistry().MustRegister(m)
			return dialGRPC(addr, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otel(tp)...)),
				grpc.WithChainUnaryInterceptor(m.UnaryClientInterceptor()), grpc.WithChainStreamInterceptor(m.StreamClientInterceptor()))
		},
		NotMeasured: interceptedNotMeasured,
	}
}

// withShutdown stops tp after srv.
func withShutdown(srv Server, tp *sdktrace.TracerProvider) Server {
	if srv == nil {
		_ = tp.Shutdown(context.Background())
		return nil
	}
	return shutdownServer{Server: srv, tp: tp}
}

type shutdownServer struct {
	Server
	tp *sdktrace.TracerProvider
}

func (s shutdownServer) Stop() error {
	err := s.Server.Stop()
	_ = s.tp.Shutdown(context.Background())
	return err
}
