// Package server serves micro services over gRPC.
//
// Generated code describes each proto service as a [ServiceDesc] of typed
// methods ([NewUnaryMethod] and its streaming siblings) and registers it on a
// [Server]; the descriptors say nothing about the transport. [New] returns a
// Server whose engine is google.golang.org/grpc, so every gRPC client and tool
// (grpcurl, grpc_health_probe, Envoy, Kubernetes probes) can call it. By
// default it also serves grpc.health.v1 and server reflection, and accepts
// protobuf JSON from callers that do not hold the proto.
//
// A handler's error decides what the caller sees: an [errors.Error] arrives
// with its code and message, any other error arrives as Unknown with a
// generic message (and is logged here), and a panic arrives as Internal while
// the server goes on serving.
//
// Interceptors ([WithInterceptors], of type rpc.Interceptor, the one
// middleware type of clients and servers) wrap every method, health and
// reflection included; they are composed once per method.
//
// [errors.Error]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#Error
package server
