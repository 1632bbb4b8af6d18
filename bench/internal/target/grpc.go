package target

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
)

// GRPC is plain grpc-go with the code protoc-gen-go-grpc generates, and
// grpc-go's defaults: the baseline.
func GRPC() Target {
	return Target{
		Name:  "grpc-go",
		About: "grpc-go: protoc-gen-go-grpc stubs, grpc.NewServer and grpc.NewClient with defaults",
		Serve: func(addr string) (Server, error) { return serveGRPC(addr) },
		Dial:  func(addr string) (Client, error) { return dialGRPC(addr) },
	}
}

func dialGRPC(addr string, opts ...grpc.DialOption) (Client, error) {
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, err
	}
	return grpcCaller{echo: echov1.NewEchoServiceClient(conn), conn: conn}, nil
}

func serveGRPC(addr string, opts ...grpc.ServerOption) (Server, error) {
	srv := grpc.NewServer(opts...)
	echov1.RegisterEchoServiceServer(srv, grpcHandler{})
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(lis) }() // Serve returns when stopped
	return server{addr: lis.Addr().String(), stop: func() error { srv.Stop(); return nil }}, nil
}

type grpcHandler struct {
	echov1.UnimplementedEchoServiceServer
}

func (grpcHandler) Echo(_ context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return echo(req), nil
}

func (grpcHandler) Stream(req *echov1.StreamRequest, s grpc.ServerStreamingServer[echov1.StreamResponse]) error {
	return stream(s.Context(), req, s.Send)
}

func (grpcHandler) Chat(s grpc.BidiStreamingServer[echov1.ChatRequest, echov1.ChatResponse]) error {
	return serveChat(s.Recv, s.Send)
}

type grpcCaller struct {
	echo echov1.EchoServiceClient
	conn *grpc.ClientConn
}

func (c grpcCaller) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return c.echo.Echo(ctx, req)
}

func (c grpcCaller) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	return c.echo.Stream(ctx, req)
}

func (c grpcCaller) Chat(ctx context.Context) (Chat, error) {
	return c.echo.Chat(ctx)
}

func (c grpcCaller) Close() error { return c.conn.Close() }
