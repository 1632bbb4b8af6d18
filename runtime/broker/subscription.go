package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Subscription is one subscription as a backend runs it: Subscribe's
// arguments with the defaults filled in. Backends build it with
// [NewSubscription], deliver each event through [Subscription.Handle] and do
// what the [Verdict] says, so that retries, dead letters, panics and
// interceptors behave alike on every backend. Used by backends.
type Subscription struct {
	// Topic is the topic subscribed to.
	Topic string
	// Group is the queue group; "" for a broadcast subscription, which gets
	// every event.
	Group string
	// MaxDeliveries is how many times an event is delivered before it is
	// dead-lettered.
	MaxDeliveries int
	// DeadLetterTopic is where events go that failed their last delivery,
	// were dropped or could not be decoded.
	DeadLetterTopic string

	backoffMin, backoffMax time.Duration
	handler                rpc.UnaryFunc
	observers              []func(Delivery)
	spec                   rpc.Spec // of each delivery, as interceptors see it
}

// newSubscribeConfig is opts applied over the defaults for topic; a
// broadcast subscription has no group.
func newSubscribeConfig(topic string, opts []SubscribeOption) subscribeConfig {
	c := subscribeConfig{
		group:           programName(),
		maxDeliveries:   5,
		backoffMin:      500 * time.Millisecond,
		backoffMax:      30 * time.Second,
		deadLetterTopic: topic + ".dead",
	}
	for _, opt := range opts {
		opt.applySubscribe(&c)
	}
	if c.broadcast {
		c.group = ""
	}
	return c
}

// NewSubscription checks topic and applies opts, and wraps h in the
// interceptors given. Used by backends.
func NewSubscription(topic string, h Handler, opts ...SubscribeOption) (*Subscription, error) {
	if err := ValidateTopic(topic); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("subscribe to %q: nil handler", topic)
	}
	c := newSubscribeConfig(topic, opts)
	if !c.broadcast && c.group == "" {
		return nil, fmt.Errorf("subscribe to %q: empty queue group: use broker.Broadcast for no group", topic)
	}
	if err := ValidateTopic(c.deadLetterTopic); err != nil {
		return nil, fmt.Errorf("subscribe to %q: dead-letter topic: %w", topic, err)
	}
	if c.deadLetterTopic == topic {
		return nil, fmt.Errorf("subscribe to %q: the dead-letter topic is the topic itself", topic)
	}
	s := &Subscription{
		Topic:           topic,
		Group:           c.group,
		MaxDeliveries:   c.maxDeliveries,
		DeadLetterTopic: c.deadLetterTopic,
		backoffMin:      c.backoffMin,
		backoffMax:      c.backoffMax,
		observers:       c.observers,
		spec:            rpc.Spec{Procedure: "event:" + topic, Access: c.access},
	}
	s.handler = rpc.ChainUnary(func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		e, ok := req.Any().(*Event)
		if !ok {
			return nil, fmt.Errorf("event:%s: an interceptor replaced the *broker.Event with %T", topic, req.Any())
		}
		return emptyResponse{}, h(ctx, e)
	}, c.interceptors)
	return s, nil
}

// Action is what a backend does with an event after a delivery.
type Action uint8

// What can become of a delivered event.
const (
	// Ack: the event is handled; acknowledge it.
	Ack Action = iota + 1
	// Retry: deliver it again after [Verdict.Delay].
	Retry
	// DeadLetter: publish [Event.DeadLetter] with [Verdict.Reason] on the
	// subscription's DeadLetterTopic, then acknowledge the original.
	DeadLetter
	// Abandon: the broker is closing and the handler did not finish; leave the
	// event unacknowledged, for redelivery when the backend keeps events.
	Abandon
)

// Verdict is the outcome of one delivery, from [Subscription.Handle].
type Verdict struct {
	Action Action
	// Delay is how long to wait before delivering again, for [Retry].
	Delay time.Duration
	// Reason says why, for [DeadLetter].
	Reason string
}

