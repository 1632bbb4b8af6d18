package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protomicro/micro/runtime/internal/route"
)

// gatewayMetrics count and time the HTTP requests a gateway serves.
type gatewayMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newGatewayMetrics(buckets []float64) *gatewayMetrics {
	return &gatewayMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_gateway_requests_total",
			Help: "HTTP requests served, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "micro_gateway_request_duration_seconds",
			Help:    "How long HTTP requests took to serve, by route and method.",
			Buckets: buckets,
		}, []string{"route", "method"}),
	}
}

func (g *gatewayMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.requests, g.duration}
}

// InstrumentGateway returns h with every request it serves counted in
// micro_gateway_requests_total and timed in
// micro_gateway_request_duration_seconds, by route, method and status code.
// The route is what h routed the request by, never its raw path, so that the
// series stay few: for a gateway.Gateway, the URL template of the REST route
// ("/v1/{name=shelves/*}"), the procedure of a Connect, gRPC or gRPC-Web
// call ("/http.v1.Books/GetBook"), "/_routes" for the index, or "unmatched"
// (a 404, a CORS preflight); for an [http.ServeMux], the pattern it matched
// ("/_web/"), unless the handler under it (a gateway) names a route itself.
// A method other than the standard ones is counted as "OTHER". A streaming
// call is counted, and timed, when it ends.
func (m *Metrics) InstrumentGateway(h http.Handler) http.Handler {
	g := m.http
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, slot := route.Track(r.Context())
		r = r.WithContext(ctx)
		sw := &codeWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		name := *slot
		if name == "" {
			name = r.Pattern // set by a ServeMux, on the request it was given
		}
		if name == "" {
			name = "unmatched"
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		method := methodLabel(r.Method)
		g.requests.WithLabelValues(name, method, strconv.Itoa(code)).Inc()
		g.duration.WithLabelValues(name, method).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is method if it is a standard one, else "OTHER": a client
// chooses the method, and must not choose how many series there are.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// codeWriter records the status code a handler answers with.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush sends what is written so far, for streams (gRPC requires it).
func (w *codeWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
