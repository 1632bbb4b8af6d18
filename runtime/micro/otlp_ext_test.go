package micro_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// collector is an OTLP trace receiver: it keeps what exporters send it.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, req.GetResourceSpans()...)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// received returns the names of the spans received, and the service.name of
// their resources.
func (c *collector) received() (names, services []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range c.spans {
		for _, attr := range rs.GetResource().GetAttributes() {
			if attr.GetKey() == "service.name" {
				services = append(services, attr.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				names = append(names, s.GetName())
			}
		}
	}
	return names, services
}

// grpcCollector serves c over OTLP/gRPC on a free port until the test ends.
func grpcCollector(t *testing.T, c *collector) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return "http://" + lis.Addr().String()
}

// httpCollector serves c over OTLP/HTTP (protobuf) until the test ends.
func httpCollector(t *testing.T, c *collector) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(body, req)
		}
		if r.URL.Path != "/v1/traces" || err != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		res, _ := c.Export(r.Context(), req)
		out, _ := proto.Marshal(res)
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// callOnce runs a service named echo configured only by the environment,
// calls it once, and stops it, which flushes its spans.
func callOnce(t *testing.T) error {
	t.Helper()
	reg := memory.New()
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		return err
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	stop, done := runService(t, svc)
	testutil.WaitFor(t, "echo to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})
	c := client.New(client.WithRegistry(reg))
	defer func() { _ = c.Close() }()
	if _, err := streaming.NewEchoClient("echo", c).Echo(testutil.Context(t), &streaming.EchoRequest{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestTracingFromEnvironment checks that the standard OpenTelemetry
// variables alone make a service export its spans to an OTLP collector, by
// gRPC and by HTTP, that OTEL_SDK_DISABLED and an absent endpoint export
// nothing, and that a malformed variable is an error naming it.
func TestTracingFromEnvironment(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		collect  func(*testing.T, *collector) string
		spans    bool
		service  string
		errorHas string
	}{
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "from-env"}, collect: grpcCollector, spans: true, service: "from-env"},
		{name: "http traces endpoint", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, collect: httpCollector, spans: true, service: "echo"},
		{name: "disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, collect: grpcCollector},
		{name: "sampler off", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_off", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, collect: grpcCollector},
		{name: "no endpoint", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"}},
		{name: "bad protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, collect: grpcCollector, errorHas: "OTEL_EXPORTER_OTLP_PROTOCOL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{}
			for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_SDK_DISABLED", "OTEL_RESOURCE_ATTRIBUTES"} {
				t.Setenv(name, "")
			}
			if tt.collect != nil {
				endpoint := tt.collect(t, c)
				if tt.name == "http traces endpoint" {
					t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint+"/v1/traces")
				} else {
					t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
				}
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := callOnce(t)
			if tt.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errorHas) {
					t.Fatalf("NewService() = %v, want an error naming %s", err, tt.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names, services := c.received()
			if !tt.spans {
				if len(names) > 0 {
					t.Errorf("collector received %v, want nothing", names)
				}
				return
			}
			if !slices.Contains(names, "streaming.v1.Echo/Echo") {
				t.Errorf("collector received spans %v, want the server span streaming.v1.Echo/Echo", names)
			}
			for _, s := range services {
				if s != tt.service {
					t.Errorf("service.name = %q, want %q", s, tt.service)
				}
			}
		})
	}
}
