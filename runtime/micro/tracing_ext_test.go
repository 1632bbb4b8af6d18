package micro_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/tracing"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// forwarder answers Echo by calling the same method of another service, so
// that a call crosses two hops.
type forwarder struct {
	echo.Handler
	next streaming.EchoClient
}

func (f forwarder) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	return f.next.Echo(ctx, req)
}

// runNamed runs a service named name with h until the test ends, and waits
// for it to register.
func runNamed(t *testing.T, reg registry.Registry, name string, register func(*micro.Service) error, opts ...micro.Option) {
	t.Helper()
	svc, err := micro.NewService(name, append([]micro.Option{micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(svc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(%s) = %v", name, err)
		}
	})
	testutil.WaitFor(t, name+" to register", func() bool {
		_, err := reg.GetService(t.Context(), name)
		return err == nil
	})
}

// chain runs back (echo) and front (forwarding to back), both with opts, and
// returns a client of front made with clientOpts.
func chain(t *testing.T, opts []micro.Option, clientOpts ...client.Option) streaming.EchoClient {
	t.Helper()
	reg := memory.New()
	runNamed(t, reg, "back", func(svc *micro.Service) error {
		return streaming.RegisterEchoHandler(svc.Server(), echo.Handler{Node: "back"})
	}, opts...)
	runNamed(t, reg, "front", func(svc *micro.Service) error {
		return streaming.RegisterEchoHandler(svc.Server(), forwarder{next: streaming.NewEchoClient("back", svc.Client())})
	}, opts...)
	c := client.New(append(clientOpts, client.WithRegistry(reg))...)
	t.Cleanup(func() { _ = c.Close() })
	return streaming.NewEchoClient("front", c)
}

func TestTraceCrossesTwoHops(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	front := chain(t, []micro.Option{micro.WithTracerProvider(tp)}, tracing.ClientOptions(tp)...)

	ctx, root := tp.Tracer("test").Start(testutil.Context(t), "root")
	res, err := front.Echo(ctx, &streaming.EchoRequest{Message: "hi"})
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	if res.GetNode() != "back" || res.GetMetadata()["traceparent"] == "" {
		t.Errorf("back answered %v, want node back, having received a traceparent", res)
	}
	// Server spans end as their answers are sent: wait for all five.
	testutil.WaitFor(t, "five spans", func() bool { return len(spans.GetSpans()) >= 5 })

	want := root.SpanContext().TraceID()
	byKind := map[trace.SpanKind][]tracetest.SpanStub{}
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, span := range spans.GetSpans() {
		if span.SpanContext.TraceID() != want {
			t.Errorf("span %q (%v) in trace %v, want %v", span.Name, span.SpanKind, span.SpanContext.TraceID(), want)
		}
		byKind[span.SpanKind] = append(byKind[span.SpanKind], span)
		byID[span.SpanContext.SpanID()] = span
	}
	if len(byKind[trace.SpanKindClient]) != 2 || len(byKind[trace.SpanKindServer]) != 2 {
		t.Fatalf("spans = %d client and %d server, want 2 of each", len(byKind[trace.SpanKindClient]), len(byKind[trace.SpanKindServer]))
	}
	// back's server span <- front's client span <- front's server span <-
	// the test's client span <- root.
	var depth int
	for _, span := range byKind[trace.SpanKindServer] {
		n := 0
		for id := span.Parent.SpanID(); id.IsValid(); n++ {
			parent, ok := byID[id]
			if !ok {
				break
			}
			id = parent.Parent.SpanID()
		}
		depth = max(depth, n)
	}
	if depth != 4 {
		t.Errorf("the deepest server span has %d ancestors, want 4 (client, server, client, root)", depth)
	}
}

func TestNoTracingByDefault(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	front := chain(t, nil)
	// A span in the caller's context goes nowhere without a tracer provider.
	ctx, root := tp.Tracer("test").Start(testutil.Context(t), "root")
	defer root.End()
	res, err := front.Echo(ctx, &streaming.EchoRequest{Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetMetadata()["traceparent"]; got != "" {
		t.Errorf("back received traceparent %q from an untraced service, want none", got)
	}
}
