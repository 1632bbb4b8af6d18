package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestPrometheusScrapesAdmin runs a real Prometheus server against a
// service's admin listener and checks that it counts the calls made, under
// the names Grafana's gRPC dashboards query.
func TestPrometheusScrapesAdmin(t *testing.T) {
	t.Parallel()
	prometheus := testutil.Tool(t, "prometheus")
	reg := memory.New()
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithAdminAddress("127.0.0.1:0"), micro.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	testutil.WaitFor(t, "the service to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})

	const n = 7
	c := client.New(client.WithRegistry(reg))
	t.Cleanup(func() { _ = c.Close() })
	echoClient := streaming.NewEchoClient("echo", c)
	for range n {
		if _, err := echoClient.Echo(testutil.Context(t), &streaming.EchoRequest{Message: "hi"}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: echo
    static_configs:
      - targets: [%q]
`, svc.AdminAddress()), 0o600); err != nil {
		t.Fatal(err)
	}
	web := testutil.UnusedAddress(t)
	var out testutil.Buffer
	cmd := exec.Command(prometheus, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			t.Logf("prometheus stopped: %v", err)
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Logf("prometheus killed after 10s: %v", <-exited)
		}
	})

	query := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(`grpc_server_handled_total{grpc_method="Echo",grpc_code="OK"}`)
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, out.String())
		default:
		}
		if last = queryValue(t, query); last == fmt.Sprint(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus's %s = %q after 60s, want %d\nprometheus:\n%s", query, last, n, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// queryValue returns the value of the one series an instant query answers,
// or what went wrong instead.
func queryValue(t *testing.T, query string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(testutil.Context(t), "GET", query, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "decode: " + err.Error()
	}
	if len(body.Data.Result) != 1 {
		return fmt.Sprintf("%s with %d series", body.Status, len(body.Data.Result))
	}
	value, _ := body.Data.Result[0].Value[1].(string)
	return value
}
