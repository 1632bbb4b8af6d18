package client_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startEcho serves the echo service, with handler h, and returns its address.
func startEcho(t testing.TB, h streaming.EchoHandler) string {
	t.Helper()
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, h)
	})
	return addr
}

func newClient(t *testing.T, opts ...client.Option) client.Client {
	t.Helper()
	c := client.New(opts...)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func register(t *testing.T, r registry.Registry, name string, addrs ...string) {
	t.Helper()
	s := &registry.Service{Name: name, Version: "v1"}
	for _, addr := range addrs {
		s.Nodes = append(s.Nodes, &registry.Node{ID: addr, Address: addr})
	}
	if err := r.Register(testutil.Context(t), s); err != nil {
		t.Fatal(err)
	}
}

// tagged answers Echo with its own tag, to tell nodes apart.
type tagged struct {
	echo.Handler
	tag string
}

func (h tagged) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	return &streaming.EchoResponse{Message: h.tag}, nil
}

func TestRegistryRoundRobin(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	register(t, reg, "echo", startEcho(t, tagged{tag: "a"}), startEcho(t, tagged{tag: "b"}))
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg)))
	ctx := testutil.Context(t)
	seen := map[string]int{}
	// Connections come up asynchronously; round robin covers both once both are ready.
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		seen[res.GetMessage()]++
	}
	if len(seen) != 2 {
		t.Fatalf("calls reached %v, want both nodes", seen)
	}
}

func TestRegistryWatch(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	a, b := startEcho(t, tagged{tag: "a"}), startEcho(t, tagged{tag: "b"})
	register(t, reg, "echo", a)
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg)))
	ctx := testutil.Context(t)
	testutil.WaitFor(t, "calls to reach a", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		return err == nil && res.GetMessage() == "a"
	})
	// Move the service from a to b: the watch must carry the change.
	register(t, reg, "echo", b)
	if err := reg.Deregister(ctx, &registry.Service{Name: "echo", Version: "v1", Nodes: []*registry.Node{{ID: a}}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "calls to move to b", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		return err == nil && res.GetMessage() == "b"
	})
}

func TestUnknownService(t *testing.T) {
	t.Parallel()
	echoClient := streaming.NewEchoClient("nosuch", newClient(t, client.WithRegistry(memory.New())))
	_, err := echoClient.Echo(testutil.Context(t), &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeNotFound || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("call to an unknown service: %v, want not_found naming it", err)
	}
}

