package dynamic_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

func ExampleResolve() {
	// A service whose protos the caller below does not use: it learns
	// everything from the server's reflection.
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer func() { _ = srv.Shutdown(ctx) }()

	c := client.New()
	defer func() { _ = c.Close() }()
	address := lis.Addr().String()
	s, err := dynamic.Resolve(ctx, c, "echo", address)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := s.FindMethod("echo", "Echo.Echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := s.DecodeJSON([]byte(`{"message": "hello", "payload": "AQI="}`), m.Input(), dynamic.Position{})
	if err != nil {
		fmt.Println(err)
		return
	}
	res := dynamicpb.NewMessage(m.Output())
	if err := c.Invoke(ctx, "echo", dynamic.Spec(m), req, res, client.WithAddress(address)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dynamic.Spec(m).Procedure)
	res.Clear(m.Output().Fields().ByName("deadline_ms")) // the time left, which varies
	if err := s.EncodeJSON(os.Stdout, res, false); err != nil {
		fmt.Println(err)
	}
	// Output:
	// /streaming.v1.Echo/Echo
	// {"message":"hello","payload":"AQI="}
}
