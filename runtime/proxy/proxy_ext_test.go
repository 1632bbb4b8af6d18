package proxy_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/proxy"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startEcho runs the Echo service as name, registered in reg, until the
// test ends or stop is called.
func startEcho(t testing.TB, reg registry.Registry, name string, h echo.Handler) (stop func()) {
	t.Helper()
	return testserver.Service(t, reg, name, func(s server.Server) error { return streaming.RegisterEchoHandler(s, h) })
}

// startProxy serves a proxy on reg on a loopback port and returns it with
// its address.
func startProxy(t *testing.T, reg registry.Registry) (*proxy.Proxy, string) {
	t.Helper()
	return startProxyB(t, reg)
}

func startProxyB(t testing.TB, reg registry.Registry, opts ...proxy.Option) (*proxy.Proxy, string) {
	t.Helper()
	p, err := proxy.New(testutil.Context(t), reg, append([]proxy.Option{proxy.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve = %v", err)
		}
	})
	return p, lis.Addr().String()
}

// echoClient returns a generated Echo client that calls address, whatever
// service it names.
func echoClient(t *testing.T, address string) streaming.EchoClient {
	t.Helper()
	c := client.New(client.WithAddress(address), client.WithLogger(quiet))
	t.Cleanup(func() { _ = c.Close() })
	return streaming.NewEchoClient("anything", c)
}

