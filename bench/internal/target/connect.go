package target

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/gen/echo/v1/echov1connect"
)

// ConnectGRPC is connect-go speaking the gRPC protocol, over HTTP/2 without
// TLS (h2c) from net/http, with the code protoc-gen-connect-go generates.
// One default is changed: connect-go gzips responses for any client that
// accepts gzip, which its clients do by default; compression is off here,
// as it is in every other target.
func ConnectGRPC() Target {
	return Target{
		Name:  "connect-grpc",
		About: "connect-go, gRPC protocol: protoc-gen-connect-go stubs, net/http server and client over h2c, gzip off",
		Serve: serveConnect,
		Dial: func(addr string) (Client, error) {
			return dialConnect(addr, connect.WithGRPC())
		},
	}
}

// Connect is connect-go speaking its own Connect protocol, over h2c.
func Connect() Target {
	return Target{
		Name:  "connect",
		About: "connect-go, Connect protocol: as connect-grpc, with connect-go's own protocol",
		Serve: serveConnect,
		Dial: func(addr string) (Client, error) {
			return dialConnect(addr)
		},
	}
}

// serveConnect serves every protocol connect-go speaks, over HTTP/1.1 and
// h2c.
func serveConnect(addr string) (Server, error) {
	mux := http.NewServeMux()
	mux.Handle(echov1connect.NewEchoServiceHandler(connectHandler{}, connect.WithCompression("gzip", nil, nil)))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: mux, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(lis) }() // Serve returns ErrServerClosed once closed
	return server{addr: lis.Addr().String(), stop: srv.Close}, nil
}

func dialConnect(addr string, opts ...connect.ClientOption) (Client, error) {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	transport := &http.Transport{Protocols: &protocols}
	opts = append(opts, connect.WithAcceptCompression("gzip", nil, nil))
	c := echov1connect.NewEchoServiceClient(&http.Client{Transport: transport}, "http://"+addr, opts...)
	return connectCaller{echo: c, transport: transport}, nil
}

type connectHandler struct {
	echov1connect.UnimplementedEchoServiceHandler
}

func (connectHandler) Echo(_ context.Context, req *connect.Request[echov1.EchoRequest]) (*connect.Response[echov1.EchoResponse], error) {
	return connect.NewResponse(echo(req.Msg)), nil
}

func (connectHandler) Stream(ctx context.Context, req *connect.Request[echov1.StreamRequest], s *connect.ServerStream[echov1.StreamResponse]) error {
	return stream(ctx, req.Msg, s.Send)
}

func (connectHandler) Chat(_ context.Context, s *connect.BidiStream[echov1.ChatRequest, echov1.ChatResponse]) error {
	return serveChat(s.Receive, s.Send)
}

type connectCaller struct {
	echo      echov1connect.EchoServiceClient
	transport *http.Transport
}

func (c connectCaller) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	res, err := c.echo.Echo(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func (c connectCaller) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	s, err := c.echo.Stream(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return connectReceiver{s}, nil
}

func (c connectCaller) Chat(ctx context.Context) (Chat, error) {
	return connectChat{c.echo.Chat(ctx)}, nil
}

func (c connectCaller) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}

// connectReceiver gives connect-go's Receive and Msg the shape of Recv.
type connectReceiver struct {
	s *connect.ServerStreamForClient[echov1.StreamResponse]
}

func (r connectReceiver) Recv() (*echov1.StreamResponse, error) {
	if r.s.Receive() {
		return r.s.Msg(), nil
	}
	if err := r.s.Err(); err != nil {
		return nil, err
	}
	return nil, errStreamEnded
}

// connectChat gives connect-go's bidirectional stream the shape of Chat.
type connectChat struct {
	s *connect.BidiStreamForClient[echov1.ChatRequest, echov1.ChatResponse]
}

func (c connectChat) Send(req *echov1.ChatRequest) error { return c.s.Send(req) }

func (c connectChat) Recv() (*echov1.ChatResponse, error) { return c.s.Receive() }

// errStreamEnded reports a stream the server ended, which the echo service
// never does while the caller is listening.
var errStreamEnded = errors.New("the server ended the stream")
