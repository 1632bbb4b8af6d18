package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/books"
	bookspb "github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestGatewayCounted serves REST, Connect and unrouted requests through an
// instrumented gateway behind a ServeMux, and reads their counts by route
// template (never the raw path), method and status code.
func TestGatewayCounted(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	testserver.Service(t, reg, "books", func(s server.Server) error { return bookspb.RegisterBooksHandler(s, books.Handler{}) })
	m := metrics.New()
	g, err := gateway.New(testutil.Context(t), reg, gateway.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	mux := http.NewServeMux()
	mux.Handle("/", g)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(m.InstrumentGateway(mux))
	t.Cleanup(srv.Close)

	for _, tt := range []struct {
		method, path, body string
		header             []string
		want               int
	}{
		{"GET", "/v1/shelves/1/books/2", "", nil, 200},
		{"GET", "/v1/shelves/7/books/9", "", nil, 200},
		{"GET", "/v1/books/dune", "", nil, 200},
		{"GET", "/v1/books/error-" + errors.CodeNotFound.String(), "", nil, 404},
		{"POST", bookspb.BooksGetBookProcedure, `{"name": "dune"}`, []string{"Connect-Protocol-Version", "1"}, 200},
		{"GET", "/v1/shelves/3/books:watch", "", []string{"Accept", "text/event-stream"}, 200},
		{"GET", "/v1/no/such/route/42", "", nil, 404},
		{"GET", "/_routes", "", nil, 200},
		{"GET", "/healthz", "", nil, 200},
		{"BREW", "/v1/books/dune", "", nil, 405},
	} {
		req, err := http.NewRequestWithContext(testutil.Context(t), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(tt.header); i += 2 {
			req.Header.Set(tt.header[i], tt.header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != tt.want {
			t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.want)
		}
	}

	checkSeries(t, m, []series{
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/{name=shelves/*/books/*}", "method": "GET", "code": "200"}, 2},
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/books/{name}", "method": "GET", "code": "200"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/books/{name}", "method": "GET", "code": "404"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": bookspb.BooksGetBookProcedure, "method": "POST", "code": "200"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/{name=shelves/*}/books:watch", "method": "GET", "code": "200"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "unmatched", "method": "GET", "code": "404"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "unmatched", "method": "OTHER", "code": "405"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "/_routes", "code": "200"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "GET /healthz", "code": "200"}, 1},
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/no/such/route/42"}, -1},
		{"micro_gateway_requests_total", map[string]string{"route": "/v1/shelves/1/books/2"}, -1},
		{"micro_gateway_request_duration_seconds", map[string]string{"route": "/v1/{name=shelves/*/books/*}", "method": "GET"}, 2},
	})
}
