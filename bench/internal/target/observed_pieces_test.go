package target

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/logging"
	"github.com/protomicro/micro/runtime/metrics"
	microserver "github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/runtime/tracing"
	"github.com/protomicro/micro/testdata/testutil"
)

// BenchmarkObservedPiece is [MicroObserved] taken apart: micro with one
// piece of observability at a time, on both sides where it has two, so that
// each piece's cost per call shows on its own (allocs/op exact).
//
//	go test -run '^$' -bench ObservedPiece -benchmem ./internal/target
func BenchmarkObservedPiece(b *testing.B) { benchmarkObservedPiece(b, 0) }

// BenchmarkObservedPieceParallel is [BenchmarkObservedPiece] with 8
// callers per CPU, as make bench's at c=16 on two CPUs: contention shows
// here and not there.
func BenchmarkObservedPieceParallel(b *testing.B) { benchmarkObservedPiece(b, 8) }

func benchmarkObservedPiece(b *testing.B, parallelism int) {
	pieces := []struct {
		name   string
		server func() ([]microserver.Option, func())
		client func() ([]client.Option, func())
	}{
		{name: "none"},
		{
			// The floor of any stats handler: what grpc-go itself does per
			// call once one is installed.
			name: "stats-handler-empty",
			server: func() ([]microserver.Option, func()) {
				return []microserver.Option{microserver.WithGRPCOptions(grpc.StatsHandler(emptyStatsHandler{}))}, func() {}
			},
			client: func() ([]client.Option, func()) {
				return []client.Option{client.WithGRPCOptions(grpc.WithStatsHandler(emptyStatsHandler{}))}, func() {}
			},
		},
		{
			name: "tracing-off",
			server: func() ([]microserver.Option, func()) {
				tp := tracerProvider(false)
				return tracing.ServerOptions(tp), func() { _ = tp.Shutdown(context.Background()) }
			},
			client: func() ([]client.Option, func()) {
				tp := tracerProvider(false)
				return tracing.ClientOptions(tp), func() { _ = tp.Shutdown(context.Background()) }
			},
		},
		{
			name: "tracing-on",
			server: func() ([]microserver.Option, func()) {
				tp := tracerProvider(true)
				return tracing.ServerOptions(tp), func() { _ = tp.Shutdown(context.Background()) }
			},
			client: func() ([]client.Option, func()) {
				tp := tracerProvider(true)
				return tracing.ClientOptions(tp), func() { _ = tp.Shutdown(context.Background()) }
			},
		},
		{
			name:   "metrics",
			server: func() ([]microserver.Option, func()) { return metrics.New().ServerOptions(), func() {} },
			client: func() ([]client.Option, func()) { return metrics.New().ClientOptions(), func() {} },
		},
		{
			name: "logging",
			server: func() ([]microserver.Option, func()) {
				return []microserver.Option{microserver.WithInterceptors(logging.Interceptor(nil))}, func() {}
			},
		},
		{
			name: "auth",
			server: func() ([]microserver.Option, func()) {
				a, err := observedAuth()
				if err != nil {
					b.Fatal(err)
				}
				return []microserver.Option{microserver.WithInterceptors(a)}, func() {}
			},
			client: func() ([]client.Option, func()) {
				ts, err := observedToken()
				if err != nil {
					b.Fatal(err)
				}
				return []client.Option{client.WithInterceptors(ts)}, func() {}
			},
		},
	}
	for _, p := range pieces {
		b.Run(p.name, func(b *testing.B) {
			var serverOpts []microserver.Option
			var clientOpts []client.Option
			if p.server != nil {
				opts, done := p.server()
				defer done()
				serverOpts = opts
			}
			if p.client != nil {
				opts, done := p.client()
				defer done()
				clientOpts = opts
			}
			name := serviceName + "-piece-" + p.name
			srv, err := serveMicro(name, "127.0.0.1:0", serverOpts...)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = srv.Stop() }()
			mc, err := microClient(srv.Addr(), clientOpts...)
			if err != nil {
				b.Fatal(err)
			}
			c := dialMicro(name, mc)
			defer c.Close()
			ctx := context.Background()
			req := &echov1.EchoRequest{Message: strings.Repeat("x", 32), Payload: make([]byte, 32)}
			if _, err := c.Echo(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := testutil.CPUTime(b)
			if parallelism == 0 {
				for b.Loop() {
					if _, err := c.Echo(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(parallelism)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Echo(ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64((testutil.CPUTime(b)-start).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}

// emptyStatsHandler is a gRPC stats handler that does nothing.
type emptyStatsHandler struct{}

func (emptyStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (emptyStatsHandler) HandleRPC(context.Context, stats.RPCStats) {}
func (emptyStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (emptyStatsHandler) HandleConn(context.Context, stats.ConnStats) {}