func TestNoRegistry(t *testing.T) {
	t.Parallel()
	_, err := streaming.NewEchoClient("echo", newClient(t)).Echo(testutil.Context(t), &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeFailedPrecondition || !strings.Contains(err.Error(), "client.WithRegistry") {
		t.Errorf("call without registry or address: %v, want failed_precondition saying what to do", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, echo.Handler{})
	c := newClient(t, client.WithAddress(addr), client.WithDefaultTimeout(100*time.Millisecond))
	echoClient := streaming.NewEchoClient("echo", c)
	noDeadline := t.Context()

	// The client's timeout bounds a call whose context has no deadline. It
	// is the client's safety net, not a deadline the server sees.
	_, err := echoClient.Echo(noDeadline, &streaming.EchoRequest{Message: "sleep:10s"})
	if errors.CodeOf(err) != errors.CodeDeadlineExceeded || !stderrors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "the client's default timeout of 100ms") {
		t.Errorf("call past the client timeout: %v, want deadline_exceeded wrapping context.DeadlineExceeded and naming the timeout", err)
	}
	res, err := echoClient.Echo(noDeadline, &streaming.EchoRequest{})
	if err != nil || res.GetDeadlineMs() != 0 {
		t.Errorf("deadline seen by the server = %dms, %v, want none", res.GetDeadlineMs(), err)
	}
	// A call's own timeout replaces the client's default, and is a deadline
	// the server sees.
	if _, err := echoClient.Echo(noDeadline, &streaming.EchoRequest{Message: "sleep:300ms"}, client.WithTimeout(10*time.Second)); err != nil {
		t.Errorf("call with a longer per-call timeout: %v", err)
	}
	if res, err := echoClient.Echo(noDeadline, &streaming.EchoRequest{}, client.WithTimeout(time.Second)); err != nil || res.GetDeadlineMs() <= 0 || res.GetDeadlineMs() > 1000 {
		t.Errorf("deadline seen by the server = %dms, %v, want within (0, 1000]", res.GetDeadlineMs(), err)
	}
	// A context's own deadline replaces the default, longer or shorter.
	ctx := testutil.Context(t)
	if res, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil || res.GetDeadlineMs() < 1000 {
		t.Errorf("deadline seen by the server = %dms, %v, want the context's (about 30s)", res.GetDeadlineMs(), err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if res, err := echoClient.Echo(short, &streaming.EchoRequest{}); err != nil || res.GetDeadlineMs() > 30 {
		t.Errorf("deadline seen by the server = %dms, %v, want at most 30", res.GetDeadlineMs(), err)
	}
	// Streams are not bound by the default timeout.
	stream, err := echoClient.Count(ctx, &streaming.CountRequest{N: 3, IntervalMs: 60})
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, stream); len(got) != 3 {
		t.Errorf("stream longer than the unary timeout received %d numbers, want 3", len(got))
	}
}

// TestTimeoutUncancelable covers the default timeout of calls whose context
// cannot be canceled (context.Background and values on it), which share one
// timer per window of the timeout instead of one each.
func TestTimeoutUncancelable(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, echo.Handler{})
	type key struct{}
	type seen struct {
		value       any
		hasDeadline bool
	}
	calls := make(chan seen, 100)
	c := newClient(t, client.WithAddress(addr), client.WithDefaultTimeout(100*time.Millisecond),
		client.WithGRPCOptions(grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			_, hasDeadline := ctx.Deadline()
			calls <- seen{value: ctx.Value(key{}), hasDeadline: hasDeadline}
			return invoker(ctx, method, req, reply, cc, opts...)
		})))
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := context.WithValue(context.Background(), key{}, "value")

	start := time.Now()
	_, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "sleep:10s"})
	if errors.CodeOf(err) != errors.CodeDeadlineExceeded || !stderrors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "the client's default timeout of 100ms") {
		t.Errorf("call past the client timeout: %v, want deadline_exceeded wrapping context.DeadlineExceeded and naming the timeout", err)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("call past the client timeout took %v, want 100ms and a little more", elapsed)
	}
	if got := <-calls; got.value != "value" || got.hasDeadline {
		t.Errorf("grpc-go saw value %v, deadline %t; want the caller's value and no deadline", got.value, got.hasDeadline)
	}
	// The calls that follow start under a new timer, which cuts none of
	// them short: one fails only once it has had its 100ms, which a loaded
	// machine may take.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			start := time.Now()
			res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
			switch elapsed := time.Since(start); {
			case err == nil && res.GetDeadlineMs() == 0:
			case err == nil:
				t.Errorf("call after a timeout: the server saw a deadline of %dms, want none", res.GetDeadlineMs())
			case errors.CodeOf(err) != errors.CodeDeadlineExceeded || elapsed < 100*time.Millisecond:
				t.Errorf("call after a timeout failed after %v: %v; want success, or the default timeout after 100ms", elapsed, err)
			}
		})
	}
	wg.Wait()
}

func drain(t *testing.T, stream client.ServerStream[streaming.CountResponse]) []int64 {
	t.Helper()
	var got []int64
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		got = append(got, res.GetNumber())
	}
}

// TestPropagation calls a service whose handler calls another with its own
// context: only the deadline and the allow-listed header go on; credentials
// and everything else the first caller sent stay behind.
func TestPropagation(t *testing.T) {
	t.Parallel()
	backend := streaming.NewEchoClient("backend", newClient(t,
		client.WithAddress(startEcho(t, echo.Handler{})),
		client.WithPropagatedHeaders("x-request-id", "Authorization")))
	// front forwards every Echo to backend with its own context.
	front := startEcho(t, forward{backend: backend})
	echoClient := streaming.NewEchoClient("front", newClient(t, client.WithAddress(front)))

	ctx := metadata.AppendToOutgoingContext(testutil.Context(t),
		"x-request-id", "r-1", "authorization", "Bearer secret", "cookie", "session=1", "tenant", "acme")
	res, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithHeaders("x-call", "1"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x-request-id": "r-1", "x-forwarded-by": "front"}
	if diff := cmp.Diff(want, res.GetMetadata()); diff != "" {
		t.Errorf("metadata two hops away mismatch (-want +got):\n%s", diff)
	}
	if res.GetDeadlineMs() <= 0 {
		t.Errorf("deadline two hops away = %dms, want the caller's deadline to propagate", res.GetDeadlineMs())
	}
}

type forward struct {
	echo.Handler
	backend streaming.EchoClient
}

func (f forward) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	return f.backend.Echo(ctx, req, client.WithHeaders("x-forwarded-by", "front"))
}

