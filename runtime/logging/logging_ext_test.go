package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/logging"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

func TestFromEnvironment(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, format, level string
		wantJSON, wantDebug bool
		errorHas            string
	}{
		{name: "unset"},
		{name: "json", format: "json", wantJSON: true},
		{name: "text debug", format: "text", level: "debug", wantDebug: true},
		{name: "level only", level: "WARN"},
		{name: "bad format", format: "xml", errorHas: "MICRO_LOG_FORMAT"},
		{name: "bad level", level: "loud", errorHas: "MICRO_LOG_LEVEL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			env := map[string]string{logging.EnvFormat: tt.format, logging.EnvLevel: tt.level}
			logger, err := logging.FromEnvironment(&buf, func(k string) string { return env[k] })
			if tt.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errorHas) || !strings.Contains(err.Error(), "want") {
					t.Fatalf("FromEnvironment() = %v, want an error naming %s and the values allowed", err, tt.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.format == "" && tt.level == "" {
				if logger != nil {
					t.Fatal("FromEnvironment() with nothing set returned a logger, want nil")
				}
				return
			}
			logger.Debug("debug")
			logger.Info("info")
			out := buf.String()
			if got := strings.Contains(out, "debug"); got != tt.wantDebug {
				t.Errorf("debug record logged = %v, want %v (%q)", got, tt.wantDebug, out)
			}
			if got := strings.HasPrefix(out, "{"); got != tt.wantJSON && out != "" {
				t.Errorf("JSON = %v, want %v (%q)", got, tt.wantJSON, out)
			}
			if tt.level == "WARN" && out != "" {
				t.Errorf("at warn, logged %q, want nothing", out)
			}
		})
	}
}

// TestHandler checks that a record logged inside a call carries the call's
// trace, span, procedure and peer, and one logged outside carries none.
func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, nil))).With("service", "orders")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	ctx = logging.NewContext(ctx, logger, "/orders.v1.Orders/Place", "10.0.0.1:5000")
	logging.FromContext(ctx).InfoContext(ctx, "inside")
	logger.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %q, want two records", buf.String())
	}
	var inside, outside map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		logging.KeyTraceID: sc.TraceID().String(), logging.KeySpanID: sc.SpanID().String(),
		logging.KeyProcedure: "/orders.v1.Orders/Place", logging.KeyPeer: "10.0.0.1:5000", "service": "orders",
	} {
		if inside[key] != want {
			t.Errorf("inside a call, %s = %v, want %q", key, inside[key], want)
		}
		if _, ok := outside[key]; ok && key != "service" {
			t.Errorf("outside a call, %s = %v, want none", key, outside[key])
		}
	}
	if logging.FromContext(context.Background()) != slog.Default() {
		t.Error("FromContext outside a call is not slog.Default()")
	}
}

// request is a served call's request, counting how often its peer is asked
// for.
type request struct{ peers int }

func (r *request) Spec() rpc.Spec            { return rpc.Spec{Procedure: "/orders.v1.Orders/Place"} }
func (r *request) Peer() rpc.Peer            { r.peers++; return rpc.Peer{Addr: "10.0.0.1:5000"} }
func (r *request) Header() metadata.Metadata { return nil }
func (r *request) Any() any                  { return nil }

// TestInterceptor checks that the interceptor gives the handler its logger
// and the call, that a record the level filters out costs the call no
// allocation and no look-up of the peer, and that one logged names the peer.
func TestInterceptor(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	req := new(request)
	var logged bool
	handle := logging.Interceptor(logger).WrapUnary(func(ctx context.Context, _ rpc.Request) (rpc.Response, error) {
		l := logging.FromContext(ctx)
		if l != logger {
			t.Error("FromContext in the handler is not the interceptor's logger")
		}
		l.DebugContext(ctx, "filtered out", "id", 42)
		if logged {
			l.InfoContext(ctx, "placed")
		}
		return nil, nil
	})
	ctx := context.Background()
	if allocs := testing.AllocsPerRun(100, func() { _, _ = handle(ctx, req) }); allocs > 1 {
		t.Errorf("a call logging nothing at its level allocates %v times in the interceptor, want at most 1 (its context)", allocs)
	}
	if buf.Len() != 0 || req.peers != 0 {
		t.Errorf("a record below the level wrote %q and looked up the peer %d times, want nothing", buf.String(), req.peers)
	}
	logged = true
	_, _ = handle(ctx, req)
	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("logged %q: %v", buf.String(), err)
	}
	if record[logging.KeyPeer] != "10.0.0.1:5000" || record[logging.KeyProcedure] != "/orders.v1.Orders/Place" {
		t.Errorf("logged %v, want the call's peer and procedure", record)
	}
}

// BenchmarkInterceptor times what the interceptor costs a unary call whose
// handler logs nothing at the logger's level.
//
//	go test -run '^$' -bench Interceptor -benchmem ./runtime/logging
func BenchmarkInterceptor(b *testing.B) {
	logger := slog.New(logging.NewHandler(slog.NewJSONHandler(io.Discard, nil)))
	handle := logging.Interceptor(logger).WrapUnary(func(ctx context.Context, _ rpc.Request) (rpc.Response, error) {
		logging.FromContext(ctx).DebugContext(ctx, "filtered out")
		return nil, nil
	})
	ctx, req := context.Background(), new(request)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = handle(ctx, req)
	}
}