func TestProxyForwardsEveryKindOfCall(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startEcho(t, reg, "echo", echo.Handler{Node: "behind"})
	_, address := startProxy(t, reg)
	ctx := testutil.Context(t)
	echoes := echoClient(t, address)

	t.Run("unary", func(t *testing.T) {
		res, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "hi", Payload: []byte{0, 1, 2}}, client.WithHeaders("x-request-id", "r1"))
		if err != nil {
			t.Fatalf("Echo = %v", err)
		}
		if res.GetMessage() != "hi" || string(res.GetPayload()) != "\x00\x01\x02" || res.GetNode() != "behind" {
			t.Errorf("Echo = %v, want hi, its payload, from node behind", res)
		}
		if got := res.GetMetadata()["x-request-id"]; got != "r1" {
			t.Errorf("Echo's metadata x-request-id = %q, want r1", got)
		}
	})
	t.Run("large", func(t *testing.T) {
		// Messages of several HTTP/2 frames, which grpc-go holds in pooled
		// buffers that the proxy passes on and gives back.
		payload := bytes.Repeat([]byte("0123456789abcdef"), 8<<10)
		for range 3 {
			res, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "hi", Payload: payload})
			if err != nil {
				t.Fatalf("Echo = %v", err)
			}
			if !bytes.Equal(res.GetPayload(), payload) {
				t.Fatalf("Echo of a %d-byte payload = %d bytes back, not the same", len(payload), len(res.GetPayload()))
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		res, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "hi"}, client.WithTimeout(3*time.Second))
		if err != nil {
			t.Fatalf("Echo = %v", err)
		}
		if ms := res.GetDeadlineMs(); ms <= 0 || ms > 3000 {
			t.Errorf("Echo's deadline_ms = %d, want the caller's 3s less the trip", ms)
		}
		_, err = echoes.Echo(ctx, &streaming.EchoRequest{Message: "sleep:10s"}, client.WithTimeout(100*time.Millisecond))
		if got := errors.CodeOf(err); got != errors.CodeDeadlineExceeded {
			t.Errorf("Echo(sleep:10s) with a 100ms timeout = %v (%v), want deadline_exceeded", err, got)
		}
	})
	t.Run("error", func(t *testing.T) {
		_, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "details:not_found:no such user"})
		var e *errors.Error
		if !stderrors.As(err, &e) || e.Code() != errors.CodeNotFound || e.Message() != "no such user" {
			t.Fatalf("Echo(details:...) = %v, want not_found: no such user", err)
		}
		var info *errdetails.ErrorInfo
		for _, d := range e.Details() {
			if m, err := d.UnmarshalNew(); err == nil {
				if i, ok := m.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
		}
		if info.GetReason() != "ECHO_ASKED" {
			t.Errorf("Echo(details:...) details = %v, want the ErrorInfo the handler attached", e.Details())
		}
	})
	t.Run("server stream", func(t *testing.T) {
		stream, err := echoes.Count(ctx, &streaming.CountRequest{N: 3})
		if err != nil {
			t.Fatalf("Count = %v", err)
		}
		var got []int64
		for {
			res, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Recv = %v", err)
			}
			got = append(got, res.GetNumber())
		}
		if len(got) != 3 || got[0] != 1 || got[2] != 3 {
			t.Errorf("Count(3) sent %v, want [1 2 3]", got)
		}
	})
	t.Run("client stream", func(t *testing.T) {
		stream, err := echoes.Sum(ctx)
		if err != nil {
			t.Fatalf("Sum = %v", err)
		}
		for _, n := range []int64{1, 2, 39} {
			if err := stream.Send(&streaming.SumRequest{Number: n}); err != nil {
				t.Fatalf("Send = %v", err)
			}
		}
		res, err := stream.CloseAndRecv()
		if err != nil || res.GetSum() != 42 || res.GetCount() != 3 {
			t.Errorf("Sum(1, 2, 39) = %v, %v, want sum 42 of 3", res, err)
		}
	})
	t.Run("bidi stream", func(t *testing.T) {
		stream, err := echoes.Chat(ctx)
		if err != nil {
			t.Fatalf("Chat = %v", err)
		}
		for _, text := range []string{"a", strings.Repeat("b", 40<<10), strings.Repeat("c", 20<<10), "d"} {
			if err := stream.Send(&streaming.ChatRequest{Text: text}); err != nil {
				t.Fatalf("Send = %v", err)
			}
			res, err := stream.Recv()
			if err != nil || res.GetText() != "echo: "+text {
				t.Fatalf("Recv = %d bytes, %v, want echo: and the %d sent", len(res.GetText()), err, len(text))
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatalf("CloseSend = %v", err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Errorf("Recv after CloseSend = %v, want io.EOF", err)
		}
	})
	t.Run("unknown procedure", func(t *testing.T) {
		c := client.New(client.WithAddress(address), client.WithLogger(quiet))
		defer c.Close()
		_, err := client.NewMethod[streaming.EchoRequest, streaming.EchoResponse](c, "anything", "/nothing.v1.Nothing/Do").CallUnary(ctx, &streaming.EchoRequest{})
		if got := errors.CodeOf(err); got != errors.CodeUnimplemented {
			t.Errorf("calling a procedure no service lists = %v (%v), want unimplemented", err, got)
		}
	})
}

func TestProxyCancelsTheCallBehindIt(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	ended := make(chan error, 1)
	startEcho(t, reg, "echo", echo.Handler{Ended: func(procedure string, err error) {
		if procedure == streaming.EchoCountProcedure {
			ended <- err
		}
	}})
	_, address := startProxy(t, reg)
	ctx, cancel := context.WithCancel(testutil.Context(t))
	stream, err := echoClient(t, address).Count(ctx, &streaming.CountRequest{IntervalMs: 10}) // until canceled
	if err != nil {
		t.Fatalf("Count = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("Recv = %v", err)
	}
	cancel()
	select {
	case err := <-ended:
		if got := errors.CodeOf(err); got != errors.CodeCanceled {
			t.Errorf("the handler ended with %v (%v), want canceled", err, got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler behind the proxy still runs 10s after its caller canceled")
	}
}

func TestProxyFollowsTheRegistry(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	p, address := startProxy(t, reg)
	ctx := testutil.Context(t)
	echoes := echoClient(t, address)
	stop := startEcho(t, reg, "echo", echo.Handler{})
	testutil.WaitFor(t, "the proxy to see echo", func() bool { return len(p.Services()) == 1 })
	if _, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "hi"}); err != nil {
		t.Fatalf("Echo once echo registered = %v", err)
	}
	stop()
	testutil.WaitFor(t, "the proxy to see echo leave", func() bool { return len(p.Services()) == 0 })
	_, err := echoes.Echo(ctx, &streaming.EchoRequest{Message: "hi"})
	if got := errors.CodeOf(err); got != errors.CodeUnimplemented {
		t.Errorf("Echo once echo left = %v (%v), want unimplemented", err, got)
	}
}

func TestProxyHealth(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startEcho(t, reg, "echo", echo.Handler{})
	_, address := startProxy(t, reg)
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	ctx := testutil.Context(t)
	for _, tt := range []struct {
		service string
		want    codes.Code // of the call; OK means SERVING
	}{
		{"", codes.OK},
		{"echo", codes.OK},
		{"streaming.v1.Echo", codes.OK},
		{"nothing", codes.NotFound},
	} {
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: tt.service})
		if got := status.Code(err); got != tt.want || err == nil && res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v (%v), want %v and SERVING", tt.service, res, err, got, tt.want)
		}
	}

	probe := testutil.Tool(t, "grpc_health_probe", "grpc-health-probe")
	for _, tt := range []struct {
		service string
		ok      bool
	}{{"", true}, {"streaming.v1.Echo", true}, {"nothing", false}} {
		out, err := exec.CommandContext(ctx, probe, "-addr", address, "-service", tt.service).CombinedOutput()
		if (err == nil) != tt.ok {
			t.Errorf("grpc_health_probe -service %q = %v, want ok %v\n%s", tt.service, err, tt.ok, out)
		}
	}
}

