package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// testService answers UnaryCall with the status its request asks for, and
// StreamingOutputCall with one message per response parameter, and records
// the trace and baggage each handler saw.
type testService struct {
	testpb.UnimplementedTestServiceServer
	seen chan string
}

func (s *testService) see(ctx context.Context) {
	sc := trace.SpanContextFromContext(ctx)
	md, _ := grpcmetadata.FromIncomingContext(ctx)
	s.seen <- fmt.Sprintf("valid=%t sampled=%t remote-parent-trace=%s baggage=%q traceparents=%d x-other=%q", sc.IsValid(), sc.IsSampled(), sc.TraceID(), baggage.FromContext(ctx).Member("tenant").Value(), len(md.Get("traceparent")), md.Get("x-other"))
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.see(ctx)
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		return nil, status.Error(grpccodes.Code(st.GetCode()), st.GetMessage())
	}
	return &testpb.SimpleResponse{}, nil
}

func (s *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	s.see(stream.Context())
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// handlers returns a server and a client stats handler recording in tp.
type handlers func(tp trace.TracerProvider) (server, client stats.Handler)

func otelgrpcHandlers(tp trace.TracerProvider) (stats.Handler, stats.Handler) {
	opts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(Propagator()), otelgrpc.WithMeterProvider(noop.NewMeterProvider())}
	return otelgrpc.NewServerHandler(opts...), otelgrpc.NewClientHandler(opts...)
}

func microHandlers(tp trace.TracerProvider) (stats.Handler, stats.Handler) {
	return newStatsHandler(tp, Propagator(), false), newStatsHandler(tp, Propagator(), true)
}

// run makes, through a server and a client using the handlers of h, under a
// parent span of its own carrying baggage: a unary call that succeeds, one
// that fails with NotFound, one with Internal, and a server stream of two
// messages. It returns the spans recorded (the parent's included) and what
// each handler saw.
func run(t *testing.T, h handlers, sampler sdktrace.Sampler, spans int) ([]sdktrace.ReadOnlySpan, []string) {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(recorder))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	serverHandler, clientHandler := h(tp)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(serverHandler))
	svc := &testService{seen: make(chan string, 10)}
	testpb.RegisterTestServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(clientHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	c := testpb.NewTestServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	ctx = baggage.ContextWithBaggage(ctx, bag)
	ctx, parent := tp.Tracer("test").Start(ctx, "parent")
	// A traceparent already in the outgoing metadata, as an interceptor
	// may have written: the client span's must replace it.
	ctx = grpcmetadata.AppendToOutgoingContext(ctx, "traceparent", "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01", "x-other", "kept")
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("UnaryCall ok: %v", err)
	}
	for _, code := range []grpccodes.Code{grpccodes.NotFound, grpccodes.Internal} {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code), Message: "no " + code.String()}})
		if status.Code(err) != code {
			t.Fatalf("UnaryCall %v: err = %v", code, err)
		}
	}
	stream, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{}, {}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	parent.End()
	var seen []string
	for range 4 {
		seen = append(seen, <-svc.seen)
	}
	// The server span of the stream ends after its client got io.EOF.
	deadline := time.Now().Add(5 * time.Second)
	for len(recorder.Ended()) < spans && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return recorder.Ended(), seen
}

// describe turns spans into lines that hold what the oracle compares: name,
// kind, status, attributes (the port of the listener, which differs from
// run to run, as "PORT") and parent, by name, with whether the parent is in
// the same trace as the root.
func describe(spans []sdktrace.ReadOnlySpan) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var root trace.TraceID
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "parent" {
			root = s.SpanContext().TraceID()
		}
	}
	var out []string
	for _, s := range spans {
		var attrs []string
		for _, kv := range s.Attributes() {
			value := kv.Value.String()
			if kv.Key == "server.port" {
				value = "PORT"
			}
			attrs = append(attrs, string(kv.Key)+"="+value)
		}
		sort.Strings(attrs)
		parent := "none"
		if p, ok := byID[s.Parent().SpanID()]; ok {
			parent = p.Name() + "/" + p.SpanKind().String()
		}
		out = append(out, fmt.Sprintf("%s kind=%s status=%s:%q parent=%s remote=%t same-trace=%t events=%d links=%d attrs=[%s]",
			s.Name(), s.SpanKind(), s.Status().Code, s.Status().Description, parent, s.Parent().IsRemote(),
			s.SpanContext().TraceID() == root, len(s.Events()), len(s.Links()), strings.Join(attrs, " ")))
	}
	sort.Strings(out)
	return out
}

// TestStatsHandlerMatchesOtelgrpc is the oracle of micro's stats handlers:
// the same calls through otelgrpc's and through micro's record the same
// spans, and carry the same trace context and baggage to the handlers.
func TestStatsHandlerMatchesOtelgrpc(t *testing.T) {
	t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "") // otelgrpc's default conventions
	for _, tc := range []struct {
		sampler sdktrace.Sampler
		spans   int // the parent, and a client and a server span per call
	}{
		{sdktrace.AlwaysSample(), 9},
		{sdktrace.ParentBased(sdktrace.NeverSample()), 0},
	} {
		t.Run(tc.sampler.Description(), func(t *testing.T) {
			wantSpans, wantSeen := run(t, otelgrpcHandlers, tc.sampler, tc.spans)
			gotSpans, gotSeen := run(t, microHandlers, tc.sampler, tc.spans)
			if len(wantSpans) != tc.spans {
				t.Errorf("otelgrpc recorded %d spans, want %d", len(wantSpans), tc.spans)
			}
			want, got := describe(wantSpans), describe(gotSpans)
			if !slices.Equal(got, want) {
				t.Errorf("spans differ from otelgrpc's\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The trace ids differ from run to run; whether each handler saw
			// the caller's trace and baggage must not.
			if normalize(gotSeen) != normalize(wantSeen) {
				t.Errorf("handlers saw\n%s\nwant (as with otelgrpc)\n%s", normalize(gotSeen), normalize(wantSeen))
			}
			if len(wantSeen) != 4 || !strings.Contains(wantSeen[0], `baggage="acme" traceparents=1 x-other=["kept"]`) || !strings.Contains(wantSeen[0], "valid=true") || strings.Contains(wantSeen[0], "0102030405060708090a0b0c0d0e0f10") {
				t.Errorf("otelgrpc's handler saw %q, want the caller's trace and baggage", wantSeen)
			}
		})
	}
}

// normalize replaces the trace ids of seen with whether they are valid.
func normalize(seen []string) string {
	out := make([]string, len(seen))
	for i, s := range seen {
		before, after, _ := strings.Cut(s, "remote-parent-trace=")
		id, rest, _ := strings.Cut(after, " ")
		out[i] = before + "trace-valid=" + fmt.Sprint(id != trace.TraceID{}.String()) + " " + rest
	}
	return strings.Join(out, "\n")
}

func TestCodeName(t *testing.T) {
	for code, want := range map[grpccodes.Code]string{grpccodes.OK: "OK", grpccodes.Canceled: "CANCELLED", grpccodes.Unauthenticated: "UNAUTHENTICATED", 42: "CODE(42)"} {
		if got := codeName(code); got != want {
			t.Errorf("codeName(%d) = %q, want %q", code, got, want)
		}
	}
}
