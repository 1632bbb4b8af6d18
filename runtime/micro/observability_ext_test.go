package micro_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/logging"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// logBuffer collects a service's JSON log records.
type logBuffer struct{ testutil.Buffer }

// records returns the records logged with message msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// front answers Echo by logging, calling back, and publishing an event.
type front struct {
	echo.Handler
	back streaming.EchoClient
	b    broker.Broker
}

func (f front) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	logging.FromContext(ctx).InfoContext(ctx, "front echo")
	res, err := f.back.Echo(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := broker.Publish(ctx, f.b, "chain.echoed", wrapperspb.String(req.GetMessage())); err != nil {
		return nil, err
	}
	return res, nil
}

// back answers Echo after logging.
type back struct{ echo.Handler }

func (b back) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	logging.FromContext(ctx).InfoContext(ctx, "back echo")
	return b.Handler.Echo(ctx, req)
}

// TestOneTrace follows one request through the gateway to service A, from A
// to B, and from A through an event to C: every span is in one trace, each
// the child of the one that caused it, the consumer span linked to the
// producer's, and every service's log records inside the calls carry the
// trace.
func TestOneTrace(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	reg := memory.New()
	events := brokermemory.New()
	t.Cleanup(func() { _ = events.Close(context.Background()) })
	logs := map[string]*logBuffer{"a": {}, "b": {}, "c": {}}
	opts := func(name string) []micro.Option {
		return []micro.Option{micro.WithTracerProvider(tp), micro.WithBroker(events),
			micro.WithLogger(slog.New(slog.NewJSONHandler(logs[name], nil)))}
	}
	// b in a registry of its own, where a finds it: the gateway, which
	// routes each procedure to one service, sees a alone.
	backReg := memory.New()
	runNamed(t, backReg, "b", func(svc *micro.Service) error {
		return streaming.RegisterEchoHandler(svc.Server(), back{echo.Handler{Node: "b"}})
	}, opts("b")...)
	handled := make(chan struct{}, 1)
	runNamed(t, reg, "c", func(svc *micro.Service) error {
		return broker.Subscribe(svc.Broker(), "chain.echoed", func(ctx context.Context, m *wrapperspb.StringValue) error {
			logging.FromContext(ctx).InfoContext(ctx, "c handled", "value", m.GetValue())
			handled <- struct{}{}
			return nil
		})
	}, opts("c")...)
	runNamed(t, reg, "a", func(svc *micro.Service) error {
		return streaming.RegisterEchoHandler(svc.Server(), front{back: streaming.NewEchoClient("b", svc.Client()), b: svc.Broker()})
	}, append(opts("a"), micro.WithClientOptions(client.WithRegistry(backReg)))...)

	ctx := testutil.Context(t)
	g, err := gateway.New(ctx, reg, gateway.WithTracerProvider(tp), gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	testutil.WaitFor(t, "the gateway to route a", func() bool {
		for _, p := range g.Index().Procedures {
			if p.Procedure == streaming.EchoEchoProcedure && p.Service == "a" {
				return true
			}
		}
		return false
	})
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+streaming.EchoEchoProcedure, strings.NewReader(`{"message":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", streaming.EchoEchoProcedure, res.StatusCode, body)
	}
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("timed out waiting for c to handle the event")
	}
	var gw, aServer, aClient, bServer, send, process sdktrace.ReadOnlySpan
	testutil.WaitFor(t, "every span to end", func() bool {
		gw, aServer, aClient, bServer, send, process = nil, nil, nil, nil, nil, nil
		for _, s := range spans.Ended() {
			switch {
			case s.SpanKind() == trace.SpanKindServer && s.Name() == "POST":
				gw = s
			case s.SpanKind() == trace.SpanKindClient && s.Name() == "streaming.v1.Echo/Echo":
				aClient = s
			case s.Name() == "send chain.echoed":
				send = s
			case s.Name() == "process chain.echoed":
				process = s
			}
		}
		for _, s := range spans.Ended() {
			if s.SpanKind() == trace.SpanKindServer && s.Name() == "streaming.v1.Echo/Echo" {
				if aClient != nil && s.Parent().SpanID() == aClient.SpanContext().SpanID() {
					bServer = s
				} else {
					aServer = s
				}
			}
		}
		return gw != nil && aServer != nil && aClient != nil && bServer != nil && send != nil && process != nil
	})
	traceID := gw.SpanContext().TraceID()
	for _, link := range []struct {
		name          string
		child, parent sdktrace.ReadOnlySpan
	}{
		{"a's server span under the gateway's", aServer, gw},
		{"a's client span under a's server span", aClient, aServer},
		{"b's server span under a's client span", bServer, aClient},
		{"the producer span under a's server span", send, aServer},
		{"the consumer span under the producer span", process, send},
	} {
		if got := link.child.SpanContext().TraceID(); got != traceID {
			t.Errorf("%s: trace %s, want %s", link.name, got, traceID)
		}
		if got, want := link.child.Parent().SpanID(), link.parent.SpanContext().SpanID(); got != want {
			t.Errorf("%s: parent %s, want %s", link.name, got, want)
		}
	}
	if links := process.Links(); len(links) != 1 || links[0].SpanContext.SpanID() != send.SpanContext().SpanID() {
		t.Errorf("consumer span links = %v, want the producer span %s", links, send.SpanContext().SpanID())
	}
	if send.SpanKind() != trace.SpanKindProducer || process.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("event span kinds = %v, %v, want producer, consumer", send.SpanKind(), process.SpanKind())
	}
	for _, want := range []struct{ service, msg, procedure, span string }{
		{"a", "front echo", streaming.EchoEchoProcedure, aServer.SpanContext().SpanID().String()},
		{"b", "back echo", streaming.EchoEchoProcedure, bServer.SpanContext().SpanID().String()},
		{"c", "c handled", "event:chain.echoed", process.SpanContext().SpanID().String()},
	} {
		records := logs[want.service].records(t, want.msg)
		if len(records) != 1 {
			t.Errorf("%s logged %q %d times, want once", want.service, want.msg, len(records))
			continue
		}
		r := records[0]
		if r[logging.KeyTraceID] != traceID.String() || r[logging.KeySpanID] != want.span || r[logging.KeyProcedure] != want.procedure {
			t.Errorf("%s logged %v, want trace_id %s, span_id %s, procedure %s", want.service, r, traceID, want.span, want.procedure)
		}
		if want.service != "c" && r[logging.KeyPeer] == nil {
			t.Errorf("%s logged %v without the peer", want.service, r)
		}
	}
}