func TestProxyReflectionWithGrpcurl(t *testing.T) {
	t.Parallel()
	grpcurl := testutil.Tool(t, "grpcurl")
	reg := memory.New()
	startEcho(t, reg, "echo", echo.Handler{})
	_, address := startProxy(t, reg)
	ctx := testutil.Context(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, grpcurl, append([]string{"-plaintext"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("grpcurl %s = %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, want := range []string{"streaming.v1.Echo", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if out := run(address, "list"); !strings.Contains(out, want) {
			t.Errorf("grpcurl list = %q, want %s in it", out, want)
		}
	}
	if out := run(address, "describe", "streaming.v1.Echo"); !strings.Contains(out, "rpc Chat ( stream .streaming.v1.ChatRequest )") {
		t.Errorf("grpcurl describe streaming.v1.Echo = %q, want Chat described", out)
	}
	if out := run(address, "describe", "streaming.v1.EchoResponse"); !strings.Contains(out, "deadline_ms") {
		t.Errorf("grpcurl describe streaming.v1.EchoResponse = %q, want its fields", out)
	}
	if out := run("-d", `{"message": "through"}`, address, "streaming.v1.Echo/Echo"); !strings.Contains(out, `"message": "through"`) {
		t.Errorf("grpcurl call Echo = %q, want the message back", out)
	}
	if out := run("-d", `{"n": 2}`, address, "streaming.v1.Echo/Count"); !strings.Contains(out, `"number": "2"`) {
		t.Errorf("grpcurl call Count = %q, want 2 numbers", out)
	}
}

func TestProxyRetriesOnlyIdempotentMethods(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	var mu sync.Mutex
	calls := make(map[string]int)
	// Each method fails its first call as a node that is going away would.
	flaky := func(procedure string) func(context.Context, *streaming.EchoRequest) (*streaming.EchoResponse, error) {
		return func(_ context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			calls[procedure]++
			if calls[procedure] == 1 {
				return nil, errors.Errorf(errors.CodeUnavailable, "going away")
			}
			return &streaming.EchoResponse{Message: req.GetMessage()}, nil
		}
	}
	const get, post = "/flaky.v1.Flaky/Get", "/flaky.v1.Flaky/Post"
	svc, err := micro.NewService("flaky", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Server().Register(server.NewServiceDesc("flaky.v1.Flaky",
		server.NewUnaryMethod(get, flaky(get), server.WithIdempotency(rpc.NoSideEffects)),
		server.NewUnaryMethod(post, flaky(post)),
	)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(flaky) = %v", err)
		}
	})
	p, address := startProxy(t, reg)
	testutil.WaitFor(t, "the proxy to see flaky", func() bool { return len(p.Services()) == 1 })

	// The caller declares nothing: what the proxy retries it decides from
	// the endpoints in the registry.
	c := client.New(client.WithAddress(address), client.WithLogger(quiet), client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}))
	defer c.Close()
	// Large enough that grpc-go holds it in pooled buffers, which the proxy
	// sends from: the retry must send it whole again.
	message := strings.Repeat("x", 8<<10)
	call := func(procedure string) (*streaming.EchoResponse, error) {
		return client.NewMethod[streaming.EchoRequest, streaming.EchoResponse](c, "flaky", procedure).CallUnary(testutil.Context(t), &streaming.EchoRequest{Message: message})
	}
	if res, err := call(get); err != nil || res.GetMessage() != message {
		t.Errorf("calling %s (no side effects), which fails once = %d bytes, %v, want it retried with the request whole (%d bytes)", get, len(res.GetMessage()), err, len(message))
	}
	if _, err := call(post); errors.CodeOf(err) != errors.CodeUnavailable {
		t.Errorf("calling %s (idempotency unknown), which fails once = %v, want unavailable, not retried", post, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string]int{get: 2, post: 1}, calls); diff != "" {
		t.Errorf("calls the service got (-want +got):\n%s", diff)
	}
}

func TestProxyReadsTheProceduresOfAServiceRegisteredWithoutEndpoints(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	_, node := testserver.Start(t, func(s server.Server) error { return streaming.RegisterEchoHandler(s, echo.Handler{}) })
	if err := reg.Register(testutil.Context(t), &registry.Service{Name: "by-hand", Nodes: []*registry.Node{{ID: "1", Address: node}}}); err != nil {
		t.Fatal(err)
	}
	_, address := startProxy(t, reg)
	stream, err := echoClient(t, address).Count(testutil.Context(t), &streaming.CountRequest{N: 2})
	if err != nil {
		t.Fatalf("Count = %v", err)
	}
	n := 0
	for {
		if _, err := stream.Recv(); err != nil {
			if err != io.EOF {
				t.Fatalf("Recv = %v", err)
			}
			break
		}
		n++
	}
	if n != 2 {
		t.Errorf("Count(2) through the proxy sent %d numbers, want 2", n)
	}
}