// Handle runs the handler, through its interceptors, on one delivery of e,
// and says what to do with the event. delivery counts from 1. The handler
// runs with ctx carrying, as incoming metadata, e's core attributes under
// their header names (ce-id, ce-source, ce-type, ce-time, ce-specversion,
// content-type) and its extensions under their own names (traceparent). A
// panic in the handler or an interceptor is recovered and fails the
// delivery. A delivery past MaxDeliveries (one the backend redelivered
// because an earlier one was never acknowledged) is dead-lettered without
// running the handler. When ctx has ended by the time the handler fails, the
// verdict is [Abandon]: the handler was interrupted, not wrong. The
// subscription's observers ([WithObserver]) are told the outcome before
// Handle returns.
func (s *Subscription) Handle(ctx context.Context, e *Event, delivery int) Verdict {
	if delivery > s.MaxDeliveries {
		return s.observe(Delivery{Number: delivery}, Verdict{Action: DeadLetter, Reason: fmt.Sprintf("delivered %d times without an acknowledgement", delivery-1)})
	}
	var start time.Time
	if len(s.observers) > 0 {
		start = time.Now()
	}
	err := s.call(ctx, e)
	d := Delivery{Number: delivery, Handled: true, Err: err}
	if len(s.observers) > 0 {
		d.Duration = time.Since(start)
	}
	switch {
	case err == nil:
		return s.observe(d, Verdict{Action: Ack})
	case ctx.Err() != nil:
		return s.observe(d, Verdict{Action: Abandon})
	case errors.Is(err, ErrDrop):
		return s.observe(d, Verdict{Action: DeadLetter, Reason: err.Error()})
	case delivery >= s.MaxDeliveries:
		return s.observe(d, Verdict{Action: DeadLetter, Reason: err.Error()})
	}
	return s.observe(d, Verdict{Action: Retry, Delay: s.Backoff(delivery)})
}

// Reject is the verdict for a message a backend received but could not make
// an event of, on its delivery number delivery: dead-letter it at once with
// err as the reason. The subscription's observers are told, as by Handle.
func (s *Subscription) Reject(err error, delivery int) Verdict {
	return s.observe(Delivery{Number: delivery, Err: err}, Verdict{Action: DeadLetter, Reason: fmt.Sprintf("decode event: %v", err)})
}

// Delivery is what became of one delivery of an event to a subscription, as
// its observers ([WithObserver]) are told.
type Delivery struct {
	// Topic and Group are the subscription's; Group is "" for a broadcast
	// subscription.
	Topic, Group string
	// Number counts the deliveries of the event to the subscription, from 1:
	// above 1, the event is delivered again.
	Number int
	// Handled is whether the handler ran. It did not for a message that
	// could not be decoded ([Subscription.Reject]; Err says why) or an event
	// delivered MaxDeliveries times already (Err is nil).
	Handled bool
	// Err is what the handler returned, nil when it acknowledged the event.
	Err error
	// Duration is how long the handler ran, inside its interceptors.
	Duration time.Duration
	// Verdict is what the backend is to do with the event.
	Verdict Verdict
}

// observe tells the observers what became of d, and returns its verdict v.
func (s *Subscription) observe(d Delivery, v Verdict) Verdict {
	if len(s.observers) == 0 {
		return v
	}
	d.Topic, d.Group, d.Verdict = s.Topic, s.Group, v
	for _, observe := range s.observers {
		observe(d)
	}
	return v
}

// Backoff returns how long to wait before delivering again an event whose
// delivery number delivery failed.
func (s *Subscription) Backoff(delivery int) time.Duration {
	d := s.backoffMin
	for i := 1; i < delivery && d < s.backoffMax; i++ {
		d *= 2
	}
	return min(d, s.backoffMax)
}

func (s *Subscription) call(ctx context.Context, e *Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler of %q panicked: %v", s.Topic, r)
		}
	}()
	// The metadata is built when first read, by an interceptor or the
	// handler: a handler that reads none pays nothing for it.
	req := &eventRequest{spec: s.spec, event: e}
	ctx = metadata.NewIncomingContextFunc(ctx, req.load)
	_, err = s.handler(ctx, req)
	return err
}

// eventRequest is a delivery as interceptors see it. Its header, the same
// map as the handler's incoming metadata, is made from the event when first
// asked for.
type eventRequest struct {
	spec   rpc.Spec
	event  *Event
	once   sync.Once
	header metadata.Metadata
}

func (r *eventRequest) Spec() rpc.Spec { return r.spec }
func (r *eventRequest) Peer() rpc.Peer { return rpc.Peer{} }
func (r *eventRequest) Any() any       { return r.event }

func (r *eventRequest) Header() metadata.Metadata {
	r.once.Do(func() { r.header = r.event.incomingMetadata() })
	return r.header
}

// load is Header, as the handler's context loads it.
func (r *eventRequest) load(context.Context) metadata.Metadata { return r.Header() }

type emptyResponse struct{}

func (emptyResponse) Header() metadata.Metadata  { return metadata.Metadata{} }
func (emptyResponse) Trailer() metadata.Metadata { return metadata.Metadata{} }
func (emptyResponse) Any() any                   { return nil }
