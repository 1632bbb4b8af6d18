package target_test

import (
	"context"
	"strings"
	"testing"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/internal/target"
	"github.com/protomicro/micro/testdata/testutil"
)

// BenchmarkUnary makes one 64-byte unary call at a time through micro and
// grpc-go, with and without an interceptor on each side, server and client
// in this process: allocs/op is exact here, where make bench measures CPU in
// separate processes.
//
//	go test -run '^$' -bench Unary -benchmem ./internal/target
func BenchmarkUnary(b *testing.B) { benchmarkUnary(b, 0, unaryTargets) }

// BenchmarkUnaryParallel is [BenchmarkUnary] with 8 callers per CPU, all
// under one context, as make bench's callers at c=16 on two CPUs.
func BenchmarkUnaryParallel(b *testing.B) { benchmarkUnary(b, 8, unaryTargets) }

// BenchmarkObserved is [BenchmarkUnary] on the observed targets (tracing,
// metrics, logging and auth) beside the bare ones, for their profiles
// (-cpuprofile) and allocation counts; cpu-µs/op is the process's CPU time,
// both sides, per call.
//
//	go test -run '^$' -bench Observed -benchmem ./internal/target
func BenchmarkObserved(b *testing.B) { benchmarkUnary(b, 0, observedTargets) }

var (
	unaryTargets    = []string{"micro", "grpc-go", "micro-intercepted", "grpc-go-intercepted"}
	observedTargets = []string{"micro", "micro-observed-off", "micro-observed", "grpc-go", "grpc-go-observed-off", "grpc-go-observed"}
)

// benchmarkUnary calls the targets named from parallelism callers per CPU,
// or from the benchmark's goroutine when it is 0.
func benchmarkUnary(b *testing.B, parallelism int, names []string) {
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			targets, err := target.Select(name)
			if err != nil {
				b.Fatal(err)
			}
			tt := targets[0]
			srv, err := tt.Serve("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = srv.Stop() }()
			c, err := tt.Dial(srv.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithCancel(context.Background()) // as the harness's callers
			defer cancel()
			req := &echov1.EchoRequest{Message: strings.Repeat("x", 32), Payload: make([]byte, 32)}
			if _, err := c.Echo(ctx, req); err != nil { // connect before timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			if parallelism == 0 {
				start := testutil.CPUTime(b)
				for b.Loop() {
					if _, err := c.Echo(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((testutil.CPUTime(b)-start).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
				return
			}
			b.SetParallelism(parallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Echo(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
