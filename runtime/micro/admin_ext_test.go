package micro_test

import (
	"context"
	"io"
	nethttp "net/http"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// get returns the status code and body of GET url, or 0 if it failed.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := nethttp.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	calls := &testutil.Calls{}
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet),
		micro.WithAdminAddress("127.0.0.1:0"), micro.WithArgs([]string{"--admin_pprof=true"}),
		micro.WithServerOptions(server.WithInterceptors(calls)))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "the service to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})
	base := "http://" + svc.AdminAddress()
	testutil.WaitFor(t, "/readyz to answer 200", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == nethttp.StatusOK
	})
	if code, body := get(t, base+"/healthz"); code != nethttp.StatusOK {
		t.Errorf("GET /healthz = %d %q, want 200", code, body)
	}

	c := client.New(client.WithRegistry(reg))
	defer c.Close()
	echoClient := streaming.NewEchoClient("echo", c)
	for range 2 {
		if _, err := echoClient.Echo(t.Context(), &streaming.EchoRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// The service's own client finds echo in the service's registry, counted.
	if _, err := streaming.NewEchoClient("echo", svc.Client()).Echo(t.Context(), &streaming.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/metrics"); code != nethttp.StatusOK ||
		!strings.Contains(body, `grpc_server_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="streaming.v1.Echo",grpc_type="unary"} 3`) ||
		!strings.Contains(body, `grpc_server_handled_total{grpc_code="OK",grpc_method="Chat",grpc_service="streaming.v1.Echo",grpc_type="bidi_stream"} 0`) ||
		!strings.Contains(body, `micro_registry_lookups_total{backend="memory",operation="get_service",outcome="ok"} `) {
		t.Errorf("GET /metrics = %d, want 200 with three Echo calls, Chat at zero and the service's lookups:\n%s", code, body)
	}
	if code, body := get(t, base+"/debug/pprof/goroutine?debug=1"); code != nethttp.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine?debug=1 = %d %.200q, want 200 with the profile", code, body)
	}
	if code, body := get(t, base+"/debug/pprof/"); code != nethttp.StatusOK || !strings.Contains(body, "heap") {
		t.Errorf("GET /debug/pprof/ = %d %.200q, want the index", code, body)
	}

	// While a call drains, the service is not ready.
	slow := make(chan error, 1)
	go func() {
		_, err := echoClient.Echo(t.Context(), &streaming.EchoRequest{Message: "sleep:1s"})
		slow <- err
	}()
	calls.WaitStarted(t, streaming.EchoEchoProcedure, 4)
	cancel()
	testutil.WaitFor(t, "/readyz to answer 503 while draining", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == nethttp.StatusServiceUnavailable
	})
	if err := <-slow; err != nil {
		t.Errorf("the call in flight failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if code, _ := get(t, base+"/healthz"); code != 0 {
		t.Errorf("GET /healthz after Run returned = %d, want the listener closed", code)
	}
}

func TestAdminOff(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet),
		micro.WithArgs([]string{"--admin_pprof=maybe"}))
	if err == nil {
		t.Fatalf("NewService(--admin_pprof=maybe) = %v, want an error", svc)
	}
	svc, err = micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "the service to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})
	if got := svc.AdminAddress(); got != "" {
		t.Errorf("AdminAddress() = %q without WithAdminAddress, want \"\"", got)
	}
	if svc.Registry() != reg {
		t.Errorf("Registry() = %v without metrics, want the registry given, not counted", svc.Registry())
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestAdminWithoutPprof(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet),
		micro.WithArgs([]string{"--admin_address", "127.0.0.1:0"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "the service to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})
	base := "http://" + svc.AdminAddress()
	if code, _ := get(t, base+"/debug/pprof/heap"); code != nethttp.StatusNotFound {
		t.Errorf("GET /debug/pprof/heap without pprof = %d, want 404", code)
	}
	if code, body := get(t, base+"/metrics"); code != nethttp.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics with --admin_address = %d, want 200 with Go's metrics:\n%s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
