package micro

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	stdsync "sync"
	"sync/atomic"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/client"
	mconfig "github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/internal/tracecontext"
	"github.com/protomicro/micro/runtime/logging"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/tracing"
	"github.com/protomicro/micro/runtime/tracing/otlp"
)

// Service is one running micro service: a server registered for discovery
// under the service's name, and a client for the services it calls.
type Service struct {
	name        string
	id          string
	config      *config
	registry    registry.Registry
	ownRegistry bool // made from flags or defaults, and closed after Run
	sync        sync.Sync
	ownSync     bool          // made from flags or defaults, and closed after Run
	broker      broker.Broker // with the service's defaults (broker.ForService)
	rawBroker   broker.Broker
	ownBroker   bool // made from flags or defaults, and drained and closed by Run
	conf        *mconfig.Config
	server      server.Server
	client      client.Client
	metrics     *metrics.Metrics         // nil unless metrics are on
	ownTracer   *sdktrace.TracerProvider // made from the OTEL_* environment, shut down by Close
	ready       atomic.Bool              // registered and not draining, for /readyz

	closeOnce stdsync.Once
	closeErr  error

	mu           stdsync.Mutex
	started      bool
	address      string // where it listens, once Run has started
	adminAddress string // where the admin listener listens, once Run has started
}

