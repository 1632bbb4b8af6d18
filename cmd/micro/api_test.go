package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestAPIAdmin runs micro api with --admin_address in front of the world's
// services and reads, on the admin listener, its readiness and the counts of
// the requests it served, by route template and status code.
func TestAPIAdmin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stderr, interrupt := w.serve(t, "api", "--address", "127.0.0.1:0", "--admin_address", "127.0.0.1:0")
	var api, admin string
	defer func() {
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()
	testutil.WaitFor(t, "micro api to serve", func() bool {
		log := stderr.String()
		api = after(log, "procedures on ")
		admin = after(log, "admin endpoints (/metrics, /healthz, /readyz) on ")
		return api != "" && admin != ""
	})
	api, _, _ = strings.Cut(api, " ")
	for path, want := range map[string]int{"/v1/shelves/1/books/dune": 200, "/v1/shelves/2/books/anathem": 200, "/v1/books/dune": 404, "/v1/nothing/here": 404} {
		if got, _ := getStatus(t, api+path); got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
	if got, body := getStatus(t, admin+"/readyz"); got != 200 {
		t.Errorf("GET /readyz = %d %q, want 200 while serving", got, body)
	}
	_, metrics := getStatus(t, admin+"/metrics")
	for _, want := range []string{
		`micro_gateway_requests_total{code="200",method="GET",route="/v1/{name=shelves/*/books/*}"} 2`,
		`micro_gateway_requests_total{code="404",method="GET",route="/v1/books/{name}"} 1`,
		`micro_gateway_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`grpc_client_handled_total{grpc_code="OK",grpc_method="GetBook",grpc_service="http.v1.Books",grpc_type="unary"} 2`,
		`grpc_client_handled_total{grpc_code="NotFound",grpc_method="GetBook",grpc_service="http.v1.Books",grpc_type="unary"} 1`,
		`micro_registry_lookups_total{backend="local",operation="list_services",outcome="ok"} `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, "/v1/books/dune") {
		t.Errorf("/metrics has a raw path as a route:\n%s", metrics)
	}
	if got := interrupt(); got != 130 {
		t.Errorf("micro api, interrupted = %d; want 130", got)
	}
}

// after returns the line's rest after the first occurrence of prefix in log,
// once the line is complete; "" until then.
func after(log, prefix string) string {
	_, rest, ok := strings.Cut(log, prefix)
	if !ok {
		return ""
	}
	line, _, complete := strings.Cut(rest, "\n")
	if !complete {
		return ""
	}
	return line
}

// getStatus returns the status and body of GET url.
func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testutil.Context(t), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}
