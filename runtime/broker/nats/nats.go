// Package nats is a [broker.Broker] on NATS JetStream, for events that must
// survive restarts and be shared by services on many hosts.
//
// Every topic is a subject under a prefix ("micro.events." by default) of
// one stream ("MICRO_EVENTS"), which the broker creates or updates at start.
// Events are published with Nats-Msg-Id set to the event's ID, so that the
// stream keeps one copy of an event published twice within its duplicate
// window (2 minutes), and the publish returns only once the server has
// stored the event. Each queue group is a durable pull consumer filtered on
// the topic's subject: the group's subscriptions, on any host, share it, and
// it keeps the group's place while every node is down. A broadcast
// subscription has a consumer of its own, removed by the server a minute
// after it stops. A consumer starts with the events published after it was
// first made.
//
// Acknowledgement is explicit and comes after the handler returns nil; a
// failed event is negatively acknowledged with the subscription's backoff as
// the delay. While a handler runs, the broker tells the server so every half
// ack wait (30s by default); an event whose node stops doing so, having
// crashed, is redelivered by the server after the ack wait. Dead letters are
// republished, with their headers and the dead-letter extensions, on the
// dead-letter topic's subject, then terminated.
//
// On the wire an event is a CloudEvents 1.0 binary-mode message: ce-id,
// ce-source, ce-type, ce-time, ce-specversion, content-type and
// ce-<extension> headers and the encoded message as the payload, so any NATS
// client reads it.
//
// [WithCore] uses core NATS instead, with no stream: at most once, for events
// that may be lost, with the same subjects and headers.
package nats

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/protomicro/micro/runtime/broker"
)

// Broker is a broker on NATS JetStream. It is safe for concurrent use; Close
// it when done.
type Broker struct {
	nc         *nats.Conn
	ownConn    bool
	js         jetstream.JetStream
	stream     string
	prefix     string
	ackWait    time.Duration
	prefetch   int
	maxPayload int64

	core bool // core NATS instead of JetStream (WithCore)

	ctx      context.Context // of the handlers; canceled when a drain runs out of time
	cancel   context.CancelFunc
	inflight sync.WaitGroup // handlers running

	mu        sync.Mutex
	closed    bool
	consumers []jetstream.ConsumeContext
	subs      []*nats.Subscription     // with WithCore
	timers    map[*time.Timer]struct{} // retries waiting, with WithCore
}

var _ broker.Broker = (*Broker)(nil)

// New connects to NATS and creates, or updates, the events stream. An
// unreachable server, or one without JetStream, is an error naming the
// address. The connection is re-established when it drops; publishes made
// meanwhile fail rather than being lost.
func New(opts ...Option) (*Broker, error) {
	o := options{
		url:            nats.DefaultURL,
		stream:         "MICRO_EVENTS",
		prefix:         "micro.events.",
		ackWait:        30 * time.Second,
		prefetch:       32,
		maxAge:         7 * 24 * time.Hour,
		connectTimeout: 5 * time.Second,
	}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.ackWait <= 0 {
		o.ackWait = 30 * time.Second
	}
	if !strings.HasSuffix(o.prefix, ".") {
		o.prefix += "."
	}
	b := &Broker{nc: o.conn, stream: o.stream, prefix: o.prefix, ackWait: o.ackWait, prefetch: max(o.prefetch, 1), core: o.core}
	address := o.url
	if b.nc == nil {
		connectOpts := []nats.Option{
			nats.Name("micro broker"),
			nats.Timeout(o.connectTimeout),
			nats.MaxReconnects(-1),
		}
		if o.core {
			// Nothing confirms a core publish: fail it while disconnected
			// rather than hold it in a buffer that may never be sent.
			connectOpts = append(connectOpts, nats.ReconnectBufSize(-1))
		}
		nc, err := nats.Connect(o.url, connectOpts...)
		if err != nil {
			return nil, fmt.Errorf("nats broker at %s: %w", o.url, err)
		}
		b.nc, b.ownConn = nc, true
	} else {
		address = b.nc.ConnectedUrlRedacted()
	}
	fail := func(err error) (*Broker, error) {
		if b.ownConn {
			b.nc.Close()
		}
		return nil, fmt.Errorf("nats broker at %s: %w", address, err)
	}
	b.maxPayload = b.nc.MaxPayload()
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if o.core {
		b.timers = make(map[*time.Timer]struct{})
		return b, nil
	}
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fail(err)
	}
	b.js = js
	ctx, cancel := context.WithTimeout(context.Background(), o.connectTimeout)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        o.stream,
		Description: "micro events",
		Subjects:    []string{o.prefix + ">"},
		MaxAge:      o.maxAge,
		Duplicates:  2 * time.Minute,
		Storage:     jetstream.FileStorage,
	}); err != nil {
		return fail(fmt.Errorf("create stream %q: %w", o.stream, err))
	}
	return b, nil
}

