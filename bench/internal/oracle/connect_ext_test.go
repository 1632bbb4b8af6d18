package oracle_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/gen/echo/v1/echov1connect"
	"github.com/protomicro/micro/bench/gen/echo/v1/echov1micro"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	microserver "github.com/protomicro/micro/runtime/server"
)

var quiet = slog.New(slog.DiscardHandler)

// echoHandler answers as the bench's echo targets do: Echo with what it is
// sent, Stream with numbered copies until the caller cancels.
type echoHandler struct {
	echov1micro.UnimplementedEchoServiceHandler
}

func (echoHandler) Echo(_ context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	return &echov1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload()}, nil
}

func (echoHandler) Stream(ctx context.Context, req *echov1.StreamRequest, s microserver.ServerStream[echov1.StreamResponse]) error {
	for n := int64(1); ctx.Err() == nil; n++ {
		if err := s.Send(&echov1.StreamResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Number: n}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// testContext ends with the test or after 30 seconds.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startEcho runs a micro service serving echo, registered in reg as name,
// until the test ends.
func startEcho(t *testing.T, reg registry.Registry, name string) {
	t.Helper()
	svc, err := micro.NewService(name, micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := echov1micro.RegisterEchoServiceHandler(svc.Server(), echoHandler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(%s) = %v", name, err)
		}
	})
	waitRegistered(t, reg, name)
}

// waitRegistered waits, for up to 20 seconds, until reg lists name.
func waitRegistered(t *testing.T, reg registry.Registry, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := reg.GetService(t.Context(), name); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not register within 20s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectClientThroughGateway calls echo, a micro service, with the
// client protoc-gen-connect-go generates, through runtime/gateway: unary and
// server streaming, in the Connect protocol, in gRPC-Web and in gRPC, with
// protobuf and with JSON messages.
func TestConnectClientThroughGateway(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startEcho(t, reg, "echo")
	g, err := gateway.New(testContext(t), reg, gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	// gRPC needs HTTP/2, which an httptest server speaks over TLS.
	h2 := httptest.NewUnstartedServer(g)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		h2.Close()
		_ = g.Close()
	})

	for _, tt := range []struct {
		name string
		srv  *httptest.Server
		opts []connect.ClientOption
	}{
		{"connect proto", srv, nil},
		{"connect json", srv, []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc-web proto", srv, []connect.ClientOption{connect.WithGRPCWeb()}},
		{"grpc-web json", srv, []connect.ClientOption{connect.WithGRPCWeb(), connect.WithProtoJSON()}},
		{"grpc proto", h2, []connect.ClientOption{connect.WithGRPC()}},
		{"grpc json", h2, []connect.ClientOption{connect.WithGRPC(), connect.WithProtoJSON()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			echoes := echov1connect.NewEchoServiceClient(tt.srv.Client(), tt.srv.URL, tt.opts...)

			res, err := echoes.Echo(ctx, connect.NewRequest(&echov1.EchoRequest{Message: "hi", Payload: []byte{0, 1, 2}}))
			if err != nil {
				t.Fatalf("Echo = %v", err)
			}
			if res.Msg.GetMessage() != "hi" || string(res.Msg.GetPayload()) != "\x00\x01\x02" {
				t.Errorf("Echo = %v, want hi and its payload", res.Msg)
			}

			streamCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			stream, err := echoes.Stream(streamCtx, connect.NewRequest(&echov1.StreamRequest{Message: "again"}))
			if err != nil {
				t.Fatalf("Stream = %v", err)
			}
			for want := int64(1); want <= 3; want++ {
				if !stream.Receive() {
					t.Fatalf("Stream ended after %d messages: %v", want-1, stream.Err())
				}
				if got := stream.Msg(); got.GetNumber() != want || got.GetMessage() != "again" {
					t.Fatalf("Stream message %d = %v, want again, numbered %d", want, got, want)
				}
			}
			cancel()
			for stream.Receive() {
			}
			if code := connect.CodeOf(stream.Err()); code != connect.CodeCanceled {
				t.Errorf("Stream, canceled, ended with %v (%v), want canceled", stream.Err(), code)
			}
			_ = stream.Close()
		})
	}

}
