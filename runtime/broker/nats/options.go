package nats

import (
	"time"

	"github.com/nats-io/nats.go"
)

// Option configures a [Broker] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	url            string
	conn           *nats.Conn
	stream         string
	prefix         string
	ackWait        time.Duration
	prefetch       int
	maxAge         time.Duration
	connectTimeout time.Duration
	core           bool
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithURL sets the NATS server URL, or several separated by commas,
// "nats://10.0.0.1:4222". The default is nats://127.0.0.1:4222.
func WithURL(url string) Option {
	return optionFunc(func(o *options) { o.url = url })
}

// WithConn uses a connection the program made, instead of connecting; the
// URL and connect timeout are then ignored, and Close leaves the connection
// open.
func WithConn(nc *nats.Conn) Option {
	return optionFunc(func(o *options) { o.conn = nc })
}

// WithStream sets the name of the JetStream stream that holds the events.
// The default is "MICRO_EVENTS".
func WithStream(name string) Option {
	return optionFunc(func(o *options) { o.stream = name })
}

// WithSubjectPrefix sets the prefix before each topic in the subjects
// events are published on. The default is "micro.events.", so that topic
// "orders.v1.OrderCreated" is subject "micro.events.orders.v1.OrderCreated".
func WithSubjectPrefix(prefix string) Option {
	return optionFunc(func(o *options) { o.prefix = prefix })
}

// WithAckWait sets how long the server waits for word of a delivered event
// before delivering it again: an acknowledgement, or the report that its
// handler is still running, which the broker sends every half ack wait. A
// node that crashed mid-handler has its event redelivered after about this
// long. The default, and what d of zero or less means, is 30s.
func WithAckWait(d time.Duration) Option {
	return optionFunc(func(o *options) { o.ackWait = d })
}

// WithPrefetch sets how many events each subscription fetches ahead of its
// handler. More makes fast handlers faster; but an event's ack wait
// ([WithAckWait]) runs while it waits its turn, so prefetch times the
// handler's duration must stay well under the ack wait, or waiting events
// are delivered again. The default is 32; n below 1 means 1.
func WithPrefetch(n int) Option {
	return optionFunc(func(o *options) { o.prefetch = n })
}

// WithMaxAge sets how long the stream keeps events, handled or not. The
// default is 7 days.
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(o *options) { o.maxAge = d })
}

// WithConnectTimeout bounds connecting to NATS and creating the stream. The
// default is 5s.
func WithConnectTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.connectTimeout = d })
}

// WithCore uses core NATS instead of JetStream: events are published on the
// same subjects, with the same CloudEvents headers, but nothing stores them.
// Delivery is at most once: an event published while no subscriber of a
// group is connected is lost, and so is one whose handler's process crashes,
// or that waits for a retry, or is buffered, when its broker closes. A
// failing handler is retried in its own process, with the subscription's
// backoff and maximum deliveries, and dead letters are published on the
// dead-letter topic's subject as other events are; there is no
// deduplication by ID, and no stream is needed, so a server without
// JetStream will do. Publish returns once the event is written to the
// connection, and fails while the connection is down rather than buffering
// it. For events that may be lost (cache invalidation, live updates) and
// latency that JetStream's store would add.
func WithCore() Option {
	return optionFunc(func(o *options) { o.core = true })
}
