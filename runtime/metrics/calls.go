package metrics

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callMetrics are one side's (server or client) call metrics under the
// names and labels of go-grpc-middleware's Prometheus provider, so that the
// dashboards made for it work: grpc_<side>_started_total,
// grpc_<side>_handled_total (with grpc_code), grpc_<side>_msg_received_total,
// grpc_<side>_msg_sent_total and the grpc_<side>_handling_seconds
// histogram, each labelled grpc_type, grpc_service and grpc_method.
//
// Unlike the provider, which looks each series up by its label values on
// every call (hashing them, under a lock, for each of the four or five
// series a call touches), callMetrics keeps a method's series once the
// method is first called or [callMetrics.initialize]d: a call then costs a
// map read and the additions.
type callMetrics struct {
	started, handled, received, sent *prometheus.CounterVec
	seconds                          *prometheus.HistogramVec

	methods sync.Map // of methodKey to *methodMetrics
}

// The grpc_type label's values.
const (
	typeUnary        = "unary"
	typeClientStream = "client_stream"
	typeServerStream = "server_stream"
	typeBidiStream   = "bidi_stream"
)

// callHelp is the help of one side's call metrics.
type callHelp struct{ started, handled, received, sent, seconds string }

// The provider's help texts, kept so that the metrics read the same.
var (
	serverHelp = callHelp{
		started:  "Total number of RPCs started on the server.",
		handled:  "Total number of RPCs completed on the server, regardless of success or failure.",
		received: "Total number of RPC stream messages received on the server.",
		sent:     "Total number of gRPC stream messages sent by the server.",
		seconds:  "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
	}
	clientHelp = callHelp{
		started:  "Total number of RPCs started on the client.",
		handled:  "Total number of RPCs completed by the client, regardless of success or failure.",
		received: "Total number of RPC stream messages received by the client.",
		sent:     "Total number of gRPC stream messages sent by the client.",
		seconds:  "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
	}
)

// newCallMetrics returns the call metrics of side, "server" or "client".
func newCallMetrics(side string, help callHelp, buckets []float64) *callMetrics {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grpc_" + side + "_" + name, Help: help}, labels)
	}
	return &callMetrics{
		started:  counter("started_total", help.started, labels),
		handled:  counter("handled_total", help.handled, append(labels[:len(labels):len(labels)], "grpc_code")),
		received: counter("msg_received_total", help.received, labels),
		sent:     counter("msg_sent_total", help.sent, labels),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_" + side + "_handling_seconds", Help: help.seconds, Buckets: buckets,
		}, labels),
	}
}

func (m *callMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.handled, m.received, m.sent, m.seconds}
}

type methodKey struct{ typ, procedure string }

// methodMetrics are one method's series.
type methodMetrics struct {
	m                       *callMetrics
	labels                  [3]string // grpc_type, grpc_service, grpc_method
	started, received, sent prometheus.Counter
	seconds                 prometheus.Observer
	handled                 [codes.Unauthenticated + 1]atomic.Pointer[counter] // by code, made on first use
}

type counter struct{ prometheus.Counter }

// method returns the series of procedure ("/pkg.Service/Method") called as
// typ, making them on first use.
func (m *callMetrics) method(typ, procedure string) *methodMetrics {
	key := methodKey{typ, procedure}
	if mm, ok := m.methods.Load(key); ok {
		return mm.(*methodMetrics)
	}
	service, method := splitProcedure(procedure)
	mm := &methodMetrics{m: m, labels: [3]string{typ, service, method}}
	mm.started = m.started.WithLabelValues(mm.labels[:]...)
	mm.received = m.received.WithLabelValues(mm.labels[:]...)
	mm.sent = m.sent.WithLabelValues(mm.labels[:]...)
	mm.seconds = m.seconds.WithLabelValues(mm.labels[:]...)
	actual, _ := m.methods.LoadOrStore(key, mm)
	return actual.(*methodMetrics)
}

// initialize makes the series of procedure called as typ exist, the handled
// counters of every code included, before the first call.
func (m *callMetrics) initialize(typ, procedure string) {
	mm := m.method(typ, procedure)
	for code := range mm.handled {
		mm.handledCounter(codes.Code(code))
	}
}

