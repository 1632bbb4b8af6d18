package target

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/gen/echo/v1/echov1micro"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	microserver "github.com/protomicro/micro/runtime/server"
)

// serviceName is the name the echo service is called by, where a framework
// names services.
const serviceName = "echo"

// Micro is micro: the code protoc-gen-micro generates (echov1micro), served by
// runtime/server with its defaults (health and reflection on) and called
// through runtime/client with its defaults.
func Micro() Target {
	return Target{
		Name:  "micro",
		About: "micro: generated client and handler, runtime/server and runtime/client with defaults (gRPC over HTTP/2, grpc-go engine)",
		Serve: func(addr string) (Server, error) { return serveMicro(serviceName, addr) },
		Dial: func(addr string) (Client, error) {
			c, err := microClient(addr)
			return dialMicro(serviceName, c), err
		},
	}
}

// MicroNoTimeout is [Micro] with the client's default timeout turned off
// (client.WithDefaultTimeout(0)), as grpc-go has none: the difference between the
// two is what the default costs. It is not among [All]; name it in -targets.
func MicroNoTimeout() Target {
	return Target{
		Name:  "micro-notimeout",
		About: "micro, with client.WithDefaultTimeout(0): no default deadline on calls whose context has none",
		Serve: func(addr string) (Server, error) { return serveMicro(serviceName+"-notimeout", addr) },
		Dial: func(addr string) (Client, error) {
			c, err := microClient(addr, client.WithDefaultTimeout(0))
			return dialMicro(serviceName+"-notimeout", c), err
		},
	}
}

// microClient is the micro client the benchmarks call through. It finds the
// "echo" service by name in the local registry, as a micro program would,
// not by addr: the client's cache keeps the lookup off the calls' path.
func microClient(addr string, opts ...client.Option) (client.Client, error) {
	reg, err := benchRegistry()
	if err != nil {
		return nil, err
	}
	return client.New(append(opts, client.WithRegistry(reg))...), nil
}

// benchRegistry is the local registry the micro target's processes share:
// the directory MICRO_REGISTRY_ADDRESS names (the harness gives each run one
// of its own), or the default.
func benchRegistry() (registry.Registry, error) {
	return micro.NewRegistry("local", os.Getenv("MICRO_REGISTRY_ADDRESS"))
}

// dialMicro calls the echo service registered as service. Each micro target
// registers under a name of its own: the servers of several targets may be
// up at once, and a client of one must not balance over another's.
func dialMicro(service string, c client.Client) Client {
	return microCaller{echo: echov1micro.NewEchoServiceClient(service, c), client: c}
}

func serveMicro(service, addr string, opts ...microserver.Option) (Server, error) {
	reg, err := benchRegistry()
	if err != nil {
		return nil, err
	}
	return serveMicroIn(reg, service, addr, opts...)
}

// serveMicroIn serves echo on addr, registered in reg as service, with its
// endpoints, as a micro service registers itself.
func serveMicroIn(reg registry.Registry, service, addr string, opts ...microserver.Option) (Server, error) {
	srv := microserver.New(opts...)
	if err := echov1micro.RegisterEchoServiceHandler(srv, microHandler{}); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var endpoints []*registry.Endpoint
	for _, desc := range srv.Services() {
		for _, m := range desc.Methods {
			endpoints = append(endpoints, &registry.Endpoint{Procedure: m.Procedure, StreamType: m.StreamType, Idempotency: m.Idempotency, HTTP: m.HTTP})
		}
	}
	node := &registry.Service{
		Name:      service,
		Nodes:     []*registry.Node{{ID: fmt.Sprintf("bench-%d-%s", os.Getpid(), lis.Addr()), Address: lis.Addr().String()}},
		Endpoints: endpoints,
	}
	if err := reg.Register(context.Background(), node); err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(lis) }() // Serve returns nil after Shutdown
	return server{addr: lis.Addr().String(), stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = reg.Deregister(ctx, node)
		_ = srv.Shutdown(ctx) // calls still in flight at the end of a run are canceled
		return nil
	}}, nil
}

type microHandler struct {
	echov1micro.UnimplementedEchoServiceHandler
}

func (microHandler) Echo(_ context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return echo(req), nil
}

func (microHandler) Stream(ctx context.Context, req *echov1.StreamRequest, s microserver.ServerStream[echov1.StreamResponse]) error {
	return stream(ctx, req, s.Send)
}

func (microHandler) Chat(_ context.Context, s microserver.BidiStream[echov1.ChatRequest, echov1.ChatResponse]) error {
	return serveChat(s.Recv, s.Send)
}

type microCaller struct {
	echo   echov1micro.EchoServiceClient
	client client.Client
}

func (c microCaller) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return c.echo.Echo(ctx, req)
}

func (c microCaller) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	return c.echo.Stream(ctx, req)
}

func (c microCaller) Chat(ctx context.Context) (Chat, error) {
	return c.echo.Chat(ctx)
}

func (c microCaller) Close() error { return c.client.Close() }
