package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve starts the echo service with opts and returns a client for it.
func serve(t *testing.T, opts ...server.Option) (streaming.EchoClient, server.Server) {
	t.Helper()
	srv, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, opts...)
	c := client.New(client.WithAddress(addr))
	t.Cleanup(func() { _ = c.Close() })
	return streaming.NewEchoClient("echo", c), srv
}

// logTo returns a logger writing text lines to a buffer safe for concurrent use.
func logTo() (*slog.Logger, func() string) {
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	return slog.New(slog.NewTextHandler(w, nil)), func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	logger, logged := logTo()
	echoClient, _ := serve(t, server.WithLogger(logger))
	ctx := testutil.Context(t)
	for _, tt := range []struct {
		message  string
		code     errors.Code
		text     string
		inLog    string
		notInLog string
	}{
		{message: "error:not_found:no user \"ada\"", code: errors.CodeNotFound, text: `no user "ada"`, notInLog: "ada"},
		{message: "plain:password=hunter2 at db.internal", code: errors.CodeUnknown, text: "unknown error", inLog: "password=hunter2"},
		{message: "panic", code: errors.CodeInternal, text: "internal error: the handler panicked", inLog: "echo: asked to panic"},
	} {
		_, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: tt.message})
		var e *errors.Error
		if !stderrors.As(err, &e) {
			t.Fatalf("Echo(%q) error = %v (%T), want an *errors.Error", tt.message, err, err)
		}
		if e.Code() != tt.code || e.Message() != tt.text {
			t.Errorf("Echo(%q) = %v, %q, want %v, %q", tt.message, e.Code(), e.Message(), tt.code, tt.text)
		}
		if tt.inLog != "" && !strings.Contains(logged(), tt.inLog) {
			t.Errorf("Echo(%q): server log lacks %q:\n%s", tt.message, tt.inLog, logged())
		}
	}
	// The server keeps serving after a panic.
	res, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "still here"})
	if err != nil || res.GetMessage() != "still here" {
		t.Errorf("Echo after a panic = %v, %v, want the message back", res, err)
	}
}

func TestErrorDetails(t *testing.T) {
	t.Parallel()
	fail := func(context.Context, *streaming.EchoRequest) (*streaming.EchoResponse, error) {
		e := errors.Errorf(errors.CodeInvalidArgument, "bad message")
		_ = e.AddDetail(wrapperspb.String("message"))
		return nil, e
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName, server.NewUnaryMethod(streaming.EchoEchoProcedure, fail)))
	})
	c := client.New(client.WithAddress(addr))
	defer c.Close()
	_, err := streaming.NewEchoClient("echo", c).Echo(testutil.Context(t), &streaming.EchoRequest{})
	e, ok := stderrors.AsType[*errors.Error](err)
	if !ok || e.Code() != errors.CodeInvalidArgument || len(e.Details()) != 1 {
		t.Fatalf("error = %v, want invalid_argument with one detail", err)
	}
	var field wrapperspb.StringValue
	if err := e.Details()[0].UnmarshalTo(&field); err != nil || field.GetValue() != "message" {
		t.Errorf("detail = %v, %v, want %q", field.GetValue(), err, "message")
	}
}

// counter is an interceptor that records every call it sees, by side and
// procedure.
type counter struct {
	mu    sync.Mutex
	calls []string
}

func (c *counter) record(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, what)
}

func (c *counter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func (c *counter) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		c.record("unary " + req.Spec().Procedure)
		return next(ctx, req)
	}
}

func (c *counter) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
		c.record(req.Spec().StreamType.String() + " " + req.Spec().Procedure)
		return next(ctx, req)
	}
}

func (c *counter) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return func(ctx context.Context, conn rpc.HandlerConn) error {
		c.record(conn.Spec().StreamType.String() + " " + conn.Spec().Procedure)
		return next(ctx, conn)
	}
}

// TestInterceptors registers one interceptor on the server and the same on
// the client, and makes every kind of call: each sees all of them, the
// server's health and reflection included.
func TestInterceptors(t *testing.T) {
	t.Parallel()
	seen := &counter{}
	var grpcUnary atomic.Int32
	countGRPC := grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		grpcUnary.Add(1)
		return next(ctx, req)
	})
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, server.WithInterceptors(seen), server.WithGRPCOptions(countGRPC))
	c := client.New(client.WithAddress(addr), client.WithInterceptors(seen))
	defer c.Close()
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := testutil.Context(t)

	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	count, err := echoClient.Count(ctx, &streaming.CountRequest{N: 1})
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = count.Recv()
	}
	sum, err := echoClient.Sum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sum.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	chat, err := echoClient.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = chat.Recv()
	}

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	reflect, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reflect.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if res, err := reflect.Recv(); err != nil || len(res.GetListServicesResponse().GetService()) == 0 {
		t.Fatalf("reflection through the interceptor = %v, %v, want the services listed", res, err)
	}
	_ = reflect.CloseSend()
	for err == nil {
		_, err = reflect.Recv()
	}

	// The client's record of each call comes before the server's.
	want := []string{
		"unary /streaming.v1.Echo/Echo", "unary /streaming.v1.Echo/Echo",
		"server_stream /streaming.v1.Echo/Count", "server_stream /streaming.v1.Echo/Count",
		"client_stream /streaming.v1.Echo/Sum", "client_stream /streaming.v1.Echo/Sum",
		"bidi_stream /streaming.v1.Echo/Chat", "bidi_stream /streaming.v1.Echo/Chat",
		"unary /grpc.health.v1.Health/Check",
		"bidi_stream /grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	}
	if diff := cmp.Diff(want, seen.seen()); diff != "" {
		t.Errorf("calls the interceptor saw mismatch (-want +got):\n%s", diff)
	}
	// grpc-go's own unary interceptor runs for micro's methods as for health.
	if got := grpcUnary.Load(); got != 2 {
		t.Errorf("grpc.UnaryInterceptor ran %d times, want 2 (Echo and Check)", got)
	}
}

