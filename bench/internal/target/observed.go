package target

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/auth/jwt"
	"github.com/protomicro/micro/runtime/client"
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

// observedKey signs and verifies the bearer tokens of the "everything on"
// micro target: an Ed25519 key from a fixed seed, so that the client and the
// server, in separate processes, share it without a file between them. It
// guards a benchmark, nothing else.
var observedKey = ed25519.NewKeyFromSeed([]byte("micro-observed-benchmark-seed-32"))

// observedAuth returns the server interceptor of the "everything on" micro
// target: JWT verification with runtime/auth/jwt (its default cache of
// verified tokens included) of the token each call must carry, every method
// needing the scope "echo".
func observedAuth() (rpc.Interceptor, error) {
	der, err := x509.MarshalPKCS8PrivateKey(observedKey)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "micro-observed-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // jwt.New reads the file once
	path := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	v, err := jwt.New(jwt.WithKeyFile(path))
	if err != nil {
		return nil, err
	}
	return auth.NewServerInterceptor(v, auth.WithDefaultAccess(rpc.Access{Scopes: []string{"echo"}})), nil
}

// observedToken returns the client interceptor of the "everything on" micro
// target: a token source presenting one token, signed with [observedKey],
// on every call.
func observedToken() (rpc.Interceptor, error) {
	token, err := jwt.Sign(observedKey, jwt.Token{Subject: "bench", Scopes: []string{"echo"}, TTL: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return auth.NewClientInterceptor(auth.StaticToken(token)), nil
}

// tracerProvider returns a tracer provider that samples every span when on,
// and none otherwise, and exports to nothing, in batches.
func tracerProvider(on bool) *sdktrace.TracerProvider {
	sampler := sdktrace.NeverSample()
	if on {
		sampler = sdktrace.AlwaysSample()
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sampler)), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
}

// MicroObserved is [Micro] with tracing (sampled when on, else not), call
// metrics on both sides and the logging interceptor on the server; when on,
// JWT auth too (a token source on the client, verification on the server).
func MicroObserved(on bool) Target {
	name, about := "micro-observed-off", "micro with tracing, its sampler off, and Prometheus call metrics on both sides, and the logging interceptor"
	if on {
		name, about = "micro-observed", "micro with every span sampled and batched to a no-op exporter, Prometheus call metrics, the logging interceptor, and JWT auth (runtime/auth/jwt on the server, a token source on the client)"
	}
	return Target{
		Name:  name,
		About: about,
		Serve: func(addr string) (Server, error) {
			interceptors := []rpc.Interceptor{logging.Interceptor(nil)}
			if on {
				a, err := observedAuth()
				if err != nil {
					return nil, err
				}
				interceptors = append(interceptors, a)
			}
			tp := tracerProvider(on)
			opts := append(metrics.New().ServerOptions(), tracing.ServerOptions(tp)...)
			opts = append(opts, microserver.WithInterceptors(interceptors...))
			srv, err := serveMicro(serviceName+"-"+name, addr, opts...)
			return withShutdown(srv, tp), err
		},
		Dial: func(addr string) (Client, error) {
			tp := tracerProvider(on)
			opts := append(metrics.New().ClientOptions(), tracing.ClientOptions(tp)...)
			if on {
				ts, err := observedToken()
				if err != nil {
					return nil, err
				}
				opts = append(opts, client.WithInterceptors(ts))
			}
			c, err := microClient(addr, opts...)
			return dialMicro(serviceName+"-"+name, c), err
		},
		NotMeasured: interceptedNotMeasured,
	}
}

// GRPCObserved is [GRPC] with otelgrpc's stats handlers and the Prometheus
// provider's interceptors on both sides, as [MicroObserved] has them. It has
// no auth: grpc-go has none of its own to set beside micro's.
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
