package metrics

import (
	"net/http"
	"strings"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/server"
)

// DefaultBuckets are the upper bounds, in seconds, of the handling-time
// histograms unless [WithBuckets] says otherwise: from half a millisecond to
// ten seconds.
var DefaultBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics holds a server's and a client's call metrics, a broker's,
// a registry's and a gateway's, and the Prometheus registry they are in. It
// is safe for concurrent use. One Metrics serves one server and one client:
// give it to one service, or to one gateway.
type Metrics struct {
	registry *prometheus.Registry
	server   *grpcprom.ServerMetrics
	client   *grpcprom.ClientMetrics
	events   *brokerMetrics
	lookups  *registryMetrics
	http     *gatewayMetrics
}

// Option configures [New].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	registry *prometheus.Registry
	buckets  []float64
}

// WithRegistry puts the metrics in registry, which may hold the program's
// own. The default is a new registry holding the call metrics and the Go
// runtime's and the process's collectors (go_*, process_*); a registry given
// here gets only the call metrics.
func WithRegistry(registry *prometheus.Registry) Option {
	return optionFunc(func(c *config) { c.registry = registry })
}

// WithBuckets sets the upper bounds, in seconds, of the handling-time
// histograms (calls, event handlers and gateway requests). The default is [DefaultBuckets].
func WithBuckets(buckets ...float64) Option {
	return optionFunc(func(c *config) { c.buckets = buckets })
}

// New returns call metrics for one server and one client, and the broker,
// registry and gateway metrics ([Metrics.InstrumentBroker],
// [Metrics.InstrumentRegistry], [Metrics.InstrumentGateway]), registered in a
// registry of their own unless [WithRegistry] gives one. It panics if that
// registry already holds metrics of the same names.
func New(opts ...Option) *Metrics {
	c := &config{buckets: DefaultBuckets}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.registry == nil {
		c.registry = prometheus.NewRegistry()
		c.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{
		registry: c.registry,
		server:   grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(c.buckets))),
		client:   grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(c.buckets))),
		events:   newBrokerMetrics(c.buckets),
		lookups:  newRegistryMetrics(),
		http:     newGatewayMetrics(c.buckets),
	}
	c.registry.MustRegister(m.server, m.client)
	c.registry.MustRegister(m.events.collectors()...)
	c.registry.MustRegister(m.lookups.collectors()...)
	c.registry.MustRegister(m.http.collectors()...)
	return m
}

// Registry returns the registry the metrics are in, to add the program's own
// or to gather them.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler returns an HTTP handler that serves the registry in Prometheus's
// exposition formats, as /metrics does.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ServerOptions returns the options that make a server (server.New) count
// and time every call it serves, as grpc-go interceptors outside micro's
// own (server.WithInterceptors), so the code counted is the one the caller
// got.
func (m *Metrics) ServerOptions() []server.Option {
	return []server.Option{server.WithGRPCOptions(
		grpc.ChainUnaryInterceptor(m.server.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(m.server.StreamServerInterceptor()),
	)}
}

// ClientOptions returns the options that make a client (client.New) count
// and time every call it makes on the wire: each attempt, inside micro's
// interceptors and retries.
func (m *Metrics) ClientOptions() []client.Option {
	return []client.Option{client.WithGRPCOptions(
		grpc.WithChainUnaryInterceptor(m.client.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(m.client.StreamClientInterceptor()),
	)}
}

// Initialize makes the server's series of every method of services exist,
// at zero, before the first call, so that rates and alerts see them from
// the start.
func (m *Metrics) Initialize(services []*server.ServiceDesc) {
	m.server.InitializeMetrics(serviceInfo(services))
}

// serviceInfo describes micro's services the way grpc-go's reflection does.
type serviceInfo []*server.ServiceDesc

func (s serviceInfo) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := make(map[string]grpc.ServiceInfo, len(s))
	for _, desc := range s {
		info := grpc.ServiceInfo{}
		for _, method := range desc.Methods {
			info.Methods = append(info.Methods, grpc.MethodInfo{
				Name:           method.Procedure[strings.LastIndex(method.Procedure, "/")+1:],
				IsClientStream: method.StreamType.IsClientStream(),
				IsServerStream: method.StreamType.IsServerStream(),
			})
		}
		out[desc.Name] = info
	}
	return out
}
