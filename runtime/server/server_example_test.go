package server_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

func ExampleNew() {
	// Register a handler on a server and serve it.
	srv := server.New()
	if err := streaming.RegisterEchoHandler(srv, echo.Handler{}); err != nil {
		fmt.Println(err)
		return
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(lis) }()

	// Call it through the generated client.
	c := client.New(client.WithAddress(lis.Addr().String()))
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := streaming.NewEchoClient("echo", c).Echo(ctx, &streaming.EchoRequest{Message: "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.GetMessage())

	// Drain and stop.
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output: hello
}
