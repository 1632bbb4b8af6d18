package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCallsCounted(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	srv, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, m.ServerOptions()...)
	m.Initialize(srv.Services())
	c := client.New(append(m.ClientOptions(), client.WithAddress(addr))...)
	t.Cleanup(func() { _ = c.Close() })
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := t.Context()
	for range 3 {
		if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "error:not_found:no such user"}); err == nil {
		t.Fatal("Echo(error:not_found) succeeded, want an error")
	}
	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "plain:oops"}); err == nil {
		t.Fatal("Echo(plain) succeeded, want an error")
	}
	stream, err := echoClient.Count(ctx, &streaming.CountRequest{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"served ok", "grpc_server_handled_total", map[string]string{"grpc_type": "unary", "grpc_service": "streaming.v1.Echo", "grpc_method": "Echo", "grpc_code": "OK"}, 3},
		{"served not found", "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "NotFound"}, 1},
		{"served plain error", "grpc_server_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "Unknown"}, 1},
		{"served stream", "grpc_server_handled_total", map[string]string{"grpc_type": "server_stream", "grpc_method": "Count", "grpc_code": "OK"}, 1},
		{"initialized", "grpc_server_handled_total", map[string]string{"grpc_type": "bidi_stream", "grpc_method": "Chat", "grpc_code": "OK"}, 0},
		{"made ok", "grpc_client_handled_total", map[string]string{"grpc_type": "unary", "grpc_method": "Echo", "grpc_code": "OK"}, 3},
		{"made not found", "grpc_client_handled_total", map[string]string{"grpc_method": "Echo", "grpc_code": "NotFound"}, 1},
		{"made stream", "grpc_client_handled_total", map[string]string{"grpc_type": "server_stream", "grpc_method": "Count", "grpc_code": "OK"}, 1},
		{"timed", "grpc_server_handling_seconds", map[string]string{"grpc_type": "unary", "grpc_method": "Echo"}, 5},
		{"timed on the client", "grpc_client_handling_seconds", map[string]string{"grpc_type": "unary", "grpc_method": "Echo"}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(families, tt.metric, tt.labels)
			if !ok || got != tt.want {
				t.Errorf("%s%v = %v (found %v), want %v", tt.metric, tt.labels, got, ok, tt.want)
			}
		})
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, `grpc_server_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="streaming.v1.Echo",grpc_type="unary"} 3`) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics lacks Echo's count or the Go collector:\n%s", body)
	}
}

// value returns the count of the metric named name whose labels include
// labels: a counter's value or a histogram's sample count.
func value(families []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
	metrics:
		for _, metric := range family.GetMetric() {
			have := map[string]string{}
			for _, pair := range metric.GetLabel() {
				have[pair.GetName()] = pair.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			if h := metric.GetHistogram(); h != nil {
				return float64(h.GetSampleCount()), true
			}
			return metric.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// series is a metric's expected count where its labels include labels: a
// counter's value or a histogram's sample count, or, with want -1, none.
type series struct {
	metric string
	labels map[string]string
	want   float64
}

// checkSeries gathers m's registry and checks each of want.
func checkSeries(t *testing.T, m *metrics.Metrics, want []series) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range want {
		got, ok := value(families, tt.metric, tt.labels)
		switch {
		case tt.want < 0 && ok:
			t.Errorf("%s%v = %v, want no series", tt.metric, tt.labels, got)
		case tt.want >= 0 && (!ok || got != tt.want):
			t.Errorf("%s%v = %v (found %v), want %v", tt.metric, tt.labels, got, ok, tt.want)
		}
	}
}