// Open connects to the NATS servers at address, a URL or several separated
// by commas ("" for nats://127.0.0.1:4222), as [New] with [WithURL] does. Its
// signature is the one a service needs to select this broker with
// MICRO_BROKER=nats:
//
//	micro.NewService("orders", micro.WithBrokers(micro.BrokerKind{Name: "nats", Open: nats.Open}))
func Open(address string) (broker.Broker, error) {
	var opts []Option
	if address != "" {
		opts = append(opts, WithURL(address))
	}
	return New(opts...)
}

// String returns "nats".
func (b *Broker) String() string { return "nats" }

// Publish implements [broker.Broker]: it returns once the stream has stored
// e, or with the server's error. An event whose headers and data exceed the
// server's max_payload is refused.
func (b *Broker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	if err := broker.ValidateTopic(topic); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if b.isClosed() {
		return broker.ErrClosed
	}
	return b.publish(ctx, topic, e.ID, e.Header(), e.Data)
}

// publish sends one message on topic's subject, deduplicated by msgID, and
// waits for the stream to confirm it.
func (b *Broker) publish(ctx context.Context, topic, msgID string, header map[string][]string, data []byte) error {
	subject := b.prefix + topic
	if size := messageSize(header, data); size > b.maxPayload {
		return fmt.Errorf("event %q of %d bytes with its headers exceeds the NATS server's max_payload of %d bytes: %w", msgID, size, b.maxPayload, broker.ErrTooLarge)
	}
	if b.core {
		// PublishMsg keeps neither msg nor its header once it returns, so
		// msg stays on the stack: one allocation less per event.
		msg := nats.Msg{Subject: subject, Header: nats.Header(header), Data: data}
		if err := b.nc.PublishMsg(&msg); err != nil {
			return fmt.Errorf("publish event %q to %s: %w", msgID, subject, err)
		}
		return nil
	}
	msg := &nats.Msg{Subject: subject, Header: nats.Header(header), Data: data}
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish event %q to %s: %w", msgID, subject, err)
	}
	return nil
}

// messageSize is how many bytes of max_payload a message with header and
// data takes, as the protocol writes them, with the Nats-Msg-Id to be added.
func messageSize(header map[string][]string, data []byte) int64 {
	size := len("NATS/1.0\r\n\r\n") + len(data) + len(jetstream.MsgIDHeader) + 64
	for key, values := range header {
		for _, value := range values {
			size += len(key) + len(": \r\n") + len(value)
		}
	}
	return int64(size)
}

