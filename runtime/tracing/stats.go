package tracing

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	grpccodes "google.golang.org/grpc/codes"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// ScopeName is the instrumentation scope of the spans [ServerOptions] and
// [ClientOptions] record.
const ScopeName = "github.com/protomicro/micro/runtime/tracing"

// statsHandler records the spans otelgrpc's stats handlers record, with
// their names, kinds, attributes (semantic conventions v1.43, otelgrpc's
// default) and statuses, for a fraction of the cost when the span is not
// sampled: it extracts or injects the trace context and starts the span,
// and does the rest only when span.IsRecording().
//
// A handler is safe for concurrent use.
type statsHandler struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	client     bool
	kind       trace.SpanKind
	methods    methodCache
}

func newStatsHandler(tp trace.TracerProvider, propagator propagation.TextMapPropagator, client bool) *statsHandler {
	h := &statsHandler{
		tracer:     tp.Tracer(ScopeName),
		propagator: propagator,
		client:     client,
		kind:       trace.SpanKindServer,
	}
	if client {
		h.kind = trace.SpanKindClient
	}
	return h
}

// TagConn leaves connections alone.
func (*statsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn leaves connections alone.
func (*statsHandler) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC starts the call's span: on a server, as a child of the span
// context the call carries; on a client, as a child of the span in ctx, and
// writes its trace context into the call's outgoing metadata.
func (h *statsHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	m := h.methods.get(info.FullMethodName, h.kind)
	if !h.client {
		ctx = h.propagator.Extract(ctx, incomingCarrier{ctx: ctx})
		ctx, _ = h.tracer.Start(ctx, m.name, m.options...)
		return ctx
	}
	ctx, _ = h.tracer.Start(ctx, m.name, m.options...)
	carrier := &outgoingCarrier{ctx: ctx}
	h.propagator.Inject(ctx, carrier)
	return carrier.context()
}

// HandleRPC adds the peer's address and the outcome to a recorded span, and
// ends it.
func (h *statsHandler) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	switch rs := rs.(type) {
	case *stats.InHeader:
		if !rs.Client && rs.LocalAddr != nil {
			span.SetAttributes(serverAddress(rs.LocalAddr.String())...)
		}
	case *stats.OutHeader:
		if rs.Client && rs.RemoteAddr != nil {
			span.SetAttributes(serverAddress(rs.RemoteAddr.String())...)
		}
	case *stats.End:
		code := grpccodes.OK
		if rs.Error != nil {
			s, _ := status.FromError(rs.Error)
			code = s.Code()
			if h.client || serverError(code) {
				span.SetStatus(codes.Error, s.Message())
			}
		}
		span.SetAttributes(semconv.RPCResponseStatusCode(codeName(code)))
		span.End()
	}
}

// serverError reports whether a server span of a call that ended with code
// is in error: the codes that say the server failed, not the caller, as
// OpenTelemetry's RPC conventions and otelgrpc have them.
func serverError(code grpccodes.Code) bool {
	switch code {
	case grpccodes.Unknown, grpccodes.DeadlineExceeded, grpccodes.Unimplemented,
		grpccodes.Internal, grpccodes.Unavailable, grpccodes.DataLoss:
		return true
	}
	return false
}

// serverAddress returns the server.address and server.port attributes of
// hostport.
func serverAddress(hostport string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(hostport)}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(host)}
	}
	return []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(p)}
}

// codeName is code as rpc.response.status_code spells it: the canonical
// gRPC name, "OK", "NOT_FOUND", ...
func codeName(code grpccodes.Code) string {
	if code == grpccodes.Canceled {
		return "CANCELLED" // grpc-go's String says "Canceled"
	}
	if code > grpccodes.Unauthenticated {
		return "CODE(" + strconv.FormatUint(uint64(code), 10) + ")"
	}
	return codeNames[code]
}

var codeNames = [...]string{
	grpccodes.OK:                 "OK",
	grpccodes.Canceled:           "CANCELLED",
	grpccodes.Unknown:            "UNKNOWN",
	grpccodes.InvalidArgument:    "INVALID_ARGUMENT",
	grpccodes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	grpccodes.NotFound:           "NOT_FOUND",
	grpccodes.AlreadyExists:      "ALREADY_EXISTS",
	grpccodes.PermissionDenied:   "PERMISSION_DENIED",
	grpccodes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	grpccodes.FailedPrecondition: "FAILED_PRECONDITION",
	grpccodes.Aborted:            "ABORTED",
	grpccodes.OutOfRange:         "OUT_OF_RANGE",
	grpccodes.Unimplemented:      "UNIMPLEMENTED",
	grpccodes.Internal:           "INTERNAL",
	grpccodes.Unavailable:        "UNAVAILABLE",
	grpccodes.DataLoss:           "DATA_LOSS",
	grpccodes.Unauthenticated:    "UNAUTHENTICATED",
}

