// Package memory is a [broker.Broker] held in the memory of one process: for
// tests, and for programs whose publishers and subscribers share a process.
//
// Events go through the same CloudEvents headers as on a network, and
// delivery follows the broker package's semantics (queue groups, retries
// with backoff, dead letters), but nothing is kept: an event published with
// no subscription is gone, and the events of a closed broker, queued or
// waiting for a retry, go with it.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/broker"
)

// Broker is an in-memory broker. The zero value is not usable; call [New].
type Broker struct {
	maxEventSize int

	ctx    context.Context // of the handlers; canceled when a drain runs out of time
	cancel context.CancelFunc
	wg     sync.WaitGroup // the subscriptions' goroutines

	mu     sync.Mutex
	closed bool
	topics map[string]*subscribers
	timers map[*time.Timer]struct{} // retries waiting
}

// subscribers are the subscriptions of one topic.
type subscribers struct {
	groups    map[string]*group // by name
	broadcast []*group          // one per broadcast subscription
}

// group is a queue group of a topic: its subscriptions take turns at one
// queue, so that each event goes to one of them.
type group struct {
	queue   []message
	changed *sync.Cond // on Broker.mu: the queue grew or the broker closed
}

// message is one event waiting in a group's queue, as it would be on a wire.
type message struct {
	header     map[string][]string
	data       []byte
	deliveries int // made so far
}

var _ broker.Broker = (*Broker)(nil)

// New returns a broker with no subscriptions.
func New(opts ...Option) *Broker {
	o := options{maxEventSize: 1 << 20}
	for _, opt := range opts {
		opt.apply(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Broker{
		maxEventSize: o.maxEventSize,
		ctx:          ctx,
		cancel:       cancel,
		topics:       make(map[string]*subscribers),
		timers:       make(map[*time.Timer]struct{}),
	}
}

// String returns "memory".
func (b *Broker) String() string { return "memory" }

// Publish implements [broker.Broker]: it queues e for every group subscribed
// to topic and returns; an event larger than the limit ([WithMaxEventSize])
// is refused.
func (b *Broker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	if err := broker.ValidateTopic(topic); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if len(e.Data) > b.maxEventSize {
		return fmt.Errorf("event %q of %d bytes exceeds the limit of %d bytes: %w", e.ID, len(e.Data), b.maxEventSize, broker.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return broker.ErrClosed
	}
	b.enqueue(topic, message{header: e.Header(), data: append([]byte(nil), e.Data...)})
	return nil
}

// enqueue adds m to the queue of each group of topic; b.mu is held.
func (b *Broker) enqueue(topic string, m message) {
	t := b.topics[topic]
	if t == nil {
		return
	}
	for _, g := range t.groups {
		g.queue = append(g.queue, m)
		g.changed.Signal()
	}
	for _, g := range t.broadcast {
		g.queue = append(g.queue, m)
		g.changed.Signal()
	}
}

// Subscribe implements [broker.Broker]. Each subscription handles one event
// at a time, in a goroutine of its own.
func (b *Broker) Subscribe(topic string, h broker.Handler, opts ...broker.SubscribeOption) error {
	s, err := broker.NewSubscription(topic, h, opts...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return broker.ErrClosed
	}
	t := b.topics[topic]
	if t == nil {
		t = &subscribers{groups: make(map[string]*group)}
		b.topics[topic] = t
	}
	g := t.groups[s.Group]
	switch {
	case s.Group == "":
		g = &group{changed: sync.NewCond(&b.mu)}
		t.broadcast = append(t.broadcast, g)
	case g == nil:
		g = &group{changed: sync.NewCond(&b.mu)}
		t.groups[s.Group] = g
	}
	b.wg.Add(1)
	go b.run(s, g)
	return nil
}

// run delivers the events of g's queue to s until the broker closes.
func (b *Broker) run(s *broker.Subscription, g *group) {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		for len(g.queue) == 0 && !b.closed {
			g.changed.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		m := g.queue[0]
		g.queue = g.queue[1:]
		b.mu.Unlock()
		b.deliver(s, g, m)
	}
}

// deliver hands m to s once and does what the verdict says.
func (b *Broker) deliver(s *broker.Subscription, g *group, m message) {
	m.deliveries++
	e, err := broker.ParseEvent(m.header, append([]byte(nil), m.data...))
	var v broker.Verdict
	if err != nil {
		v = s.Reject(err, m.deliveries)
	} else {
		v = s.Handle(b.ctx, e, m.deliveries)
	}
	switch v.Action {
	case broker.Retry:
		b.retry(g, m, v.Delay)
	case broker.DeadLetter:
		dead := message{header: broker.DeadLetterHeader(m.header, s.Topic, v.Reason, m.deliveries), data: m.data}
		b.mu.Lock()
		b.enqueue(s.DeadLetterTopic, dead)
		b.mu.Unlock()
	case broker.Ack, broker.Abandon:
		// Acknowledged; or abandoned while closing, and the closed broker keeps
		// nothing to redeliver.
	}
}

// retry puts m back in g's queue after delay, unless the broker closes first.
func (b *Broker) retry(g *group, m message, delay time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	var timer *time.Timer
	timer = time.AfterFunc(delay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.timers, timer)
		if b.closed {
			return
		}
		g.queue = append(g.queue, m)
		g.changed.Signal()
	})
	b.timers[timer] = struct{}{}
}

// Close implements [broker.Broker]. Events still queued or waiting for a
// retry are discarded.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for timer := range b.timers {
			timer.Stop()
		}
		clear(b.timers)
		for _, t := range b.topics {
			for _, g := range t.groups {
				g.changed.Broadcast()
			}
			for _, g := range t.broadcast {
				g.changed.Broadcast()
			}
		}
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		return fmt.Errorf("drain memory broker: %w", ctx.Err())
	}
}
