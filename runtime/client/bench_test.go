package client_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// BenchmarkDiscovery compares calls per second to one node found through
// the local registry with calls to its fixed address, 16 callers at a time,
// in alternating rounds. It reports both rates and their ratio, which the
// client's cache should keep within 5% of 1. Run it with -benchtime=1x.
func BenchmarkDiscovery(b *testing.B) {
	addr := startEcho(b, echo.Handler{})
	reg, err := local.New(local.WithDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Register(context.Background(), &registry.Service{Name: "echo", Nodes: []*registry.Node{{ID: "1", Address: addr}}}); err != nil {
		b.Fatal(err)
	}
	fixed := client.New(client.WithAddress(addr))
	defer fixed.Close()
	discovered := client.New(client.WithRegistry(reg))
	defer discovered.Close()

	const rounds, round = 5, 500 * time.Millisecond
	var fixedCalls, discoveredCalls int64
	for range rounds {
		fixedCalls += callFor(b, fixed, round)
		discoveredCalls += callFor(b, discovered, round)
	}
	seconds := float64(rounds) * round.Seconds()
	b.ReportMetric(float64(fixedCalls)/seconds, "fixed-calls/s")
	b.ReportMetric(float64(discoveredCalls)/seconds, "discovery-calls/s")
	b.ReportMetric(float64(discoveredCalls)/float64(fixedCalls), "discovery/fixed")
}

// callFor makes Echo calls through c from 16 goroutines for d and returns
// how many completed.
func callFor(b *testing.B, c client.Client, d time.Duration) int64 {
	echoClient := streaming.NewEchoClient("echo", c)
	var calls atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "x"}); err == nil {
					calls.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return calls.Load()
}

// BenchmarkInvoke makes unary calls one after another to a server in this
// process, without interceptors and with one on each side, so that what
// the interceptor path costs shows in ns/op and allocs/op (client and server
// together).
func BenchmarkInvoke(b *testing.B) {
	counter := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
		var calls atomic.Int64
		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
			if req.Spec().Procedure != "" {
				calls.Add(1)
			}
			return next(ctx, req)
		}
	})
	for _, bb := range []struct {
		name         string
		interceptors []rpc.Interceptor
	}{
		{name: "plain"},
		{name: "intercepted", interceptors: []rpc.Interceptor{counter}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			_, addr := testserver.Start(b, func(s server.Server) error {
				return streaming.RegisterEchoHandler(s, echo.Handler{})
			}, server.WithInterceptors(bb.interceptors...))
			c := client.New(client.WithAddress(addr), client.WithInterceptors(bb.interceptors...))
			defer c.Close()
			echoClient := streaming.NewEchoClient("echo", c)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req := &streaming.EchoRequest{Message: "x"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := echoClient.Echo(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
