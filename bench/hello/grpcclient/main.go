// Hello-world grpc-go client, for the benchmarks' binary-size comparison: one
// call to the greeter service through the client protoc-gen-go-grpc
// generates, the same program as hello/microclient.
//
//	go run ./hello/grpcclient localhost:8080
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protomicro/micro/bench/hello/grpc/greeterv1"
)

func main() {
	address := "localhost:8080"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	if err := run(address); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(address string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }() // the program exits next
	res, err := greeterv1.NewGreeterServiceClient(conn).Hello(ctx, &greeterv1.HelloRequest{Name: "Ada"})
	if err != nil {
		return err
	}
	fmt.Println(res.GetGreeting())
	return nil
}
