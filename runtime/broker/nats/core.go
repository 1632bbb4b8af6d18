package nats

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/protomicro/micro/runtime/broker"
)

// subscribeCore subscribes s on core NATS (WithCore): a queue subscription
// for a group, a plain one for a broadcast. It returns once the server has
// the subscription, so that an event published next reaches it.
func (b *Broker) subscribeCore(s *broker.Subscription) error {
	subject := b.prefix + s.Topic
	handle := func(msg *nats.Msg) { b.handleCore(s, msg.Header, msg.Data, 1) }
	var (
		sub *nats.Subscription
		err error
	)
	if s.Group != "" {
		sub, err = b.nc.QueueSubscribe(subject, s.Group, handle)
	} else {
		sub, err = b.nc.Subscribe(subject, handle)
	}
	if err != nil {
		return fmt.Errorf("subscribe to %q: %w", s.Topic, err)
	}
	if err := b.nc.FlushTimeout(10 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("subscribe to %q: %w", s.Topic, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		_ = sub.Unsubscribe()
		return broker.ErrClosed
	}
	b.subs = append(b.subs, sub)
	return nil
}

// handleCore runs delivery number delivery of a core NATS message and does
// what the verdict says: a retry is scheduled in this process, a dead letter
// published; an acknowledgement or an abandoned event needs nothing.
func (b *Broker) handleCore(s *broker.Subscription, header nats.Header, data []byte, delivery int) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.inflight.Add(1)
	b.mu.Unlock()
	defer b.inflight.Done()

	var v broker.Verdict
	if e, err := broker.ParseEvent(header, data); err != nil {
		v = s.Reject(err, delivery)
	} else {
		v = s.Handle(b.ctx, e, delivery)
	}
	switch v.Action {
	case broker.Retry:
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.closed {
			return
		}
		var timer *time.Timer
		timer = time.AfterFunc(v.Delay, func() {
			b.mu.Lock()
			delete(b.timers, timer)
			b.mu.Unlock()
			b.handleCore(s, header, data, delivery+1)
		})
		b.timers[timer] = struct{}{}
	case broker.DeadLetter:
		dead := &nats.Msg{
			Subject: b.prefix + s.DeadLetterTopic,
			Header:  nats.Header(broker.DeadLetterHeader(withoutNATSHeaders(header), s.Topic, v.Reason, delivery)),
			Data:    data,
		}
		_ = b.nc.PublishMsg(dead) // at most once, as every core publish
	case broker.Ack, broker.Abandon:
	}
}