// NewService returns a service named name, configured by opts and then by
// the flags and environment variables listed in the package documentation.
// It fails if a flag or variable is malformed or names an unknown registry, or
// if the registry cannot be opened.
func NewService(name string, opts ...Option) (*Service, error) {
	if name == "" {
		return nil, errors.New("new service: the name is empty")
	}
	c := newConfig(opts)
	if c.logger == nil {
		logger, err := logging.FromEnvironment(os.Stderr, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("new service %q: %w", name, err)
		}
		c.logger = cmp.Or(logger, slog.Default())
	}
	c.logger = slog.New(logging.NewHandler(c.logger.Handler()))
	var ownTracer *sdktrace.TracerProvider
	if c.tracer == nil {
		tp, err := otlp.FromEnvironment(context.Background(), name)
		if err != nil {
			return nil, fmt.Errorf("new service %q: %w", name, err)
		}
		if tp != nil {
			c.tracer, ownTracer = tp, tp
		}
	}
	defer func() {
		if ownTracer != nil {
			_ = ownTracer.Shutdown(context.Background())
		}
	}()
	if c.version == "" {
		c.version = buildVersion()
	}
	for _, s := range []struct {
		setting setting
		value   *string
	}{{addressSetting, &c.address}, {advertiseSetting, &c.advertise}, {adminAddressSetting, &c.adminAddress}} {
		value, ok, err := s.setting.lookup(c.args)
		if err != nil {
			return nil, fmt.Errorf("new service %q: %w", name, err)
		}
		if ok {
			*s.value = value
		}
	}
	if value, ok, err := adminPprofSetting.lookup(c.args); err != nil {
		return nil, fmt.Errorf("new service %q: %w", name, err)
	} else if ok {
		if c.adminPprof, err = strconv.ParseBool(value); err != nil {
			return nil, fmt.Errorf("new service %q: %s or --%s is %q, want true or false", name, adminPprofSetting.env, adminPprofSetting.flag, value)
		}
	}
	if c.metrics == nil && c.adminAddress != "" {
		c.metrics = metrics.New()
	}
	kind, named, err := registrySetting.lookup(c.args)
	if err != nil {
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	address, _, err := registryAddressSetting.lookup(c.args)
	if err != nil {
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	own := named || c.registry == nil
	if own {
		if !named {
			kind = "local"
		}
		if c.registry, err = NewRegistry(kind, address); err != nil {
			return nil, fmt.Errorf("new service %q: %w", name, err)
		}
	}
	if c.metrics != nil {
		c.registry = c.metrics.InstrumentRegistry(c.registry)
	}
	syncKind, syncNamed, err := syncSetting.lookup(c.args)
	if err != nil {
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	syncAddress, _, err := syncAddressSetting.lookup(c.args)
	if err != nil {
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	ownSync := syncNamed || c.sync == nil
	if ownSync {
		if !syncNamed {
			syncKind = "local"
		}
		if c.sync, err = NewSync(syncKind, syncAddress); err != nil {
			if own {
				closeRegistry(c.registry)
			}
			return nil, fmt.Errorf("new service %q: %w", name, err)
		}
	}
	brokerKind, brokerNamed, err := brokerSetting.lookup(c.args)
	ownBroker := brokerNamed || c.broker == nil
	if err == nil {
		var brokerAddress string
		brokerAddress, _, err = brokerAddressSetting.lookup(c.args)
		if err == nil && ownBroker {
			if !brokerNamed {
				brokerKind = "local"
			}
			c.broker, err = NewBroker(brokerKind, brokerAddress, c.brokerKinds...)
		}
	}
	if err != nil {
		if own {
			closeRegistry(c.registry)
		}
		if ownSync {
			_ = c.sync.Close()
		}
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	release := func() {
		if own {
			closeRegistry(c.registry)
		}
		if ownSync {
			_ = c.sync.Close()
		}
		if ownBroker {
			_ = c.broker.Close(context.Background())
		}
	}
	conf, err := mconfig.New(context.Background(), append([]mconfig.Option{
		mconfig.WithLogger(c.logger),
		mconfig.WithSources(mconfig.ServiceSources(c.configDir)...),
	}, c.configOptions...)...)
	if err != nil {
		release()
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	id, err := nodeID(name)
	if err != nil {
		release()
		_ = conf.Close()
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	// The client's options after the registry is settled: it finds services
	// in it.
	// The logging interceptor first, outermost, so that every other sees the
	// call in its context.
	serverOptions := []server.Option{server.WithLogger(c.logger), server.WithInterceptors(logging.Interceptor(c.logger))}
	eventInterceptors := append([]rpc.Interceptor{logging.Interceptor(c.logger)}, c.interceptors...)
	eventBroker := c.broker
	clientOptions := []client.Option{client.WithRegistry(c.registry), client.WithLogger(c.logger)}
	if c.tracer == nil {
		// Traced, the client's stats handler writes the trace context of
		// its span on every call, over what this would have written.
		clientOptions = append(clientOptions, client.WithInterceptors(tracecontext.ClientInterceptor()))
	}
	if c.metrics != nil {
		// First, so that the metrics see what the caller got from every
		// interceptor given after them.
		serverOptions = append(serverOptions, c.metrics.ServerOptions()...)
		clientOptions = append(clientOptions, c.metrics.ClientOptions()...)
		eventBroker = c.metrics.InstrumentBroker(eventBroker)
	}
	if c.tracer != nil {
		serverOptions = append(serverOptions, tracing.ServerOptions(c.tracer)...)
		clientOptions = append(clientOptions, tracing.ClientOptions(c.tracer)...)
		eventBroker = tracing.Broker(eventBroker, c.tracer)
	}
	// Inside metrics and tracing, which then see refused calls too, and
	// outside the program's own interceptors, which see the claims.
	eventAuth, eventBroker := c.eventAuth(eventBroker)
	eventInterceptors = slices.Insert(eventInterceptors, 1, eventAuth...) // after logging
	authServer, authClient, err := c.authServerClientOptions()
	if err == nil {
		var tlsServer []server.Option
		var tlsClient []client.Option
		if tlsServer, tlsClient, err = c.tlsOptions(); err == nil {
			serverOptions = append(append(serverOptions, authServer...), tlsServer...)
			clientOptions = append(append(clientOptions, authClient...), tlsClient...)
		}
	}
	if err != nil {
		release()
		_ = conf.Close()
		return nil, fmt.Errorf("new service %q: %w", name, err)
	}
	tracer := ownTracer
	ownTracer = nil // the service's now
	return &Service{
		name:        name,
		id:          id,
		config:      c,
		registry:    c.registry,
		ownRegistry: own,
		sync:        c.sync,
		ownSync:     ownSync,
		broker:      broker.ForService(eventBroker, name, eventInterceptors...),
		rawBroker:   c.broker,
		ownBroker:   ownBroker,
		conf:        conf,
		server:      server.New(append(serverOptions, c.serverOptions...)...),
		client:      client.New(append(clientOptions, c.clientOptions...)...),
		metrics:     c.metrics,
		ownTracer:   tracer,
	}, nil
}

// nodeID returns an ID for this process's node of the service, new for
// every process.
func nodeID(name string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return name + "-" + hex.EncodeToString(b[:]), nil
}

// buildVersion is the program's module version, when it was built from a
// tagged module, or "latest".
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "latest"
}

// Name returns the name the service registers under.
func (s *Service) Name() string { return s.name }

// Version returns the version the service registers.
func (s *Service) Version() string { return s.config.version }

// ID returns the ID of this process's node of the service.
func (s *Service) ID() string { return s.id }

// Server returns the server to register handlers on, before [Service.Run].
func (s *Service) Server() server.Server { return s.server }

// Client returns a client that finds services in the service's registry; pass
// it to generated clients' constructors.
func (s *Service) Client() client.Client { return s.client }

// Registry returns the registry the service registers in, and its client
// finds services in: with metrics on ([WithMetrics], [WithAdminAddress]),
// the registry given or made, with its lookups and watch events counted.
func (s *Service) Registry() registry.Registry { return s.registry }

// Sync returns the service's locks and leader elections: the backend of
// [WithSync], or the one MICRO_SYNC names (local by default, for the
// processes of one host). One made from the environment is closed when Run
// returns, which releases every lock and leadership this process holds.
func (s *Service) Sync() sync.Sync { return s.sync }

// Broker returns the broker the service publishes and subscribes through:
// the backend of [WithBroker], or the one MICRO_BROKER names (local by
// default, for the processes of one host). Through it, events published
// with broker.Publish have the service's name as their source, and
// subscriptions made with broker.Subscribe have it as their queue group, so
// that the nodes of the service share its events, and run their handlers
// inside the service's interceptors ([WithInterceptors]); with metrics on,
// its events and their deliveries are counted. Subscriptions
// start at once, before [Service.Run]. A broker made from the environment is
// drained and closed by Run as it stops: after the calls in flight, the
// handlers in flight may finish within what is left of the grace period.
func (s *Service) Broker() broker.Broker { return s.broker }

// Config returns the service's configuration: config.yaml (in the working
// directory, or [WithConfigDir]) if present, then MICRO_CONFIG_* environment
// variables, then what [WithConfig] adds, watched for changes. Bind it to a
// struct or a proto message with config.Bind. It stops watching when Run
// returns.
func (s *Service) Config() *mconfig.Config { return s.conf }

// closeRegistry closes r if it holds resources (a watch, a connection).
func closeRegistry(r registry.Registry) {
	if closer, ok := r.(io.Closer); ok {
		_ = closer.Close()
	}
}

// AdminAddress returns the address the admin listener ([WithAdminAddress])
// listens on once [Service.Run] has started it, and "" before or when it is
// off.
func (s *Service) AdminAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddress
}

// Address returns the address the service listens on once [Service.Run] has
// started listening, and "" before.
func (s *Service) Address() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.address
}

// Close releases what [NewService] opened: the client, the configuration's
// watch, and the registry, sync and broker it made from the environment. Run does it
// when it returns; a program that only calls other services, and never runs
// its own, calls Close when it is done. Close may be called more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		errs := []error{s.client.Close(), s.conf.Close()}
		if s.ownRegistry {
			if closer, ok := s.registry.(io.Closer); ok {
				errs = append(errs, closer.Close())
			}
		}
		if s.ownSync {
			errs = append(errs, s.sync.Close())
		}
		if s.ownBroker {
			// Drained already when Run stops normally; this is for a service
			// never run, or an early return, with nothing in flight worth
			// waiting for.
			ctx, cancel := context.WithTimeout(context.Background(), s.config.grace)
			errs = append(errs, s.rawBroker.Close(ctx))
			cancel()
		}
		if s.ownTracer != nil {
			// After the broker and client, whose last spans it flushes.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, s.ownTracer.Shutdown(ctx))
			cancel()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Run serves until ctx is done or the process gets SIGINT or SIGTERM, then
// stops: it reports not ready on the admin listener and deregisters first so
// that callers stop choosing this node, stops accepting calls, lets the calls
// in flight finish for up to the grace period, drains the broker it owns (no
// new events, handlers in flight finish within the same grace period) and
// closes the client. While serving it renews its registration every
// heartbeat. It returns nil after such a stop, and an error if the service
// could not start or its listener failed. Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("run service %q: already run", s.name)
	}
	s.started = true
	s.mu.Unlock()
	defer func() { _ = s.Close() }()

	logger := s.config.logger.With("service", s.name, "version", s.config.version, "id", s.id)
	lis, err := net.Listen("tcp", s.config.address)
	if err != nil {
		return fmt.Errorf("run service %q: listen on %q: %w", s.name, s.config.address, err)
	}
	s.mu.Lock()
	s.address = lis.Addr().String()
	s.mu.Unlock()
	node, err := s.describe(lis.Addr())
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("run service %q: %w", s.name, err)
	}
	if s.metrics != nil {
		s.metrics.Initialize(s.server.Services())
	}
	if s.config.adminAddress != "" {
		admin, err := startAdmin(s.config.adminAddress, s.metrics, &s.ready, s.config.adminPprof, logger)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("run service %q: %w", s.name, err)
		}
		defer admin.close() // after draining, so that /readyz says so meanwhile
		s.mu.Lock()
		s.adminAddress = admin.Addr()
		s.mu.Unlock()
		logger.Info("admin listener started", "address", admin.Addr(), "pprof", s.config.adminPprof)
	}
	served := make(chan error, 1)
	go func() { served <- s.server.Serve(lis) }()

	if err := s.registry.Register(ctx, node, registry.WithTTL(s.config.ttl)); err != nil {
		s.shutdown(logger, nil)
		return errors.Join(fmt.Errorf("run service %q: register with the %s registry: %w", s.name, s.registry, err), <-served)
	}
	s.ready.Store(true)
	logger.Info("service started", "address", s.address, "advertise", node.Nodes[0].Address, "registry", s.registry.String())

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	heartbeat := time.NewTicker(s.config.heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-heartbeat.C:
			// Subscriptions made after the service started join its
			// registration here.
			node.Subscriptions = subscriptions(s.broker)
			if err := s.registry.Register(ctx, node, registry.WithTTL(s.config.ttl)); err != nil {
				logger.Warn("registration not renewed; retrying at the next heartbeat", "registry", s.registry.String(), "error", err)
			}
		case sig := <-signals:
			logger.Info("stopping", "signal", sig.String())
			s.shutdown(logger, node)
			return <-served
		case <-ctx.Done():
			logger.Info("stopping", "reason", context.Cause(ctx).Error())
			s.shutdown(logger, node)
			return <-served
		case err := <-served:
			logger.Error("server failed; stopping", "error", err)
			s.shutdown(logger, node)
			return fmt.Errorf("run service %q: %w", s.name, err)
		}
	}
}

