// Hello-world micro client, for the benchmarks' binary-size comparison: one
// call to the greeter service through the client protoc-gen-micro generates,
// at a fixed address, the way a program that only calls services is written.
// It links no registry backend; hello/grpcclient is the same program written
// with grpc-go.
//
//	go run ./hello/microclient localhost:8080
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/protomicro/micro/bench/hello/micro/greeterv1"
	"github.com/protomicro/micro/runtime/client"
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
	greeter := greeterv1.NewGreeterServiceClient("greeter", client.New(client.WithAddress(address)))
	res, err := greeter.Hello(ctx, &greeterv1.HelloRequest{Name: "Ada"})
	if err != nil {
		return err
	}
	fmt.Println(res.GetGreeting())
	return nil
}