func TestStreams(t *testing.T) {
	t.Parallel()
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithAddress(startEcho(t, echo.Handler{}))))
	ctx := testutil.Context(t)

	count, err := echoClient.Count(ctx, &streaming.CountRequest{N: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, drain(t, count)); diff != "" {
		t.Errorf("Count mismatch (-want +got):\n%s", diff)
	}

	sum, err := echoClient.Sum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{1, 2, 3, 4} {
		if err := sum.Send(&streaming.SumRequest{Number: n}); err != nil {
			t.Fatal(err)
		}
	}
	total, err := sum.CloseAndRecv()
	if err != nil || total.GetSum() != 10 || total.GetCount() != 4 {
		t.Errorf("Sum = %v, %v, want sum 10 of 4", total, err)
	}

	chat, err := echoClient.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var replies []string
	for _, text := range []string{"a", "b"} {
		if err := chat.Send(&streaming.ChatRequest{Text: text}); err != nil {
			t.Fatal(err)
		}
		res, err := chat.Recv()
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, res.GetText())
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); err != io.EOF {
		t.Errorf("Recv after CloseSend = %v, want io.EOF", err)
	}
	if diff := cmp.Diff([]string{"echo: a", "echo: b"}, replies); diff != "" {
		t.Errorf("Chat mismatch (-want +got):\n%s", diff)
	}
}

func TestStreamCancel(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	h := echo.Handler{Ended: func(procedure string, err error) {
		if procedure == streaming.EchoCountProcedure {
			ended <- err
		}
	}}
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithAddress(startEcho(t, h))))
	ctx, cancel := context.WithCancel(testutil.Context(t))
	stream, err := echoClient.Count(ctx, &streaming.CountRequest{N: 0, IntervalMs: 5})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if _, err := stream.Recv(); errors.CodeOf(err) != errors.CodeCanceled {
		t.Errorf("Recv after cancel = %v, want canceled", err)
	}
	select {
	case err := <-ended:
		if errors.CodeOf(err) != errors.CodeCanceled {
			t.Errorf("the handler ended with %v, want canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler did not see the cancellation")
	}
}

func TestInterceptors(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(name string) rpc.Interceptor {
		return interceptor{
			unary: func(next rpc.UnaryFunc) rpc.UnaryFunc {
				return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
					req.Header().Set("x-"+name, "1") // what an auth interceptor does
					res, err := next(ctx, req)
					if err != nil {
						return nil, err
					}
					mu.Lock()
					calls = append(calls, fmt.Sprintf("%s %s %s peer=%t header=%s trailer=%s", name, req.Spec().Procedure, req.Spec().Idempotency, req.Peer().Addr != "", res.Header().Get("x-node"), res.Trailer().Get("x-took")))
					mu.Unlock()
					return res, nil
				}
			},
			stream: func(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
				return func(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
					mu.Lock()
					calls = append(calls, name+" "+req.Spec().Procedure+" "+req.Spec().StreamType.String())
					mu.Unlock()
					return next(ctx, req)
				}
			},
		}
	}
	// The server tells its node in a response header, from an interceptor.
	node := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
			res, err := next(ctx, req)
			if err == nil {
				res.Header().Set("x-node", "n1")
				res.Trailer().Set("x-took", "1ms")
			}
			return res, err
		}
	})
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, server.WithInterceptors(node))
	// Options for grpc-go may install grpc-go's own interceptors, which run
	// inside micro's: with them or without, interceptors and the caller read
	// the same. The outer interceptor says it reads the response's
	// metadata, so both see it whether the caller asks for it or not.
	for _, grpcOptions := range [][]grpc.DialOption{nil, {grpc.WithUserAgent("test")}} {
		calls = nil
		c := newClient(t, client.WithAddress(addr), client.WithInterceptors(rpc.ReadingResponseMetadata(record("outer")), record("inner")), client.WithGRPCOptions(grpcOptions...))
		ctx := testutil.Context(t)
		echoClient := streaming.NewEchoClient("echo", c)
		var header, trailer metadata.Metadata
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent), client.WithResponseHeader(&header), client.WithResponseTrailer(&trailer))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.GetMetadata(); got["x-outer"] != "1" || got["x-inner"] != "1" {
			t.Errorf("headers the server received = %v, want both interceptors' x-outer and x-inner", got)
		}
		if header.Get("x-node") != "n1" || trailer.Get("x-took") != "1ms" {
			t.Errorf("the caller read header %v, trailer %v; want x-node and x-took", header, trailer)
		}
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent)); err != nil {
			t.Fatal(err)
		}
		if _, err := echoClient.Chat(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		want := []string{
			"inner /streaming.v1.Echo/Echo idempotent peer=true header=n1 trailer=1ms",
			"outer /streaming.v1.Echo/Echo idempotent peer=true header=n1 trailer=1ms",
			"inner /streaming.v1.Echo/Echo idempotent peer=true header=n1 trailer=1ms",
			"outer /streaming.v1.Echo/Echo idempotent peer=true header=n1 trailer=1ms",
			"outer /streaming.v1.Echo/Chat bidi_stream",
			"inner /streaming.v1.Echo/Chat bidi_stream",
		}
		if diff := cmp.Diff(want, calls); diff != "" {
			t.Errorf("with grpc-go options %v: interceptor calls mismatch (-want +got):\n%s", grpcOptions, diff)
		}
		mu.Unlock()
	}
}