// splitProcedure returns the service and method of "/pkg.Service/Method",
// or "unknown" twice, as the provider labels them.
func splitProcedure(procedure string) (service, method string) {
	procedure = strings.TrimPrefix(procedure, "/")
	if i := strings.Index(procedure, "/"); i >= 0 {
		return procedure[:i], procedure[i+1:]
	}
	return "unknown", "unknown"
}

func (mm *methodMetrics) handledCounter(code codes.Code) prometheus.Counter {
	if int(code) >= len(mm.handled) {
		return mm.m.handled.WithLabelValues(mm.labels[0], mm.labels[1], mm.labels[2], code.String())
	}
	if c := mm.handled[code].Load(); c != nil {
		return c.Counter
	}
	c := &counter{mm.m.handled.WithLabelValues(mm.labels[0], mm.labels[1], mm.labels[2], code.String())}
	mm.handled[code].CompareAndSwap(nil, c)
	return c.Counter
}

// done records a call that ended with err after it started at start.
func (mm *methodMetrics) done(err error, start time.Time) {
	mm.handledCounter(codeOf(err)).Inc()
	mm.seconds.Observe(time.Since(start).Seconds())
}

// codeOf is the gRPC code of err, context errors included, as grpc-go
// answers them.
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	s, ok := status.FromError(err)
	if !ok {
		s = status.FromContextError(err)
	}
	return s.Code()
}

func streamType(clientStreams, serverStreams bool) string {
	switch {
	case clientStreams && serverStreams:
		return typeBidiStream
	case clientStreams:
		return typeClientStream
	case serverStreams:
		return typeServerStream
	}
	return typeUnary
}

func (m *callMetrics) unaryServer(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	mm := m.method(typeUnary, info.FullMethod)
	mm.started.Inc()
	mm.received.Inc()
	res, err := handler(ctx, req)
	if err == nil {
		mm.sent.Inc()
	}
	mm.done(err, start)
	return res, err
}

func (m *callMetrics) streamServer(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	mm := m.method(streamType(info.IsClientStream, info.IsServerStream), info.FullMethod)
	mm.started.Inc()
	err := handler(srv, &serverStream{ServerStream: ss, mm: mm})
	mm.done(err, start)
	return err
}

// serverStream counts a served stream's messages.
type serverStream struct {
	grpc.ServerStream
	mm *methodMetrics
}

func (s *serverStream) SendMsg(msg any) error {
	err := s.ServerStream.SendMsg(msg)
	if err == nil {
		s.mm.sent.Inc()
	}
	return err
}

func (s *serverStream) RecvMsg(msg any) error {
	err := s.ServerStream.RecvMsg(msg)
	if err == nil {
		s.mm.received.Inc()
	}
	return err
}

func (m *callMetrics) unaryClient(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	mm := m.method(typeUnary, method)
	mm.started.Inc()
	mm.sent.Inc()
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil {
		mm.received.Inc()
	}
	mm.done(err, start)
	return err
}

func (m *callMetrics) streamClient(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	mm := m.method(streamType(desc.ClientStreams, desc.ServerStreams), method)
	mm.started.Inc()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		mm.done(err, start)
		return nil, err
	}
	return &clientStream{ClientStream: cs, mm: mm, start: start, serverStreams: desc.ServerStreams}, nil
}

// clientStream counts a stream's messages and records its end, when the
// last response has been received.
type clientStream struct {
	grpc.ClientStream
	mm            *methodMetrics
	start         time.Time
	serverStreams bool
}

func (s *clientStream) SendMsg(msg any) error {
	err := s.ClientStream.SendMsg(msg)
	if err == nil {
		s.mm.sent.Inc()
	}
	return err
}

func (s *clientStream) RecvMsg(msg any) error {
	err := s.ClientStream.RecvMsg(msg)
	if err == nil {
		s.mm.received.Inc()
	}
	switch {
	case !s.serverStreams: // one response: the call is over
		s.mm.done(err, s.start)
	case errors.Is(err, io.EOF):
		s.mm.done(nil, s.start)
	case err != nil:
		s.mm.done(err, s.start)
	}
	return err
}