// Subscribe implements [broker.Broker]. Each subscription handles one event
// at a time; the subscriptions of a group, in any process, share the
// group's durable consumer.
func (b *Broker) Subscribe(topic string, h broker.Handler, opts ...broker.SubscribeOption) error {
	s, err := broker.NewSubscription(topic, h, opts...)
	if err != nil {
		return err
	}
	if b.isClosed() {
		return broker.ErrClosed
	}
	if b.core {
		return b.subscribeCore(s)
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject: b.prefix + topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.ackWait,
		// One more than the handler gets, for the delivery that finds an event
		// never acknowledged and dead-letters it (see broker.Subscription.Handle).
		MaxDeliver:    s.MaxDeliveries + 1,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	if s.Group != "" {
		cfg.Durable = consumerName(s.Group, topic)
	} else {
		cfg.Name = consumerName("broadcast-"+nats.NewInbox()[len(nats.InboxPrefix):], topic)
		cfg.InactiveThreshold = time.Minute
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	consumer, err := b.js.CreateOrUpdateConsumer(ctx, b.stream, cfg)
	if err != nil {
		return fmt.Errorf("subscribe to %q: consumer %q: %w", topic, cfg.Durable+cfg.Name, err)
	}
	name := cfg.Durable + cfg.Name
	cc, err := consumer.Consume(func(msg jetstream.Msg) { b.handle(s, name, msg) }, jetstream.PullMaxMessages(b.prefetch))
	if err != nil {
		return fmt.Errorf("subscribe to %q: consume %q: %w", topic, name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		cc.Stop()
		return broker.ErrClosed
	}
	b.consumers = append(b.consumers, cc)
	return nil
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// consumerName is a valid consumer name, unique to group and topic.
func consumerName(group, topic string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(group + "\x00" + topic))
	clean := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, group+"_"+topic)
	if len(clean) > 100 {
		clean = clean[:100]
	}
	return fmt.Sprintf("%s_%08x", clean, h.Sum32())
}

// handle runs one delivery of msg and settles it as the verdict says.
func (b *Broker) handle(s *broker.Subscription, consumer string, msg jetstream.Msg) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = msg.Nak() // buffered when Close began: let another node have it now
		return
	}
	b.inflight.Add(1)
	b.mu.Unlock()
	defer b.inflight.Done()

	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term() // not a JetStream message: nothing to redeliver
		return
	}
	delivery := int(meta.NumDelivered)
	var v broker.Verdict
	if e, err := broker.ParseEvent(msg.Headers(), msg.Data()); err != nil {
		v = s.Reject(err, delivery)
	} else {
		stop := b.keepAlive(msg)
		v = s.Handle(b.ctx, e, delivery)
		stop()
	}
	switch v.Action {
	case broker.Ack:
		_ = msg.Ack() // a lost ack means a redelivery: at least once
	case broker.Retry:
		_ = msg.NakWithDelay(v.Delay)
	case broker.Abandon:
		_ = msg.Nak()
	case broker.DeadLetter:
		header := broker.DeadLetterHeader(withoutNATSHeaders(msg.Headers()), s.Topic, v.Reason, delivery)
		// One dead letter per message and consumer, however often this runs.
		id := fmt.Sprintf("dead:%d:%s", meta.Sequence.Stream, consumer)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.publish(ctx, s.DeadLetterTopic, id, header, msg.Data()); err != nil {
			_ = msg.NakWithDelay(s.Backoff(delivery))
			return
		}
		_ = msg.TermWithReason(v.Reason)
	}
}

// keepAlive tells the server, every half ack wait, that msg's handler is
// still running, so that a long handler is not raced by a redelivery; the
// function it returns stops it. It is a timer, not a goroutine: most
// handlers finish long before it first fires.
func (b *Broker) keepAlive(msg jetstream.Msg) (stop func()) {
	every := b.ackWait / 2
	var (
		mu      sync.Mutex
		stopped bool
		timer   *time.Timer
	)
	mu.Lock()
	defer mu.Unlock()
	timer = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = msg.InProgress()
		timer.Reset(every)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
	}
}

// withoutNATSHeaders drops the headers JetStream reads (Nats-Msg-Id and
// others), which must not follow a message to its dead-letter copy.
func withoutNATSHeaders(h nats.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for key, values := range h {
		if !strings.HasPrefix(strings.ToLower(key), "nats-") {
			out[key] = values
		}
	}
	return out
}

// Close implements [broker.Broker]. Events buffered but not yet handled are
// negatively acknowledged, for the group's other nodes to take at once. When
// ctx ends before the handlers in flight, their contexts are canceled and
// the connection is closed once they return; their events are redelivered.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	first := !b.closed
	b.closed = true
	consumers := b.consumers
	b.consumers = nil
	subs := b.subs
	b.subs = nil
	for timer := range b.timers {
		timer.Stop()
	}
	clear(b.timers)
	b.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Unsubscribe() // at most once: what the client buffered is dropped
	}
	for _, cc := range consumers {
		if b.nc.IsConnected() {
			cc.Drain() // hands what is buffered to handle, which gives it back
		} else {
			cc.Stop() // a drain would wait for the server; what is buffered is redelivered
		}
	}
	done := make(chan struct{})
	go func() {
		for _, cc := range consumers {
			<-cc.Closed()
		}
		b.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		if first && b.ownConn {
			if b.nc.IsConnected() {
				_ = b.nc.FlushWithContext(ctx) // the last acks; an event whose ack is lost is redelivered
			}
			b.nc.Close()
		}
		return nil
	case <-ctx.Done():
	}
	b.cancel()
	if first && b.ownConn {
		go func() {
			<-done // the handlers were told to stop; let them settle their events
			b.nc.Close()
		}()
	}
	return fmt.Errorf("drain nats broker: %w", ctx.Err())
}