// TestInterceptorOrder checks that server-wide interceptors run outside a
// service's own, the first given outermost, and that an interceptor sees the
// request's headers and spec and can add response headers.
func TestInterceptorOrder(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(name string) rpc.Interceptor {
		return rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
			return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
				mu.Lock()
				calls = append(calls, name+" "+req.Spec().Procedure+" "+req.Header().Get("x-caller")+" "+req.Spec().Idempotency.String())
				mu.Unlock()
				res, err := next(ctx, req)
				if err == nil {
					res.Header().Set("x-"+name, "seen")
				}
				return res, err
			}
		})
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName,
			server.NewUnaryMethod(streaming.EchoEchoProcedure, echo.Handler{}.Echo, server.WithIdempotency(rpc.NoSideEffects))),
			server.WithInterceptors(record("service")))
	}, server.WithInterceptors(record("outer"), record("inner")))
	c := client.New(client.WithAddress(addr))
	defer c.Close()
	var header metadata.Metadata
	ctx := metadata.AppendToOutgoingContext(testutil.Context(t), "x-caller", "ada")
	if _, err := streaming.NewEchoClient("echo", c).Echo(ctx, &streaming.EchoRequest{}, client.WithResponseHeader(&header)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"outer /streaming.v1.Echo/Echo ada no_side_effects",
		"inner /streaming.v1.Echo/Echo ada no_side_effects",
		"service /streaming.v1.Echo/Echo ada no_side_effects",
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("interceptor calls mismatch (-want +got):\n%s", diff)
	}
	for _, key := range []string{"x-outer", "x-inner", "x-service"} {
		if header.Get(key) != "seen" {
			t.Errorf("response header %s = %q, want the interceptor's %q (headers: %v)", key, header.Get(key), "seen", header)
		}
	}
}

// TestInterceptorOwnResponse checks that a response an interceptor made of
// its own, instead of passing on the one it was given, is sent with its
// header and trailer.
func TestInterceptorOwnResponse(t *testing.T) {
	t.Parallel()
	replace := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
			res, err := next(ctx, req)
			if err != nil {
				return nil, err
			}
			return ownResponse{message: res.Any(), header: metadata.New("x-own", "h"), trailer: metadata.New("x-own", "t")}, nil
		}
	})
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, server.WithInterceptors(replace))
	c := client.New(client.WithAddress(addr))
	defer c.Close()
	var header, trailer metadata.Metadata
	res, err := streaming.NewEchoClient("echo", c).Echo(testutil.Context(t), &streaming.EchoRequest{Message: "hi"},
		client.WithResponseHeader(&header), client.WithResponseTrailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetMessage() != "hi" || header.Get("x-own") != "h" || trailer.Get("x-own") != "t" {
		t.Errorf("Echo = %q, header %v, trailer %v; want %q and the interceptor's x-own", res.GetMessage(), header, trailer, "hi")
	}
}

type ownResponse struct {
	message         any
	header, trailer metadata.Metadata
}

func (r ownResponse) Header() metadata.Metadata  { return r.header }
func (r ownResponse) Trailer() metadata.Metadata { return r.trailer }
func (r ownResponse) Any() any                   { return r.message }

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := testutil.Context(t)

	health := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", streaming.EchoName} {
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v, want SERVING", service, res.GetStatus(), err)
		}
	}
	if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope.Nope"}); err == nil {
		t.Error("Check of an unknown service succeeded, want NotFound")
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{streaming.EchoName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
	_ = stream.CloseSend()
}

