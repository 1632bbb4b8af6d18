package proxy_test

import (
	"testing"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// BenchmarkUnary makes unary calls to echo through the proxy, and directly
// for comparison; the difference in allocations and time is the proxy's
// (both run in this process).
func BenchmarkUnary(b *testing.B) {
	reg := memory.New()
	startEcho(b, reg, "echo", echo.Handler{})
	_, address := startProxyB(b, reg)
	services, err := reg.GetService(b.Context(), "echo")
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct{ name, address string }{
		{"direct", services[0].Nodes[0].Address},
		{"proxy", address},
	} {
		b.Run(bb.name, func(b *testing.B) {
			c := client.New(client.WithAddress(bb.address), client.WithLogger(quiet))
			defer c.Close()
			echoes := streaming.NewEchoClient("echo", c)
			req := &streaming.EchoRequest{Message: "hello"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := echoes.Echo(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