// TestResponseMetadataOnlyWhenRead checks that a client copies a unary
// response's header and trailer out of grpc-go only for the calls that read
// them: for an interceptor that says it does, or a caller that asks, and not
// for an interceptor that only looks at the request.
//
// Not parallel: testing.AllocsPerRun counts the whole process's allocations.
func TestResponseMetadataOnlyWhenRead(t *testing.T) {
	handler := func(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
		if err := server.SetHeader(ctx, metadata.New("x-header", "h")); err != nil {
			return nil, err
		}
		return &streaming.EchoResponse{}, nil
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName, server.NewUnaryMethod(streaming.EchoEchoProcedure, handler)))
	})
	var seen atomic.Value
	look := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
			res, err := next(ctx, req)
			if err == nil {
				seen.Store(res.Header().Get("x-header"))
			}
			return res, err
		}
	})
	allocs := func(c client.Client, opts ...client.CallOption) float64 {
		echoClient := streaming.NewEchoClient("echo", c)
		ctx := testutil.Context(t)
		call := func() {
			if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, opts...); err != nil {
				t.Fatal(err)
			}
		}
		call() // connect
		return testing.AllocsPerRun(50, call)
	}
	plain := allocs(newClient(t, client.WithAddress(addr), client.WithInterceptors(look)))
	if got := seen.Load(); got != "" {
		t.Errorf("an interceptor that does not read response metadata saw header x-header: %q, want none copied", got)
	}
	var header metadata.Metadata
	asked := allocs(newClient(t, client.WithAddress(addr), client.WithInterceptors(look)), client.WithResponseHeader(&header))
	if got := seen.Load(); got != "h" || header.Get("x-header") != "h" {
		t.Errorf("with client.WithResponseHeader: the interceptor saw x-header: %q, the caller %v; want h for both", got, header)
	}
	reading := allocs(newClient(t, client.WithAddress(addr), client.WithInterceptors(rpc.ReadingResponseMetadata(look))))
	if got := seen.Load(); got != "h" {
		t.Errorf("a reading interceptor saw x-header: %q, want h", got)
	}
	if plain >= asked || plain >= reading {
		t.Errorf("allocations per call: %.0f without reading the response's metadata, %.0f when the caller asks, %.0f for a reading interceptor; want fewer without", plain, asked, reading)
	}
}

// TestInterceptorHeaderCopy checks that headers an interceptor adds are sent
// without changing the outgoing metadata of the caller's context, which the
// request's headers start as.
func TestInterceptorHeaderCopy(t *testing.T) {
	t.Parallel()
	addHeader := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
			req.Header().Set("x-added", "1")
			return next(ctx, req)
		}
	})
	addr := startEcho(t, echo.Handler{})
	c := newClient(t, client.WithAddress(addr), client.WithInterceptors(addHeader))
	ctx := metadata.AppendToOutgoingContext(testutil.Context(t), "x-caller", "ada")
	res, err := streaming.NewEchoClient("echo", c).Echo(ctx, &streaming.EchoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetMetadata(); got["x-caller"] != "ada" || got["x-added"] != "1" {
		t.Errorf("headers the server received = %v, want x-caller: ada and x-added: 1", got)
	}
	if got := metadata.FromOutgoingContext(ctx); got.Get("x-added") != "" {
		t.Errorf("outgoing metadata of the caller's context = %v, want it without the interceptor's x-added", got)
	}
}

