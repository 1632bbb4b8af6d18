package metrics_test

import (
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestSameAsProvider checks that the call metrics are those
// go-grpc-middleware's Prometheus provider keeps, which dashboards are made
// for: the provider's interceptors, installed beside ours on the same server
// and client, see the same calls of every kind (failed ones too), and the
// two registries must then hold the same grpc_* families, help, series and
// counts.
func TestSameAsProvider(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	peer := prometheus.NewRegistry()
	srvMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(metrics.DefaultBuckets)))
	cliMetrics := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(metrics.DefaultBuckets)))
	peer.MustRegister(srvMetrics, cliMetrics)
	_, addr := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	}, append(m.ServerOptions(), server.WithGRPCOptions(
		grpc.ChainUnaryInterceptor(srvMetrics.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(srvMetrics.StreamServerInterceptor()),
	))...)
	c := client.New(append(m.ClientOptions(), client.WithAddress(addr), client.WithGRPCOptions(
		grpc.WithChainUnaryInterceptor(cliMetrics.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(cliMetrics.StreamClientInterceptor()),
	))...)
	t.Cleanup(func() { _ = c.Close() })
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := t.Context()
	for _, msg := range []string{"hi", "hi", "error:not_found:no such user", "plain:oops"} {
		_, _ = echoClient.Echo(ctx, &streaming.EchoRequest{Message: msg})
	}
	count, err := echoClient.Count(ctx, &streaming.CountRequest{N: 3})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, count)
	sum, err := echoClient.Sum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		if err := sum.Send(&streaming.SumRequest{Number: int64(n)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sum.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	chat, err := echoClient.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := chat.Send(&streaming.ChatRequest{Text: "hello"}); err != nil {
			t.Fatal(err)
		}
		if _, err := chat.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Chat: Recv after CloseSend = %v, want io.EOF", err)
	}
	// The server counts a stream once its handler returns, which the client
	// may see before: wait for both registries to have counted all 7 calls.
	testutil.WaitFor(t, "the server to count the 7 calls in both registries", func() bool {
		return handled(t, m.Registry()) == 7 && handled(t, peer) == 7
	})
	ours, theirs := summarize(t, m.Registry()), summarize(t, peer)
	if diff := cmp.Diff(theirs, ours); diff != "" {
		t.Errorf("the call metrics differ from the provider's (-provider +ours):\n%s", diff)
	}
	if len(ours) < 20 {
		t.Errorf("only %d series compared, want the calls of every kind:\n%s", len(ours), strings.Join(ours, "\n"))
	}
}

// handled returns the sum of registry's grpc_server_handled_total.
func handled(t *testing.T, registry prometheus.Gatherer) float64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "grpc_server_handled_total" {
			for _, metric := range f.GetMetric() {
				sum += metric.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// summarize returns each grpc_* series of registry as a line: family, type,
// help, labels and value (a histogram's sample count), sorted.
func summarize(t *testing.T, registry prometheus.Gatherer) []string {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "grpc_") {
			continue
		}
		for _, metric := range f.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			value := metric.GetCounter().GetValue()
			if f.GetType() == dto.MetricType_HISTOGRAM {
				value = float64(metric.GetHistogram().GetSampleCount())
			}
			out = append(out, strings.Join([]string{f.GetName(), f.GetType().String(), f.GetHelp(), strings.Join(labels, ","), strconv.FormatFloat(value, 'g', -1, 64)}, " | "))
		}
	}
	sort.Strings(out)
	return out
}
