package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestPrometheusScrapesAdmin runs a real Prometheus server against a
// service's admin listener and checks that it counts the calls made, under
// the names Grafana's gRPC dashboards query, and the events the service
// handled, one of them redelivered.
func TestPrometheusScrapesAdmin(t *testing.T) {
	t.Parallel()
	prometheus := testutil.Tool(t, "prometheus")
	reg := memory.New()
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithAdminAddress("127.0.0.1:0"), micro.WithLogger(slog.New(slog.DiscardHandler)), micro.WithBroker(brokermemory.New()))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	const events = 5
	var failedOnce atomic.Bool
	handled := make(chan struct{}, events)
	if err := broker.Subscribe(svc.Broker(), "greetings", func(context.Context, *wrapperspb.StringValue) error {
		if failedOnce.CompareAndSwap(false, true) {
			return errors.New("not yet")
		}
		handled <- struct{}{}
		return nil
	}, broker.WithBackoff(time.Millisecond, time.Millisecond)); err != nil {
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
	for i := range events {
		if err := broker.Publish(testutil.Context(t), svc.Broker(), "greetings", wrapperspb.String(fmt.Sprint("hello ", i))); err != nil {
			t.Fatal(err)
		}
	}
	for range events {
		select {
		case <-handled:
		case <-testutil.Context(t).Done():
			t.Fatal("the events were not all handled by the deadline")
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

	// The counts as the service keeps them, and as Prometheus must find them.
	for _, q := range []struct {
		query string
		want  int
	}{
		{`grpc_server_handled_total{grpc_method="Echo",grpc_code="OK"}`, n},
		{`micro_broker_published_total{topic="greetings",outcome="ok"}`, events},
		{`micro_broker_handled_total{topic="greetings",group="echo",outcome="ok"}`, events},
		{`micro_broker_handled_total{topic="greetings",group="echo",outcome="error"}`, 1},
		{`micro_broker_redelivered_total{topic="greetings",group="echo"}`, 1},
	} {
		query := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(q.query)
		var last string
		deadline := time.Now().Add(60 * time.Second)
		for {
			select {
			case err := <-exited:
				t.Fatalf("prometheus exited: %v\n%s", err, out.String())
			default:
			}
			if last = queryValue(t, query); last == fmt.Sprint(q.want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus's %s = %q after 60s, want %d\nprometheus:\n%s", q.query, last, q.want, out.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
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
