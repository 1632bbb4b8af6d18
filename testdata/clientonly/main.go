// Clientonly is a program that only calls a service: the generated client of
// testdata/golden/unary over a client with a fixed address. The end-to-end
// tests check that it links no registry or logging backend (etcd, mdns,
// zap), which only a service needs.
//
//	go run ./testdata/clientonly localhost:8080
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/testdata/golden/unary"
)

func main() {
	address := "localhost:8080"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	greeter := unary.NewGreeterClient("greeter", client.New(client.WithAddress(address)))
	res, err := greeter.Hello(ctx, &unary.HelloRequest{Name: "Ada"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "clientonly:", err)
		os.Exit(1)
	}
	fmt.Println(res.GetMessage())
}
