package gateway

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/internal/tracecontext"
)

// traced returns h inside an otelhttp server span in tp, or, without tp,
// h with the request's trace context put into its context so that the call
// to the service continues the caller's trace.
func traced(h http.Handler, tp trace.TracerProvider) http.Handler {
	if tp == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("traceparent") != "" || r.Header.Get("baggage") != "" {
				r = r.WithContext(tracecontext.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
			}
			h.ServeHTTP(w, r)
		})
	}
	return otelhttp.NewHandler(h, "gateway",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(tracecontext.Propagator),
		// The route is not known before routing, so by the HTTP conventions
		// the span is named for the method alone.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}