// interceptor is an rpc.Interceptor of functions; nil ones pass through.
type interceptor struct {
	unary  func(rpc.UnaryFunc) rpc.UnaryFunc
	stream func(rpc.StreamingClientFunc) rpc.StreamingClientFunc
}

func (i interceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc { return i.unary(next) }
func (i interceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return i.stream(next)
}
func (i interceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}

// TestResponseMetadata reads, as a unary caller, the header and trailer its
// handler set.
func TestResponseMetadata(t *testing.T) {
	t.Parallel()
	echoHandler := func(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
		if err := server.SetHeader(ctx, metadata.New("x-header", "h")); err != nil {
			return nil, err
		}
		if err := server.SetTrailer(ctx, metadata.New("x-trailer", "t")); err != nil {
			return nil, err
		}
		if req.GetMessage() == "fail" {
			return nil, errors.Errorf(errors.CodeAborted, "failed on purpose")
		}
		return &streaming.EchoResponse{}, nil
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName, server.NewUnaryMethod(streaming.EchoEchoProcedure, echoHandler)))
	})
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithAddress(addr)))
	for _, message := range []string{"", "fail"} {
		var header, trailer metadata.Metadata
		_, err := echoClient.Echo(testutil.Context(t), &streaming.EchoRequest{Message: message},
			client.WithResponseHeader(&header), client.WithResponseTrailer(&trailer))
		if (err != nil) != (message == "fail") {
			t.Fatalf("Echo(%q): %v", message, err)
		}
		if got := trailer.Get("x-trailer"); got != "t" {
			t.Errorf("Echo(%q): trailer x-trailer = %q, want %q", message, got, "t")
		}
		// A failed call sends no header frame of its own: its headers come
		// with the trailers.
		if got := header.Get("x-header"); got != "h" && message == "" {
			t.Errorf("Echo(%q): header x-header = %q, want %q", message, got, "h")
		}
	}
}

