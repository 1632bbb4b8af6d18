package micro

import (
	"log/slog"
	"maps"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/client"
	mconfig "github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/runtime/sync"
)

// Defaults of a service's options.
const (
	// DefaultAddress is where a service listens unless told otherwise: a free
	// port on every interface.
	DefaultAddress = ":0"
	// DefaultTTL is how long a registration lives without a heartbeat: a node
	// that dies without deregistering leaves lookups within it.
	DefaultTTL = 15 * time.Second
	// DefaultGracePeriod is how long a stopping service waits for the calls
	// in flight to finish before canceling them.
	DefaultGracePeriod = 10 * time.Second
)

// Option configures a [Service].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	version       string
	address       string
	advertise     string
	metadata      map[string]string
	registry      registry.Registry
	sync          sync.Sync
	broker        broker.Broker
	brokerKinds   []BrokerKind
	interceptors  []rpc.Interceptor
	configDir     string
	configOptions []mconfig.Option
	ttl           time.Duration
	heartbeat     time.Duration
	grace         time.Duration
	logger        *slog.Logger
	args          []string
	serverOptions []server.Option
	clientOptions []client.Option
	adminAddress  string
	adminPprof    bool
	metrics       *metrics.Metrics
	tracer        trace.TracerProvider
	verifier      auth.Verifier
	authOptions   []auth.Option
	tokenSource   auth.TokenSource
	tls           tlsFiles
}

// WithVersion sets the version the service registers. The default is the
// version of the program's main module when it was built from a tagged
// module, and "latest" otherwise.
func WithVersion(version string) Option {
	return optionFunc(func(c *config) { c.version = version })
}

// WithListenAddress sets where the service listens, "host:port". The default
// is [DefaultAddress]; the MICRO_ADDRESS environment variable (and the
// --address flag, with [WithArgs]) override it.
func WithListenAddress(address string) Option {
	return optionFunc(func(c *config) { c.address = address })
}

// WithAdvertiseAddress sets the address registered for the service, when callers
// must reach it at another address than the one it listens on (behind NAT, in
// a container). By default it is the listening address, with a loopback host
// for the local and memory registries and this host's first non-loopback
// address for the others when the service listens on every interface. The
// MICRO_ADVERTISE environment variable (and the --advertise flag, with
// [WithArgs]) override it.
func WithAdvertiseAddress(address string) Option {
	return optionFunc(func(c *config) { c.advertise = address })
}

// WithServiceMetadata adds key/value pairs to the service's registration, for
// callers and tools to read in the registry (request headers are
// client.WithHeaders). There are none by default.
func WithServiceMetadata(metadata map[string]string) Option {
	return optionFunc(func(c *config) {
		if c.metadata == nil {
			c.metadata = make(map[string]string, len(metadata))
		}
		maps.Copy(c.metadata, metadata)
	})
}

// WithRegistry sets the registry the service registers in and its client
// looks services up in. The default is the local registry, which needs nothing
// installed; the MICRO_REGISTRY environment variable (and the --registry
// flag, with [WithArgs]) override it.
func WithRegistry(r registry.Registry) Option {
	return optionFunc(func(c *config) { c.registry = r })
}

// WithSync sets the backend of the service's locks and leader elections
// ([Service.Sync]). The default is the local one, for the processes of one
// host, which needs nothing installed; the MICRO_SYNC and MICRO_SYNC_ADDRESS
// environment variables (and the --sync and --sync_address flags, with
// [WithArgs]) override it, as for the registry. A backend given here is the
// caller's to close.
func WithSync(s sync.Sync) Option {
	return optionFunc(func(c *config) { c.sync = s })
}

// WithBroker sets the broker the service publishes and subscribes through
// ([Service.Broker]). The default is the local one, for the processes of one
// host, which needs nothing installed; the MICRO_BROKER and
// MICRO_BROKER_ADDRESS environment variables (and the --broker and
// --broker_address flags, with [WithArgs]) override it. A broker given here
// is the caller's to close (after Run returns, so that handlers in flight
// finish); one made from the environment or the default is drained and
// closed by Run.
func WithBroker(b broker.Broker) Option {
	return optionFunc(func(c *config) { c.broker = b })
}

// WithBrokers adds broker backends that MICRO_BROKER and --broker may name,
// beyond local and memory:
//
//	micro.WithBrokers(micro.BrokerKind{Name: "nats", Open: nats.Open})
//
// with package github.com/protomicro/micro/runtime/broker/nats. Backends
// are added this way, not built in, so that a program links only those it
// names. There are none by default.
func WithBrokers(kinds ...BrokerKind) Option {
	return optionFunc(func(c *config) { c.brokerKinds = append(c.brokerKinds, kinds...) })
}

// WithConfig adds to how the service's configuration ([Service.Config]) is
// loaded: by default from config.yaml in the working directory, if there is
// one, and MICRO_CONFIG_* environment variables (MICRO_CONFIG_DB__HOST sets
// db.host), watched. Sources given with config.WithSources here come after
// those and win over them; config.WithoutWatch, config.WithValidator and the
// others apply as they say.
func WithConfig(opts ...mconfig.Option) Option {
	return optionFunc(func(c *config) { c.configOptions = append(c.configOptions, opts...) })
}

// WithConfigDir sets the directory whose config.yaml the service loads. The
// default is the working directory.
func WithConfigDir(dir string) Option {
	return optionFunc(func(c *config) { c.configDir = dir })
}

// WithTTL sets how long the registration lives without a heartbeat. The
// default is [DefaultTTL].
func WithTTL(ttl time.Duration) Option {
	return optionFunc(func(c *config) { c.ttl = ttl })
}

