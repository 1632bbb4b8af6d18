// Package client calls micro services by name.
//
// A [Client] resolves a service name to the addresses of its nodes through a
// registry (or uses fixed addresses), balances calls across them round robin,
// and speaks gRPC to them. Generated clients wrap it in typed methods:
//
//	c := client.New(client.WithRegistry(reg))
//	defer c.Close()
//	greeter := greeterv1.NewGreeterClient("greeter", c)
//	res, err := greeter.Hello(ctx, &greeterv1.HelloRequest{Name: "Ada"})
//
// Every call is bounded by its context; a unary call whose context has no
// deadline is also bounded by the client's default timeout (5s, see
// [WithDefaultTimeout]). A call sends the outgoing [metadata] of its context
// and its deadline; a handler that passes its own context on forwards the
// deadline, and of what its caller sent only the headers named by
// [WithPropagatedHeaders], never credentials. [WithInterceptors] wraps every
// call in [rpc.Interceptor]s. A failed call returns an [errors.Error] whose
// code says what happened, and [errors.IsWire] whether the server said it. A
// call is never retried once the server may have started it, unless the
// procedure is declared idempotent.
//
// [rpc.Interceptor]: https://pkg.go.dev/github.com/protomicro/micro/runtime/rpc#Interceptor
// [errors.IsWire]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#IsWire
// [metadata]: https://pkg.go.dev/github.com/protomicro/micro/runtime/metadata
// [errors.Error]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#Error
package client
