package metrics_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// A bare server and client, without package micro, counted in one
// registry.
func Example() {
	m := metrics.New()
	srv := server.New(m.ServerOptions()...)
	if err := streaming.RegisterEchoHandler(srv, echo.Handler{}); err != nil {
		panic(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = srv.Shutdown(ctx) }()
	c := client.New(append(m.ClientOptions(), client.WithAddress(lis.Addr().String()))...)
	defer func() { _ = c.Close() }()

	if _, err := streaming.NewEchoClient("echo", c).Echo(ctx, &streaming.EchoRequest{Message: "hi"}); err != nil {
		panic(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		panic(err)
	}
	for _, family := range families {
		if family.GetName() == "grpc_server_handled_total" {
			for _, metric := range family.GetMetric() {
				for _, label := range metric.GetLabel() {
					fmt.Printf("%s=%s ", label.GetName(), label.GetValue())
				}
				fmt.Println(metric.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// grpc_code=OK grpc_method=Echo grpc_service=streaming.v1.Echo grpc_type=unary 1
}
