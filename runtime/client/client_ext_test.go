package client_test

import (
	"context"
	stderrors "errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

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
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
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
	if err := r.Register(testContext(t), s); err != nil {
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
	ctx := testContext(t)
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
	ctx := testContext(t)
	waitFor(t, "calls to reach a", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		return err == nil && res.GetMessage() == "a"
	})
	// Move the service from a to b: the watch must carry the change.
	register(t, reg, "echo", b)
	if err := reg.Deregister(ctx, &registry.Service{Name: "echo", Version: "v1", Nodes: []*registry.Node{{ID: a}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "calls to move to b", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		return err == nil && res.GetMessage() == "b"
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnknownService(t *testing.T) {
	t.Parallel()
	echoClient := streaming.NewEchoClient("nosuch", newClient(t, client.WithRegistry(memory.New())))
	_, err := echoClient.Echo(testContext(t), &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeNotFound || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("call to an unknown service: %v, want not_found naming it", err)
	}
}

func TestNoRegistry(t *testing.T) {
	t.Parallel()
	_, err := streaming.NewEchoClient("echo", newClient(t)).Echo(testContext(t), &streaming.EchoRequest{})
	if errors.CodeOf(err) != errors.CodeFailedPrecondition || !strings.Contains(err.Error(), "client.WithRegistry") {
		t.Errorf("call without registry or address: %v, want failed_precondition saying what to do", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, echo.Handler{})
	c := newClient(t, client.WithAddress(addr), client.WithTimeout(100*time.Millisecond))
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
	ctx := testContext(t)
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

func TestMetadataPropagates(t *testing.T) {
	t.Parallel()
	backend := streaming.NewEchoClient("backend", newClient(t, client.WithAddress(startEcho(t, echo.Handler{}))))
	// front forwards every Echo to backend with its own context.
	front := startEcho(t, forward{backend: backend})
	echoClient := streaming.NewEchoClient("front", newClient(t, client.WithAddress(front)))

	ctx := metadata.AppendToContext(testContext(t), "trace-id", "t-1")
	res, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithMetadata("tenant", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"trace-id": "t-1", "tenant": "acme"}
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
	return f.backend.Echo(ctx, req, client.WithTimeout(0))
}

func TestStreams(t *testing.T) {
	t.Parallel()
	echoClient := streaming.NewEchoClient("echo", newClient(t, client.WithAddress(startEcho(t, echo.Handler{}))))
	ctx := testContext(t)

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
	ctx, cancel := context.WithCancel(testContext(t))
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

func TestMiddleware(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(name string) client.UnaryMiddleware {
		return func(next client.UnaryInvoker) client.UnaryInvoker {
			return func(ctx context.Context, call *client.Call, req, res any) error {
				mu.Lock()
				calls = append(calls, name+" "+call.Service+" "+call.Spec.Procedure+" "+call.Spec.Idempotency.String())
				mu.Unlock()
				return next(ctx, call, req, res)
			}
		}
	}
	var streams []string
	streamer := func(next client.Streamer) client.Streamer {
		return func(ctx context.Context, call *client.Call) (client.Stream, error) {
			mu.Lock()
			streams = append(streams, call.Spec.Procedure+" "+call.Spec.StreamType.String())
			mu.Unlock()
			return next(ctx, call)
		}
	}
	c := newClient(t, client.WithAddress(startEcho(t, echo.Handler{})),
		client.WithUnaryMiddleware(record("outer"), record("inner")), client.WithStreamMiddleware(streamer))
	ctx := testContext(t)
	echoClient := streaming.NewEchoClient("echo", c)
	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent)); err != nil {
		t.Fatal(err)
	}
	if _, err := echoClient.Chat(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"outer echo /streaming.v1.Echo/Echo idempotent", "inner echo /streaming.v1.Echo/Echo idempotent"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("unary middleware mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/streaming.v1.Echo/Chat bidi_stream"}, streams); diff != "" {
		t.Errorf("stream middleware mismatch (-want +got):\n%s", diff)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	c := client.New(client.WithAddress(startEcho(t, echo.Handler{})))
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := testContext(t)
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
	_, err := streaming.NewEchoClient("echo", newClient(t, client.WithRegistry(reg))).Echo(testContext(t), &streaming.EchoRequest{})
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
	ctx := testContext(t)
	waitFor(t, "both nodes to be used", func() bool {
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
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}, client.WithIdempotency(rpc.Idempotent), client.WithRetryPolicy(client.NoRetry)); err != nil {
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
	ctx := testContext(t)
	seen := map[string]int{}
	waitFor(t, "calls to reach all three nodes", func() bool {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		seen[res.GetMessage()]++
		return len(seen) == 3
	})
}