// TestWireErrors tells errors a server sent from errors the client made.
func TestWireErrors(t *testing.T) {
	t.Parallel()
	fail := func(context.Context, *streaming.EchoRequest) (*streaming.EchoResponse, error) {
		e := errors.Errorf(errors.CodeNotFound, "no such user")
		if err := e.AddDetail(&errdetails.ErrorInfo{Reason: "USER_NOT_FOUND", Domain: "example.com", Metadata: map[string]string{"user": "ada"}}); err != nil {
			return nil, err
		}
		return nil, e
	}
	_, addr := testserver.Start(t, func(s server.Server) error {
		return s.Register(server.NewServiceDesc(streaming.EchoName, server.NewUnaryMethod(streaming.EchoEchoProcedure, fail)))
	})
	ctx := testutil.Context(t)

	_, err := streaming.NewEchoClient("echo", newClient(t, client.WithAddress(addr))).Echo(ctx, &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeNotFound || !errors.IsWire(err) {
		t.Fatalf("handler's NotFound = %v (wire %t), want not_found from the wire", err, errors.IsWire(err))
	}
	e, _ := stderrors.AsType[*errors.Error](err)
	var info errdetails.ErrorInfo
	if len(e.Details()) != 1 || e.Details()[0].UnmarshalTo(&info) != nil || info.GetReason() != "USER_NOT_FOUND" || info.GetMetadata()["user"] != "ada" {
		t.Errorf("details = %v, want the handler's ErrorInfo", e.Details())
	}

	_, err = streaming.NewEchoClient("nosuch", newClient(t, client.WithRegistry(memory.New()))).Echo(ctx, &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeNotFound || errors.IsWire(err) {
		t.Errorf("unknown service = %v (wire %t), want a local not_found", err, errors.IsWire(err))
	}
	_, err = streaming.NewEchoClient("echo", newClient(t)).Echo(ctx, &streaming.EchoRequest{})
	if errors.IsWire(err) {
		t.Errorf("no registry = %v, want a local error", err)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-short.Done()
	if _, err = streaming.NewEchoClient("echo", newClient(t, client.WithAddress(addr))).Echo(short, &streaming.EchoRequest{}); errors.CodeOf(err) != errors.CodeDeadlineExceeded || errors.IsWire(err) {
		t.Errorf("call past its own deadline = %v (wire %t), want a local deadline_exceeded", err, errors.IsWire(err))
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	c := client.New(client.WithAddress(startEcho(t, echo.Handler{})))
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := testutil.Context(t)
	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
	if !stderrors.Is(err, client.ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	register(t, reg, "echo", "127.0.0.1:1") // nothing listens on port 1
	_, err := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg))).Echo(testutil.Context(t), &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeUnavailable {
		t.Errorf("call to a node that is down: %v, want unavailable", err)
	}
}

// unavailable answers every Echo with Unavailable, as a node in trouble
// would, and counts them.
type unavailable struct {
	echo.Handler
	calls *atomic.Int64
}

func (h unavailable) Echo(context.Context, *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	h.calls.Add(1)
	return nil, errors.Errorf(errors.CodeUnavailable, "overloaded")
}

func TestRetries(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	var troubled atomic.Int64
	register(t, reg, "echo", startEcho(t, unavailable{calls: &troubled}), startEcho(t, tagged{tag: "ok"}))
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg)))
	ctx := testutil.Context(t)
	testutil.WaitFor(t, "both nodes to be used", func() bool {
		_, _ = echoClient.Echo(ctx, &streaming.EchoRequest{})
		return troubled.Load() > 0
	})

	// Idempotent calls are retried, on the other node.
	for range 20 {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent))
		if err != nil || res.GetMessage() != "ok" {
			t.Fatalf("idempotent call = %v, %v, want it retried on the healthy node", res, err)
		}
	}
	// Other calls are not: about half fail, each having reached the node once.
	troubled.Store(0)
	failed := 0
	for range 20 {
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil {
			if errors.CodeOf(err) != errors.CodeUnavailable {
				t.Fatalf("call = %v, want unavailable", err)
			}
			failed++
		}
	}
	if failed == 0 || int64(failed) != troubled.Load() {
		t.Errorf("%d of 20 calls failed and the troubled node saw %d, want some failures, each reaching it once", failed, troubled.Load())
	}
	// NoRetry turns retries off even for idempotent calls.
	failed = 0
	for range 20 {
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent), client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1})); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Error("with NoRetry no idempotent call failed, want some")
	}
}

func TestRandomBalancer(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	register(t, reg, "echo", startEcho(t, tagged{tag: "a"}), startEcho(t, tagged{tag: "b"}), startEcho(t, tagged{tag: "c"}))
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg), client.WithBalancer(client.Random)))
	ctx := testutil.Context(t)
	seen := map[string]int{}
	testutil.WaitFor(t, "calls to reach all three nodes", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		seen[res.GetMessage()]++
		return len(seen) == 3
	})
}

// TestUnaryGoroutines checks that an intercepted unary call starts no more
// goroutines than a plain one. grpc-go watches every stream but its own
// unary calls with a goroutine of their own, which allocs/op does not show
// and which cost an intercepted call several microseconds of CPU when the
// client made unary calls as streams.
func TestUnaryGoroutines(t *testing.T) { // not parallel: it counts the goroutines of the whole process
	counter := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc { return next })
	addr := startEcho(t, echo.Handler{})
	perCall := func(opts ...client.Option) float64 {
		echoClient := streaming.NewEchoClient("echo", newClient(t, append(opts, client.WithAddress(addr))...))
		ctx := testutil.Context(t)
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil { // connect first
			t.Fatal(err)
		}
		const calls = 200
		before := goroutinesCreated()
		for range calls {
			if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		return float64(goroutinesCreated()-before) / calls
	}
	plain := perCall()
	intercepted := perCall(client.WithInterceptors(counter))
	// The server starts one per call on both; a goroutine per call more
	// would show as a whole one.
	if intercepted > plain+0.5 {
		t.Errorf("goroutines started per unary call (client and server) = %.2f with an interceptor, %.2f without; want no more", intercepted, plain)
	}
}

// goroutinesCreated returns how many goroutines the process has started.
func goroutinesCreated() uint64 {
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}
