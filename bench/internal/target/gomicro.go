package target

import (
	"context"

	"go-micro.dev/v5/broker"
	gmclient "go-micro.dev/v5/client"
	"go-micro.dev/v5/registry"
	gmserver "go-micro.dev/v5/server"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
)

// GoMicro is go-micro v5 with the code its protoc-gen-micro generates
// (echo.pb.micro.go) and its default transport, HTTP. Two defaults are
// changed: the client encodes protobuf rather than JSON, the fairer
// comparison with targets that all send protobuf; and the registry and
// broker are in-memory, since the client is given the server's address (as
// micro's is) and the default mDNS registry and HTTP broker would only add
// background work.
func GoMicro() Target {
	return Target{
		Name:  "go-micro",
		About: "go-micro v5: its protoc-gen-micro stubs, RPC server and client over its default HTTP transport, protobuf codec",
		Serve: serveGoMicro,
		Dial: func(addr string) (Client, error) {
			c := gmclient.NewClient(
				gmclient.ContentType("application/protobuf"),
				gmclient.Registry(registry.NewMemoryRegistry()),
				gmclient.Broker(broker.NewMemoryBroker()),
			)
			return goMicroCaller{echo: echov1.NewEchoService(serviceName, c), address: gmclient.WithAddress(addr)}, nil
		},
		NotMeasured: map[string]string{
			"stream": "go-micro's server stream breaks when the server sends as fast as it can: " +
				"the client receives messages out of order, then fails with \"proto: cannot parse invalid wire-format data\" " +
				"within the first few hundred messages (see BENCHMARKS.md)",
		},
	}
}

func serveGoMicro(addr string) (Server, error) {
	srv := gmserver.NewRPCServer(
		gmserver.Name(serviceName),
		gmserver.Address(addr),
		gmserver.Registry(registry.NewMemoryRegistry()),
		gmserver.Broker(broker.NewMemoryBroker()),
	)
	if err := echov1.RegisterEchoServiceHandler(srv, goMicroHandler{}); err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	// Start replaced the address with the one it listens on.
	return server{addr: srv.Options().Address, stop: srv.Stop}, nil
}

type goMicroHandler struct{}

func (goMicroHandler) Echo(_ context.Context, req *echov1.EchoRequest, res *echov1.EchoResponse) error {
	res.Message, res.Payload = req.GetMessage(), req.GetPayload()
	return nil
}

func (goMicroHandler) Stream(ctx context.Context, req *echov1.StreamRequest, s echov1.EchoService_StreamStream) error {
	// go-micro's Send never reports a failed write and the handler's
	// context outlives the caller, so without this the handler would send
	// into a closed connection forever: the caller going away shows only as
	// Recv failing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = s.RecvMsg(new(echov1.StreamRequest)) // the caller sends nothing more; this returns when it leaves
		cancel()
	}()
	return stream(ctx, req, s.Send)
}

func (goMicroHandler) Chat(_ context.Context, s echov1.EchoService_ChatStream) error {
	return serveChat(s.Recv, s.Send)
}

type goMicroCaller struct {
	echo    echov1.EchoService
	address gmclient.CallOption
}

func (c goMicroCaller) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return c.echo.Echo(ctx, req, c.address)
}

func (c goMicroCaller) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	return c.echo.Stream(ctx, req, c.address)
}

func (c goMicroCaller) Chat(ctx context.Context) (Chat, error) {
	return c.echo.Chat(ctx, c.address)
}

// Close does nothing: go-micro's client has no way to close its connection
// pool, which goes away with the process.
func (goMicroCaller) Close() error { return nil }
