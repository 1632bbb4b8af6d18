package metrics

import (
	"context"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// BenchmarkUnaryServer times what counting one unary call costs a server,
// with this package's interceptor and with go-grpc-middleware's provider,
// whose series it keeps.
//
//	go test -run '^$' -bench UnaryServer -benchmem ./runtime/metrics
func BenchmarkUnaryServer(b *testing.B) {
	provider := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(DefaultBuckets)))
	prometheus.NewRegistry().MustRegister(provider)
	for _, tt := range []struct {
		name        string
		interceptor grpc.UnaryServerInterceptor
	}{
		{"micro", newCallMetrics("server", serverHelp, DefaultBuckets).unaryServer},
		{"provider", provider.UnaryServerInterceptor()},
	} {
		b.Run(tt.name, func(b *testing.B) {
			info := &grpc.UnaryServerInfo{FullMethod: "/echo.v1.EchoService/Echo"}
			handler := func(context.Context, any) (any, error) { return nil, nil }
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = tt.interceptor(ctx, nil, info, handler)
			}
		})
	}
}
