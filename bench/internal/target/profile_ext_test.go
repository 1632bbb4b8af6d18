package target_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/internal/target"
	"github.com/protomicro/micro/testdata/testutil"
)

// BenchmarkEdgeUnary makes unary calls to the gateway and proxy targets, and to
// micro directly, with 16 callers, server and client in this process: for
// profiles (-cpuprofile) and allocation counts of what the REST gateways and
// the proxy cost, not for the ratios, which cmd/microbench measures with
// the two sides in separate processes.
func BenchmarkEdgeUnary(b *testing.B) {
	for _, tt := range []target.Target{target.Micro(), target.MicroAPI(), target.GRPCGateway(), target.MicroProxy()} {
		for _, size := range []int{64, 16 << 10} {
			b.Run(tt.Name+"/"+sizeName(size), func(b *testing.B) {
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
				req := &echov1.EchoRequest{Message: strings.Repeat("x", size/2), Payload: make([]byte, size/2)}
				if _, err := c.Echo(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetParallelism(16)
				start := testutil.CPUTime(b)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Echo(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64((testutil.CPUTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