func TestOptionsTurnOff(t *testing.T) {
	t.Parallel()
	_, addr := testserver.Start(t, nil, server.WithHealth(false), server.WithReflection(false))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(testutil.Context(t), &healthpb.HealthCheckRequest{})
	if got := errors.CodeOf(err); got != errors.CodeUnimplemented && !strings.Contains(err.Error(), "Unimplemented") {
		t.Errorf("health check with health off: %v, want Unimplemented", err)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	})
	c := client.New(client.WithAddress(addr), client.WithCodec(codec.JSON{}))
	defer c.Close()
	ctx := testutil.Context(t)
	spec := rpc.Spec{Procedure: streaming.EchoEchoProcedure}

	var res json.RawMessage
	if err := c.Invoke(ctx, "echo", spec, json.RawMessage(`{"message":"hi"}`), &res); err != nil {
		t.Fatalf("Invoke with raw JSON: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(res, &got); err != nil || got["message"] != "hi" {
		t.Errorf("response = %s, %v, want message hi", res, err)
	}

	// grpc-go rejects a request it cannot decode before the handler runs,
	// with its own code; the message names the field.
	err := c.Invoke(ctx, "echo", spec, json.RawMessage(`{"mesage":"hi"}`), &res)
	if err == nil || !strings.Contains(err.Error(), `unknown field "mesage"`) {
		t.Errorf("Invoke with an unknown field: %v, want an error naming the field", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	srv := server.New()
	handler := func(context.Context, *streaming.EchoRequest) (*streaming.EchoResponse, error) { return nil, nil }
	for _, tt := range []struct {
		name string
		desc *server.ServiceDesc
		want string
	}{
		{"no name", server.NewServiceDesc(""), "no name"},
		{"foreign procedure", server.NewServiceDesc("a.B", server.NewUnaryMethod("/c.D/E", handler)), `"/c.D/E" is not of the form /a.B/Method`},
		{"twice", server.NewServiceDesc("a.B", server.NewUnaryMethod("/a.B/E", handler), server.NewUnaryMethod("/a.B/E", handler)), "E described twice"},
		{"no handler", server.NewServiceDesc("a.B", &server.MethodDesc{Procedure: "/a.B/E"}), "no handler"},
	} {
		if err := srv.Register(tt.desc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Register error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	// Handlers that would panic when their methods are taken: an error
	// naming the service instead.
	type embedsNil struct {
		*streaming.UnimplementedEchoHandler
	}
	var nilPointer *embedsNil
	for _, tt := range []struct {
		name    string
		handler streaming.EchoHandler
		want    string
	}{
		{"nil", nil, "register service streaming.v1.Echo: the handler is nil"},
		{"nil pointer", nilPointer, "the handler is a nil *server_test.embedsNil"},
		{"nil embedded Unimplemented", &embedsNil{}, "embeds a nil *UnimplementedEchoHandler; embed UnimplementedEchoHandler by value"},
	} {
		if err := streaming.RegisterEchoHandler(srv, tt.handler); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RegisterEchoHandler(%s) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if err := streaming.RegisterEchoHandler(srv, echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(srv, echo.Handler{}); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second registration: %v, want already registered", err)
	}
	if got := len(srv.Services()); got != 1 {
		t.Errorf("len(Services()) = %d, want 1", got)
	}
	desc := srv.Services()[0]
	if m := desc.Methods[1]; m.Procedure != streaming.EchoCountProcedure || m.StreamType != rpc.ServerStream ||
		m.Request != "streaming.v1.CountRequest" || m.Response != "streaming.v1.CountResponse" {
		t.Errorf("Services()[0].Methods[1] = %+v, want Count described", m)
	}
	_ = srv.Shutdown(testutil.Context(t))
}

func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	calls := &testutil.Calls{}
	echoClient, srv := serve(t, server.WithInterceptors(calls))
	ctx := testutil.Context(t)
	done := make(chan error, 1)
	go func() {
		_, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "sleep:300ms"})
		done <- err
	}()
	calls.WaitStarted(t, streaming.EchoEchoProcedure, 1)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("call in flight during a graceful shutdown failed: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	calls := &testutil.Calls{}
	echoClient, srv := serve(t, server.WithInterceptors(calls))
	ctx := testutil.Context(t)
	done := make(chan error, 1)
	go func() {
		_, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "sleep:1h"})
		done <- err
	}()
	calls.WaitStarted(t, streaming.EchoEchoProcedure, 1)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(short); !stderrors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown past its deadline = %v, want DeadlineExceeded", err)
	}
	if err := <-done; err == nil {
		t.Error("a call still running when the grace period ended succeeded, want an error")
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	count := func(ctx context.Context, req *streaming.CountRequest, stream server.ServerStream[streaming.CountResponse]) error {
		if err := server.SetHeader(ctx, metadata.New("x-header", "h")); err != nil {
			return err
		}
		if err := server.SetTrailer(ctx, metadata.New("x-trailer", "t")); err != nil {
			return err
		}
		return stream.Send(&streaming.CountResponse{Number: 1})
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName, server.NewServerStreamMethod(streaming.EchoCountProcedure, count)))
	})
	c := client.New(client.WithAddress(addr))
	defer c.Close()
	stream, err := streaming.NewEchoClient("echo", c).Count(testutil.Context(t), &streaming.CountRequest{})
	if err != nil {
		t.Fatal(err)
	}
	header, err := stream.Header()
	if err != nil || header.Get("x-header") != "h" {
		t.Errorf("Header() = %v, %v, want x-header: h", header, err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := stream.Trailer().Get("x-trailer"); got != "t" {
		t.Errorf("Trailer()[x-trailer] = %q, want %q", got, "t")
	}
}
