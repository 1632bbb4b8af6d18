package metrics

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/protomicro/micro/runtime/broker"
)

// brokerMetrics count the events a service publishes and what becomes of
// each delivery to its subscriptions.
type brokerMetrics struct {
	published    *prometheus.CounterVec
	handled      *prometheus.CounterVec
	redelivered  *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	handling     *prometheus.HistogramVec
}

func newBrokerMetrics(buckets []float64) *brokerMetrics {
	return &brokerMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_broker_published_total",
			Help: "Events published, by topic and outcome (ok or error).",
		}, []string{"topic", "outcome"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_broker_handled_total",
			Help: "Deliveries handled, by topic, queue group and outcome (ok, error, dropped or abandoned).",
		}, []string{"topic", "group", "outcome"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_broker_redelivered_total",
			Help: "Deliveries of events delivered before, by topic and queue group.",
		}, []string{"topic", "group"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "micro_broker_dead_lettered_total",
			Help: "Events sent to the dead-letter topic, by topic, queue group and reason (failed, dropped, undecodable or unacknowledged).",
		}, []string{"topic", "group", "reason"}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "micro_broker_handling_seconds",
			Help:    "How long handlers ran on a delivery, by topic and queue group.",
			Buckets: buckets,
		}, []string{"topic", "group"}),
	}
}

func (b *brokerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{b.published, b.handled, b.redelivered, b.deadLettered, b.handling}
}

// observe counts one delivery; it is every subscription's observer.
func (b *brokerMetrics) observe(d broker.Delivery) {
	if d.Number > 1 {
		b.redelivered.WithLabelValues(d.Topic, d.Group).Inc()
	}
	if d.Handled {
		b.handling.WithLabelValues(d.Topic, d.Group).Observe(d.Duration.Seconds())
		outcome := "ok"
		switch {
		case d.Verdict.Action == broker.Abandon:
			outcome = "abandoned"
		case errors.Is(d.Err, broker.ErrDrop):
			outcome = "dropped"
		case d.Err != nil:
			outcome = "error"
		}
		b.handled.WithLabelValues(d.Topic, d.Group, outcome).Inc()
	}
	if d.Verdict.Action == broker.DeadLetter {
		reason := "failed"
		switch {
		case !d.Handled && d.Err != nil:
			reason = "undecodable"
		case !d.Handled:
			reason = "unacknowledged"
		case errors.Is(d.Err, broker.ErrDrop):
			reason = "dropped"
		}
		b.deadLettered.WithLabelValues(d.Topic, d.Group, reason).Inc()
	}
}

// InstrumentBroker returns b with its events counted: every Publish through
// it in micro_broker_published_total, and every delivery to the
// subscriptions made through it (see [broker.WithObserver]) in
// micro_broker_handled_total, micro_broker_redelivered_total,
// micro_broker_dead_lettered_total and micro_broker_handling_seconds.
// Close and String go to b unchanged. A service with metrics on counts its
// broker so (micro.Service.Broker).
func (m *Metrics) InstrumentBroker(b broker.Broker) broker.Broker {
	return &countedBroker{Broker: b, metrics: m.events}
}

type countedBroker struct {
	broker.Broker
	metrics *brokerMetrics
}

func (b *countedBroker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	err := b.Broker.Publish(ctx, topic, e)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	b.metrics.published.WithLabelValues(topic, outcome).Inc()
	return err
}

func (b *countedBroker) Subscribe(topic string, h broker.Handler, opts ...broker.SubscribeOption) error {
	return b.Broker.Subscribe(topic, h, append(opts, broker.WithObserver(b.metrics.observe))...)
}