// shutdown deregisters node (unless nil), then drains the server for up to
// the grace period.
func (s *Service) shutdown(logger *slog.Logger, node *registry.Service) {
	s.ready.Store(false)
	start := time.Now()
	if node != nil {
		ctx, cancel := context.WithTimeout(context.Background(), min(s.config.grace, 5*time.Second))
		if err := s.registry.Deregister(ctx, node); err != nil {
			logger.Warn("deregistration failed; the registration lapses with its TTL", "ttl", s.config.ttl, "error", err)
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.config.grace)
	defer cancel()
	if err := s.server.Shutdown(ctx); err != nil {
		logger.Warn("grace period over; calls still in flight were canceled", "grace_period", s.config.grace)
	}
	// After the calls, which may publish; the handlers in flight get what is
	// left of the grace period, and the events of those still running then
	// are left for redelivery.
	if s.ownBroker {
		if err := s.rawBroker.Close(ctx); err != nil {
			logger.Warn("grace period over; event handlers still in flight were canceled", "grace_period", s.config.grace, "broker", s.rawBroker.String())
		}
	}
	logger.Info("service stopped", "took", time.Since(start).Round(time.Millisecond))
}

// describe returns the registration of this node of the service listening
// at addr: its address for callers, its metadata and its endpoints.
func (s *Service) describe(addr net.Addr) (*registry.Service, error) {
	advertise := s.config.advertise
	if advertise == "" {
		var err error
		if advertise, err = advertiseAddress(addr, s.registry.String()); err != nil {
			return nil, err
		}
	}
	hostname, _ := os.Hostname()
	metadata := map[string]string{
		"protocol": "grpc",
		"runtime":  "micro/" + rpc.Version,
		"hostname": hostname,
	}
	if s.config.servesTLS() {
		metadata[client.TLSMetadata] = "true"
	}
	if s.config.verifier != nil {
		metadata[auth.EnforcedMetadata] = "true"
	}
	return &registry.Service{
		Name:          s.name,
		Version:       s.config.version,
		Metadata:      s.config.metadata,
		Endpoints:     endpoints(s.server.Services()),
		Subscriptions: subscriptions(s.broker),
		Nodes: []*registry.Node{{
			ID:       s.id,
			Address:  advertise,
			Metadata: metadata,
		}},
	}, nil
}

// subscriptions describes the event subscriptions made through b, the
// service's broker.
func subscriptions(b broker.Broker) []registry.Subscription {
	var out []registry.Subscription
	for _, sub := range broker.Subscriptions(b) {
		out = append(out, registry.Subscription(sub))
	}
	return out
}

// endpoints describes every method served, for gateways and tools.
func endpoints(services []*server.ServiceDesc) []*registry.Endpoint {
	var out []*registry.Endpoint
	for _, desc := range services {
		for _, m := range desc.Methods {
			out = append(out, &registry.Endpoint{
				Procedure:   m.Procedure,
				StreamType:  m.StreamType,
				Idempotency: m.Idempotency,
				Request:     m.Request,
				Response:    m.Response,
				HTTP:        m.HTTP,
				Access:      m.Access,
				Doc:         m.Doc,
				FieldDocs:   m.FieldDocs,
			})
		}
	}
	return out
}

// advertiseAddress is the address callers should use for a service listening
// at addr. A service listening on every interface is registered with a
// loopback address in the registries that serve one host (local, memory) and
// with this host's first non-loopback address in the others.
func advertiseAddress(addr net.Addr, registryName string) (string, error) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return addr.String(), nil
	}
	if registryName == "local" || registryName == "memory" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("find an address to advertise: %w", err)
	}
	for _, a := range addrs {
		if ipNet, ok := a.(*net.IPNet); ok && !ipNet.IP.IsLoopback() && ipNet.IP.To4() != nil {
			return net.JoinHostPort(ipNet.IP.String(), port), nil
		}
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}