// WithHeartbeat sets how often the registration is renewed. The default is a
// third of the TTL.
func WithHeartbeat(interval time.Duration) Option {
	return optionFunc(func(c *config) { c.heartbeat = interval })
}

// WithGracePeriod sets how long a stopping service lets calls in flight
// finish before canceling them. The default is [DefaultGracePeriod].
func WithGracePeriod(d time.Duration) Option {
	return optionFunc(func(c *config) { c.grace = d })
}

// WithLogger sets the service's logger: where it logs starting, stopping
// and trouble with its registration, and the logger its handlers get from
// logging.FromContext. Its handler is wrapped with logging.NewHandler, so
// that records logged with a call's context carry the call's trace_id,
// span_id, procedure and peer. The default is a logger in the format and at
// the level of MICRO_LOG_FORMAT (text or json) and MICRO_LOG_LEVEL (debug,
// info, warn or error) on standard error when either is set, and
// [slog.Default] (when [NewService] is called) otherwise.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithArgs makes the service read its settings from command-line arguments
// as well as from the environment: --address, --advertise, --registry,
// --registry_address, --sync, --sync_address, --broker, --broker_address,
// --admin_address and --admin_pprof (or with one dash, "--flag value" or
// "--flag=value"),
// which win over the MICRO_* variables. Other arguments are left alone, and
// nothing is parsed after "--". Give it os.Args[1:] in a program that has no
// flags of its own; a program that parses its own flags (package flag,
// cobra) should define these itself if it wants them, or rely on the
// environment. By default no arguments are read: NewService never touches a
// program's command line.
func WithArgs(args []string) Option {
	return optionFunc(func(c *config) { c.args = args })
}

// WithServerOptions passes options to the service's server. There are none
// by default.
func WithServerOptions(opts ...server.Option) Option {
	return optionFunc(func(c *config) { c.serverOptions = append(c.serverOptions, opts...) })
}

// WithInterceptors wraps the calls the service serves and the calls its
// client makes in interceptors, the first given outermost: one policy for
// both directions. They wrap the handlers subscribed through
// [Service.Broker] too, each delivery a unary call "event:<topic>". There
// are none by default; server.WithInterceptors and client.WithInterceptors
// (through [WithServerOptions] and [WithClientOptions]) apply to one side
// only, and not to events.
func WithInterceptors(interceptors ...rpc.Interceptor) Option {
	return optionFunc(func(c *config) {
		c.interceptors = append(c.interceptors, interceptors...)
		c.serverOptions = append(c.serverOptions, server.WithInterceptors(interceptors...))
		c.clientOptions = append(c.clientOptions, client.WithInterceptors(interceptors...))
	})
}

// WithClientOptions passes options to the service's client. There are none
// by default.
func WithClientOptions(opts ...client.Option) Option {
	return optionFunc(func(c *config) { c.clientOptions = append(c.clientOptions, opts...) })
}

// WithAdminAddress turns on the service's admin HTTP listener at address
// ("127.0.0.1:9090"; port 0 picks a free one, see [Service.AdminAddress]),
// for operators and Prometheus: /metrics (the call, event and registry
// metrics of package metrics, and the Go runtime's), /healthz (200 while the process runs),
// /readyz (200 once the service is registered and until it starts draining,
// 503 otherwise) and, with [WithAdminPprof], /debug/pprof/. It is off by
// default; the MICRO_ADMIN_ADDRESS environment variable (and the
// --admin_address flag, with [WithArgs]) override it. Nothing on it is
// authenticated: bind it where only operators reach it.
func WithAdminAddress(address string) Option {
	return optionFunc(func(c *config) { c.adminAddress = address })
}

// WithAdminPprof serves Go's profiles (CPU, heap, goroutines, execution
// trace, ...) at /debug/pprof/ on the admin listener, for go tool pprof. It
// is off by default, since profiles show the program's internals; the
// MICRO_ADMIN_PPROF environment variable (and the --admin_pprof flag, with
// [WithArgs]), true or false, override it. It does nothing without
// [WithAdminAddress].
func WithAdminPprof(enabled bool) Option {
	return optionFunc(func(c *config) { c.adminPprof = enabled })
}

// WithMetrics counts and times the calls the service serves and makes in m
// (see package metrics), and the events it publishes and handles through
// [Service.Broker] and its lookups and watches in [Service.Registry], to
// share its registry with the program's own metrics or to serve them
// elsewhere. By default a service keeps metrics only when its admin
// listener is on ([WithAdminAddress]), in a registry of their own, and costs
// nothing otherwise.
func WithMetrics(m *metrics.Metrics) Option {
	return optionFunc(func(c *config) { c.metrics = m })
}

// WithTracerProvider records OpenTelemetry spans in tp for the calls the
// service serves and makes and the events it publishes and handles (see
// package tracing). By default, the tracer provider is one exporting over
// OTLP when the standard OpenTelemetry environment names a collector
// (OTEL_EXPORTER_OTLP_ENDPOINT, ...; see package tracing/otlp), shut down,
// flushing its spans, when the service closes; with none, nothing is traced
// and no tracing code runs per call. Traced or not, a handler that calls
// other services or publishes with its own context passes on the W3C trace
// context it was called with.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

func newConfig(opts []Option) *config {
	c := &config{
		address:   DefaultAddress,
		ttl:       DefaultTTL,
		grace:     DefaultGracePeriod,
		configDir: ".",
	}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.heartbeat <= 0 {
		c.heartbeat = c.ttl / 3
	}
	return c
}
