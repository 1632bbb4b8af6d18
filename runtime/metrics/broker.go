package metrics

import (
	"context"
	"errors"
	"sync/atomic"

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

// observer returns a subscription's observer, which counts each delivery.
// It looks its series up once, on the first delivery, since a
// subscription's topic and group never change.
func (b *brokerMetrics) observer() func(broker.Delivery) {
	var series atomic.Pointer[subscriptionSeries]
	return func(d broker.Delivery) {
		s := series.Load()
		if s == nil || s.topic != d.Topic || s.group != d.Group {
			s = b.series(d.Topic, d.Group)
			series.Store(s)
		}
		s.observe(d)
	}
}

// subscriptionSeries are the series of one subscription's deliveries.
type subscriptionSeries struct {
	topic, group                   string
	metrics                        *brokerMetrics
	ok, failed, dropped, abandoned prometheus.Counter
	redelivered                    prometheus.Counter
	deadFailed, deadDropped        prometheus.Counter
	handling                       prometheus.Observer
}

func (b *brokerMetrics) series(topic, group string) *subscriptionSeries {
	return &subscriptionSeries{
		topic: topic, group: group, metrics: b,
		ok:          b.handled.WithLabelValues(topic, group, "ok"),
		failed:      b.handled.WithLabelValues(topic, group, "error"),
		dropped:     b.handled.WithLabelValues(topic, group, "dropped"),
		abandoned:   b.handled.WithLabelValues(topic, group, "abandoned"),
		redelivered: b.redelivered.WithLabelValues(topic, group),
		deadFailed:  b.deadLettered.WithLabelValues(topic, group, "failed"),
		deadDropped: b.deadLettered.WithLabelValues(topic, group, "dropped"),
		handling:    b.handling.WithLabelValues(topic, group),
	}
}

// observe counts one delivery.
func (s *subscriptionSeries) observe(d broker.Delivery) {
	if d.Number > 1 {
		s.redelivered.Inc()
	}
	dead := d.Verdict.Action == broker.DeadLetter
	if !d.Handled {
		if dead {
			// Rare, so looked up each time, and made only when it happens.
			reason := "unacknowledged"
			if d.Err != nil {
				reason = "undecodable"
			}
			s.metrics.deadLettered.WithLabelValues(s.topic, s.group, reason).Inc()
		}
		return
	}
	s.handling.Observe(d.Duration.Seconds())
	switch {
	case d.Err == nil:
		s.ok.Inc()
	case d.Verdict.Action == broker.Abandon:
		s.abandoned.Inc()
	case errors.Is(d.Err, broker.ErrDrop):
		s.dropped.Inc()
		if dead {
			s.deadDropped.Inc()
		}
	default:
		s.failed.Inc()
		if dead {
			s.deadFailed.Inc()
		}
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
	return b.Broker.Subscribe(topic, h, append(opts, broker.WithObserver(b.metrics.observer()))...)
}
