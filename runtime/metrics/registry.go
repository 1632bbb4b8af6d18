package metrics

import (
	"context"
	"errors"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protomicro/micro/runtime/registry"
)

// registryMetrics count the lookups a program makes in its registry and the
// changes its watches report.
type registryMetrics struct {
	lookups     *prometheus.CounterVec
	watchEvents *prometheus.CounterVec
}

func newRegistryMetrics() *registryMetrics {
	return &registryMetrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_registry_lookups_total",
			Help: "Registry lookups, by backend, operation (get_service or list_services) and outcome (ok, not_found or error).",
		}, []string{"backend", "operation", "outcome"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_registry_watch_events_total",
			Help: "Changes registry watches reported, by backend and type (create, update or delete).",
		}, []string{"backend", "type"}),
	}
}

func (r *registryMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.lookups, r.watchEvents}
}

// InstrumentRegistry returns r with its lookups (GetService, ListServices)
// counted in micro_registry_lookups_total and the changes its watches
// report in micro_registry_watch_events_total, labeled with r's String, the
// backend. Register and Deregister go to r unchanged, and so does Close when
// r has one. A service with metrics on counts its registry so; a client
// looks a service up when it first calls it and then follows it with a
// watch, so the lookups count the registry's load, not the calls.
func (m *Metrics) InstrumentRegistry(r registry.Registry) registry.Registry {
	return &countedRegistry{Registry: r, metrics: m.lookups, backend: r.String()}
}

type countedRegistry struct {
	registry.Registry
	metrics *registryMetrics
	backend string
}

func (r *countedRegistry) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	services, err := r.Registry.GetService(ctx, name)
	r.lookup("get_service", err)
	return services, err
}

func (r *countedRegistry) ListServices(ctx context.Context) ([]*registry.Service, error) {
	services, err := r.Registry.ListServices(ctx)
	r.lookup("list_services", err)
	return services, err
}

func (r *countedRegistry) lookup(operation string, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, registry.ErrNotFound):
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	r.metrics.lookups.WithLabelValues(r.backend, operation, outcome).Inc()
}

func (r *countedRegistry) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	w, err := r.Registry.Watch(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &countedWatcher{Watcher: w, registry: r}, nil
}

// Close closes the registry if it holds resources (a watch, a connection).
func (r *countedRegistry) Close() error {
	if closer, ok := r.Registry.(io.Closer); ok {
		return closer.Close()
	}
	return nil
}

type countedWatcher struct {
	registry.Watcher
	registry *countedRegistry
}

func (w *countedWatcher) Next() (*registry.Event, error) {
	e, err := w.Watcher.Next()
	if err == nil {
		w.registry.metrics.watchEvents.WithLabelValues(w.registry.backend, e.Type.String()).Inc()
	}
	return e, err
}