// method is what a span of one procedure starts with: its name and the
// options giving its kind and attributes, built once per procedure so that
// a call that is not sampled builds none. The sampler sees the attributes,
// as with otelgrpc.
type method struct {
	name    string
	options []trace.SpanStartOption
}

// maxCachedMethods bounds [methodCache]: a server sees whatever procedure
// names its callers send, served or not.
const maxCachedMethods = 1024

// methodCache holds the [method] of the procedures seen, up to
// [maxCachedMethods] of them; past that each call builds its own.
type methodCache struct {
	methods sync.Map // full method name -> *method
	size    atomic.Int32
}

func (c *methodCache) get(fullMethod string, kind trace.SpanKind) *method {
	if m, ok := c.methods.Load(fullMethod); ok {
		return m.(*method)
	}
	m := newMethod(fullMethod, kind)
	if c.size.Load() < maxCachedMethods {
		if _, loaded := c.methods.LoadOrStore(fullMethod, m); !loaded {
			c.size.Add(1)
		}
	}
	return m
}

// newMethod names the span of fullMethod ("/pkg.Service/Method") as
// otelgrpc does: "pkg.Service/Method", with rpc.method set to the same and
// rpc.system.name "grpc"; a name not starting with "/" is the span's name
// as it is, with rpc.system.name only.
func newMethod(fullMethod string, kind trace.SpanKind) *method {
	name, attrs := fullMethod, []attribute.KeyValue{semconv.RPCSystemNameGRPC}
	if rest, ok := strings.CutPrefix(fullMethod, "/"); ok {
		name, attrs = rest, []attribute.KeyValue{semconv.RPCMethod(rest), semconv.RPCSystemNameGRPC}
	}
	return &method{name: name, options: []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithAttributes(attrs...)}}
}

// incomingCarrier reads a server call's incoming gRPC metadata key by key,
// without copying the rest of it.
type incomingCarrier struct {
	ctx context.Context
}

func (c incomingCarrier) Get(key string) string {
	if values := grpcmetadata.ValueFromIncomingContext(c.ctx, key); len(values) > 0 {
		return values[0]
	}
	return ""
}

// Set does nothing: incoming metadata is read only.
func (incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := grpcmetadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))
	for key := range md {
		keys = append(keys, key)
	}
	return keys
}

// outgoingCarrier collects what a propagator writes for a client call, for
// [outgoingCarrier.context] to add to the call's outgoing gRPC metadata.
type outgoingCarrier struct {
	ctx     context.Context
	pairs   []string // key, value, ...
	storage [6]string
}

func (c *outgoingCarrier) Get(key string) string {
	for i := len(c.pairs) - 2; i >= 0; i -= 2 {
		if c.pairs[i] == key {
			return c.pairs[i+1]
		}
	}
	if values := grpcmetadata.ValueFromOutgoingContext(c.ctx, key); len(values) > 0 {
		return values[0]
	}
	return ""
}

func (c *outgoingCarrier) Set(key, value string) {
	if c.pairs == nil {
		c.pairs = c.storage[:0]
	}
	c.pairs = append(c.pairs, strings.ToLower(key), value)
}

func (c *outgoingCarrier) Keys() []string {
	md, _ := grpcmetadata.FromOutgoingContext(c.ctx)
	keys := make([]string, 0, len(md)+len(c.pairs)/2)
	for key := range md {
		keys = append(keys, key)
	}
	for i := 0; i < len(c.pairs); i += 2 {
		keys = append(keys, c.pairs[i])
	}
	return keys
}

// context returns the call's context with what was set added to its
// outgoing metadata, each key replacing the values the context had for it
// (a traceparent an interceptor wrote, say). When the context has none of
// the keys, the pairs are appended without copying the metadata already
// there.
func (c *outgoingCarrier) context() context.Context {
	if len(c.pairs) == 0 {
		return c.ctx
	}
	for i := 0; i < len(c.pairs); i += 2 {
		if grpcmetadata.ValueFromOutgoingContext(c.ctx, c.pairs[i]) != nil {
			md, _ := grpcmetadata.FromOutgoingContext(c.ctx) // a copy
			for i := 0; i < len(c.pairs); i += 2 {
				md.Set(c.pairs[i], c.pairs[i+1])
			}
			return grpcmetadata.NewOutgoingContext(c.ctx, md)
		}
	}
	return grpcmetadata.AppendToOutgoingContext(c.ctx, c.pairs...)
}
