// Package brokertest is the conformance suite for [broker.Broker] backends.
// Each backend's tests call [Run] with a constructor for a fresh broker:
//
//	func TestConformance(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T) broker.Broker { return memory.New() })
//	}
//
// Every test uses topics of its own, so brokers made by one constructor may
// share a server.
package brokertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Option adapts the suite to a backend.
type Option interface {
	apply(*suite)
}

type suite struct {
	maxEventSize int
	durable      bool
}

type optionFunc func(*suite)

func (f optionFunc) apply(s *suite) { f(s) }

// WithMaxEventSize tells the suite the largest event data the backend
// accepts, in bytes, as its Publish reports it. The default is 1 MiB (1048576).
func WithMaxEventSize(n int) Option {
	return optionFunc(func(s *suite) { s.maxEventSize = n })
}

// Durable tells the suite that brokers made by the constructor share their
// events, as nodes on one server do, and keep an event a closing broker did
// not finish: the suite then checks that such an event is delivered to
// another broker. By default it does not.
func Durable() Option {
	return optionFunc(func(s *suite) { s.durable = true })
}

// Run runs the suite. newBroker returns a broker, which the suite closes
// when each test ends (some tests close it earlier, so Close must be safe to
// call twice); it arranges the cleanup of anything else it made, such as a
// server, with t.Cleanup.
//
// The suite checks, through the typed [broker.Publish] and [broker.Subscribe]
// and the raw methods: a round trip keeps the message and every CloudEvents
// attribute (id, source, type, time, content type, traceparent and other
// extensions), in the handler's incoming metadata and in the [broker.Event];
// protojson events; a handler returning nil is not delivered again; one
// failing twice is delivered a third time and not dead-lettered; one always
// failing is dead-lettered after its last delivery with the reason, the
// delivery count and the origin topic; [broker.Drop] dead-letters at once to a
// configured topic; a panic fails the delivery without killing the
// subscriber; two subscriptions of a group share events, each handled once,
// and every group gets every event; broadcast subscriptions get every event;
// undecodable data, the wrong type and bad JSON are dead-lettered with the
// decode error and never reach the handler; an oversized event is refused
// naming the limit; bad topics and events are refused; interceptors see each
// delivery as "event:<topic>" with the attributes as headers, and can refuse
// it; Close refuses new events and subscriptions, waits for the handler in
// flight and returns after it; a Close whose context ends cancels the
// handler's context and does not dead-letter its event (and, with [Durable],
// another broker then gets that event).
func Run(t *testing.T, newBroker func(t *testing.T) broker.Broker, opts ...Option) {
	t.Helper()
	s := suite{maxEventSize: 1 << 20}
	for _, opt := range opts {
		opt.apply(&s)
	}
	for _, tt := range []struct {
		name string
		test func(*testing.T, func(*testing.T) broker.Broker)
	}{
		{"RoundTrip", testRoundTrip},
		{"JSON", testJSON},
		{"Ack", testDeliveredUntil(1)},
		{"Redeliver", testDeliveredUntil(3)},
		{"DeadLetter", testDeadLetter},
		{"Drop", testDrop},
		{"Panic", testPanic},
		{"QueueGroups", testQueueGroups},
		{"Broadcast", testBroadcast},
		{"DecodeFailure", testDecodeFailure},
		{"Oversized", s.testOversized},
		{"Invalid", testInvalid},
		{"Interceptors", testInterceptors},
		{"CloseDrains", testCloseDrains},
		{"CloseTimeout", s.testCloseTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, closing(newBroker))
		})
	}
}

// closing wraps newBroker to close each broker, and check it closes, when
// the test ends.
func closing(newBroker func(*testing.T) broker.Broker) func(*testing.T) broker.Broker {
	return func(t *testing.T) broker.Broker {
		b := newBroker(t)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return b
	}
}

// fast makes failed events come back quickly.
var fast = broker.WithBackoff(5*time.Millisecond, 20*time.Millisecond)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newTopic returns a topic no other test uses.
func newTopic(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	return "brokertest." + name + "." + strings.ToLower(rand.Text()[:8])
}

func publish(t *testing.T, b broker.Broker, topic, value string, opts ...broker.PublishOption) {
	t.Helper()
	if err := broker.Publish(testContext(t), b, topic, wrapperspb.String(value), opts...); err != nil {
		t.Fatalf("Publish(%q, %q): %v", topic, value, err)
	}
}

// recorder collects events, safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	events []*broker.Event
}

func (r *recorder) handle(ctx context.Context, e *broker.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) get(i int) *broker.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[i]
}

// deadLetters subscribes to topic's default dead-letter topic.
func deadLetters(t *testing.T, b broker.Broker, topic string) *recorder {
	t.Helper()
	r := new(recorder)
	if err := b.Subscribe(topic+".dead", r.handle, broker.Broadcast()); err != nil {
		t.Fatalf("Subscribe(%q): %v", topic+".dead", err)
	}
	return r
}

func mustSubscribe(t *testing.T, b broker.Broker, topic string, h func(context.Context, *wrapperspb.StringValue) error, opts ...broker.SubscribeOption) {
	t.Helper()
	if err := broker.Subscribe(b, topic, h, opts...); err != nil {
		t.Fatalf("Subscribe(%q): %v", topic, err)
	}
}

func testRoundTrip(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	type got struct {
		value string
		md    metadata.Metadata
	}
	gotc := make(chan got, 1)
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		gotc <- got{m.GetValue(), metadata.FromIncomingContext(ctx)}
		return nil
	})
	raw := new(recorder)
	if err := b.Subscribe(topic, raw.handle, broker.WithGroup("raw")); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := metadata.AppendToOutgoingContext(testContext(t), "traceparent", traceparent)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := broker.Publish(ctx, b, topic, wrapperspb.String("hello"),
		broker.WithID("event-1"), broker.WithSource("orders"), broker.WithTime(at), broker.WithExtension("tenant", "acme")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var g got
	select {
	case g = <-gotc:
	case <-ctx.Done():
		t.Fatal("timed out waiting for the event")
	}
	if g.value != "hello" {
		t.Errorf("handler got %q, want %q", g.value, "hello")
	}
	for key, want := range map[string]string{
		"ce-id":          "event-1",
		"ce-source":      "orders",
		"ce-type":        "google.protobuf.StringValue",
		"ce-specversion": "1.0",
		"ce-time":        "2026-01-02T03:04:05.000006Z",
		"content-type":   broker.ContentTypeProto,
		"traceparent":    traceparent,
		"tenant":         "acme",
	} {
		if got := g.md.Get(key); got != want {
			t.Errorf("incoming metadata %q = %q, want %q", key, got, want)
		}
	}
	waitFor(t, "the raw subscriber's event", func() bool { return raw.len() == 1 })
	e := raw.get(0)
	if e.ID != "event-1" || e.Source != "orders" || e.Type != "google.protobuf.StringValue" ||
		!e.Time.Equal(at) || e.DataContentType != broker.ContentTypeProto ||
		e.Extensions["traceparent"] != traceparent || e.Extensions["tenant"] != "acme" {
		t.Errorf("raw event = %+v, want the attributes published", e)
	}
	var m wrapperspb.StringValue
	if err := e.Decode(&m); err != nil || m.GetValue() != "hello" {
		t.Errorf("Decode = %q, %v; want %q", m.GetValue(), err, "hello")
	}
}

func testJSON(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	raw := new(recorder)
	if err := b.Subscribe(topic, raw.handle); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	publish(t, b, topic, "hello", broker.WithJSON())
	waitFor(t, "the event", func() bool { return raw.len() == 1 })
	e := raw.get(0)
	if e.DataContentType != broker.ContentTypeJSON || string(e.Data) != `"hello"` {
		t.Errorf("event content type %q, data %q; want %q, %q", e.DataContentType, e.Data, broker.ContentTypeJSON, `"hello"`)
	}
	var m wrapperspb.StringValue
	if err := e.Decode(&m); err != nil || m.GetValue() != "hello" {
		t.Errorf("Decode = %q, %v; want %q", m.GetValue(), err, "hello")
	}
}

// counter counts deliveries by message value.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(value string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[value]++
	return c.n[value]
}

func (c *counter) get(value string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[value]
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

// testDeliveredUntil checks that a handler failing until delivery n gets
// the event exactly n times, and that nothing is dead-lettered.
func testDeliveredUntil(n int) func(*testing.T, func(*testing.T) broker.Broker) {
	return func(t *testing.T, newBroker func(*testing.T) broker.Broker) {
		b := newBroker(t)
		topic := newTopic(t)
		dead := deadLetters(t, b, topic)
		var c counter
		mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
			if c.add(m.GetValue()) < n {
				return errors.New("not yet")
			}
			return nil
		}, fast, broker.WithMaxDeliveries(n))
		publish(t, b, topic, "first")
		waitFor(t, "the first event", func() bool { return c.get("first") == n })
		// Events come to one subscriber in the order they were published, so
		// once the second is handled the first would have come again if it
		// were going to.
		publish(t, b, topic, "second")
		waitFor(t, "the second event", func() bool { return c.get("second") == n })
		if got := c.get("first"); got != n {
			t.Errorf("an event handled on delivery %d was delivered %d times", n, got)
		}
		if got := dead.len(); got != 0 {
			t.Errorf("%d dead letters, want 0", got)
		}
	}
}

func testDeadLetter(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	dead := deadLetters(t, b, topic)
	var c counter
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		return fmt.Errorf("failure %d", c.add(m.GetValue()))
	}, fast, broker.WithMaxDeliveries(4))
	publish(t, b, topic, "doomed", broker.WithID("doomed-1"))
	waitFor(t, "the dead letter", func() bool { return dead.len() == 1 })
	checkDeadLetter(t, dead.get(0), topic, "doomed-1", "failure 4", 4)
	if n := c.get("doomed"); n != 4 {
		t.Errorf("handler ran %d times, want 4", n)
	}
	var m wrapperspb.StringValue
	if err := dead.get(0).Decode(&m); err != nil || m.GetValue() != "doomed" {
		t.Errorf("dead letter's message = %q, %v; want %q", m.GetValue(), err, "doomed")
	}
}

func checkDeadLetter(t *testing.T, e *broker.Event, topic, id, reason string, deliveries int) {
	t.Helper()
	if e.ID != id {
		t.Errorf("dead letter ID = %q, want %q", e.ID, id)
	}
	if got := e.Extensions[broker.ExtensionDeadLetterReason]; !strings.Contains(got, reason) {
		t.Errorf("dead letter reason = %q, want it to contain %q", got, reason)
	}
	if got, want := e.Extensions[broker.ExtensionDeliveryCount], strconv.Itoa(deliveries); got != want {
		t.Errorf("dead letter delivery count = %q, want %q", got, want)
	}
	if got := e.Extensions[broker.ExtensionOriginTopic]; got != topic {
		t.Errorf("dead letter origin topic = %q, want %q", got, topic)
	}
}

func testDrop(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	custom := topic + ".poison"
	dead := new(recorder)
	if err := b.Subscribe(custom, dead.handle, broker.Broadcast()); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	var c counter
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		c.add(m.GetValue())
		return broker.Drop(errors.New("poison pill"))
	}, fast, broker.WithDeadLetterTopic(custom))
	publish(t, b, topic, "poison", broker.WithID("poison-1"))
	waitFor(t, "the dead letter", func() bool { return dead.len() == 1 })
	checkDeadLetter(t, dead.get(0), topic, "poison-1", "poison pill", 1)
	if n := c.get("poison"); n != 1 {
		t.Errorf("a dropped event was delivered %d times, want 1", n)
	}
}

func testPanic(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	dead := deadLetters(t, b, topic)
	var c counter
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		if c.add(m.GetValue()) == 1 || m.GetValue() == "always" {
			panic("handler bug")
		}
		return nil
	}, fast, broker.WithMaxDeliveries(2))
	publish(t, b, topic, "once")
	waitFor(t, "the delivery after the panic", func() bool { return c.get("once") == 2 })
	publish(t, b, topic, "always", broker.WithID("always-1"))
	waitFor(t, "the dead letter", func() bool { return dead.len() == 1 })
	checkDeadLetter(t, dead.get(0), topic, "always-1", "handler bug", 2)
	if n := c.get("once"); n != 2 {
		t.Errorf("an event whose first delivery panicked was delivered %d times, want 2", n)
	}
}

func testQueueGroups(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	const events = 20
	counts := map[string]*counter{"a": {}, "b": {}}
	var handled atomic.Int64
	for _, group := range []string{"a", "a", "b", "b"} {
		mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
			counts[group].add(m.GetValue())
			handled.Add(1)
			return nil
		}, broker.WithGroup(group))
	}
	for i := range events {
		publish(t, b, topic, strconv.Itoa(i))
	}
	waitFor(t, "each group to handle every event", func() bool { return handled.Load() >= 2*events })
	for group, c := range counts {
		for i := range events {
			if n := c.get(strconv.Itoa(i)); n != 1 {
				t.Errorf("group %s handled event %d %d times, want 1", group, i, n)
			}
		}
	}
}

func testBroadcast(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	const events = 10
	counts := []*counter{{}, {}, {}}
	for i, c := range counts {
		opt := broker.Broadcast()
		if i == 2 {
			opt = broker.WithGroup("shared")
		}
		mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
			c.add(m.GetValue())
			return nil
		}, opt)
	}
	for i := range events {
		publish(t, b, topic, strconv.Itoa(i))
	}
	for i, c := range counts {
		waitFor(t, fmt.Sprintf("subscriber %d to get every event", i), func() bool {
			for j := range events {
				if c.get(strconv.Itoa(j)) == 0 {
					return false
				}
			}
			return true
		})
		for j := range events {
			if n := c.get(strconv.Itoa(j)); n != 1 {
				t.Errorf("subscriber %d got event %d %d times, want 1", i, j, n)
			}
		}
	}
}

func testDecodeFailure(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	dead := deadLetters(t, b, topic)
	var c counter
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		c.add(m.GetValue())
		return nil
	}, fast)
	ctx := testContext(t)
	for _, e := range []*broker.Event{
		{ID: "garbage", Source: "test", Type: "google.protobuf.StringValue", Data: []byte{0xff, 0xff, 0xff}},
		{ID: "other-type", Source: "test", Type: "google.protobuf.Int64Value", Data: nil},
		{ID: "bad-json", Source: "test", Type: "google.protobuf.StringValue", DataContentType: broker.ContentTypeJSON, Data: []byte("{")},
	} {
		if err := b.Publish(ctx, topic, e); err != nil {
			t.Fatalf("Publish(%s): %v", e.ID, err)
		}
	}
	publish(t, b, topic, "fine")
	waitFor(t, "the dead letters", func() bool { return dead.len() == 3 })
	waitFor(t, "the good event after the bad ones", func() bool { return c.get("fine") == 1 })
	reasons := map[string]string{}
	for i := range dead.len() {
		e := dead.get(i)
		reasons[e.ID] = e.Extensions[broker.ExtensionDeadLetterReason]
		if got := e.Extensions[broker.ExtensionDeliveryCount]; got != "1" {
			t.Errorf("dead letter %s delivery count = %q, want 1", e.ID, got)
		}
	}
	for id, want := range map[string]string{
		"garbage":    "decode",
		"other-type": `want "google.protobuf.StringValue"`,
		"bad-json":   "decode",
	} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("dead letter %s reason = %q, want it to contain %q", id, reasons[id], want)
		}
	}
	if n := c.distinct(); n != 1 {
		t.Errorf("the handler got %d distinct messages, want only the good one", n)
	}
}

func (s suite) testOversized(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	err := broker.Publish(testContext(t), b, topic, wrapperspb.Bytes(make([]byte, s.maxEventSize+1)))
	if !errors.Is(err, broker.ErrTooLarge) {
		t.Fatalf("Publish of %d bytes: error = %v, want ErrTooLarge", s.maxEventSize+1, err)
	}
	if limit := strconv.Itoa(s.maxEventSize); !strings.Contains(err.Error(), limit) {
		t.Errorf("Publish error = %q, want it to name the limit %s", err, limit)
	}
}

func testInvalid(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	ctx := testContext(t)
	topic := newTopic(t)
	noop := func(context.Context, *broker.Event) error { return nil }
	for _, bad := range []string{"", "a..b", "a.*", "a b", ".a", "a.>"} {
		if err := b.Subscribe(bad, noop); err == nil {
			t.Errorf("Subscribe(%q) = nil, want an error", bad)
		}
		if err := b.Publish(ctx, bad, &broker.Event{ID: "1", Source: "s", Type: "t"}); err == nil {
			t.Errorf("Publish(%q) = nil, want an error", bad)
		}
	}
	for _, e := range []*broker.Event{
		{Source: "s", Type: "t"},
		{ID: "1", Type: "t"},
		{ID: "1", Source: "s"},
		{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain"},
		{ID: "1", Source: "s", Type: "t", Extensions: map[string]string{"Bad-Name": "x"}},
		{ID: "1\r\nNats-Msg-Id: 2", Source: "s", Type: "t"},
		{ID: "1", Source: "s", Type: "t", Extensions: map[string]string{"traceparent": "x\ny"}},
	} {
		if err := b.Publish(ctx, topic, e); err == nil {
			t.Errorf("Publish(%+v) = nil, want an error", e)
		}
	}
	if err := b.Subscribe(topic, nil); err == nil {
		t.Error("Subscribe with a nil handler = nil, want an error")
	}
	if err := b.Subscribe(topic, noop, broker.WithDeadLetterTopic(topic)); err == nil {
		t.Error("Subscribe with the topic as its own dead-letter topic = nil, want an error")
	}
}

// interceptor records what it saw of each delivery.
type interceptor struct {
	mu         sync.Mutex
	procedures []string
	ids        []string
	types      []string
	traces     []string
}

func (i *interceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		i.mu.Lock()
		i.procedures = append(i.procedures, req.Spec().Procedure)
		i.ids = append(i.ids, req.Header().Get("ce-id"))
		i.traces = append(i.traces, req.Header().Get("traceparent"))
		i.types = append(i.types, fmt.Sprintf("%T", req.Any()))
		i.mu.Unlock()
		if req.Header().Get("ce-source") == "intruder" {
			return nil, broker.Drop(errors.New("unauthenticated"))
		}
		return next(ctx, req)
	}
}

func (i *interceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}

func testInterceptors(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	dead := deadLetters(t, b, topic)
	var c counter
	var seen interceptor
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		c.add(m.GetValue())
		return nil
	}, broker.WithInterceptors(&seen))
	ctx := metadata.AppendToOutgoingContext(testContext(t), "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err := broker.Publish(ctx, b, topic, wrapperspb.String("let in"), broker.WithID("in")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	publish(t, b, topic, "keep out", broker.WithID("out"), broker.WithSource("intruder"))
	waitFor(t, "the event let in", func() bool { return c.get("let in") == 1 })
	waitFor(t, "the event kept out to be dead-lettered", func() bool { return dead.len() == 1 })
	if n := c.get("keep out"); n != 0 {
		t.Errorf("the handler ran for an event its interceptor refused")
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	for i, procedure := range seen.procedures {
		if want := "event:" + topic; procedure != want {
			t.Errorf("interceptor saw procedure %q, want %q", procedure, want)
		}
		if seen.types[i] != "*broker.Event" {
			t.Errorf("interceptor saw a request of type %s, want *broker.Event", seen.types[i])
		}
		if seen.ids[i] == "in" && seen.traces[i] != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
			t.Errorf("interceptor saw traceparent %q, want the publisher's", seen.traces[i])
		}
	}
	if len(seen.ids) != 2 {
		t.Errorf("interceptor saw events %q, want in and out", seen.ids)
	}
}

func testCloseDrains(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	var c counter
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		if c.add(m.GetValue()) == 1 && m.GetValue() == "slow" {
			close(started)
			<-release
			finished.Store(true)
		}
		return nil
	})
	publish(t, b, topic, "slow")
	ctx := testContext(t)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("timed out waiting for the handler to start")
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	// Once Close has begun, the broker takes no new events.
	waitFor(t, "Publish to be refused after Close", func() bool {
		err := broker.Publish(ctx, b, topic, wrapperspb.String("late"))
		return errors.Is(err, broker.ErrClosed)
	})
	if err := b.Subscribe(topic, func(context.Context, *broker.Event) error { return nil }); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Subscribe while closing: error = %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a handler was running", err)
	default:
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for Close")
	}
	if !finished.Load() {
		t.Error("Close returned before the handler in flight finished")
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func (s suite) testCloseTimeout(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	b := newBroker(t)
	topic := newTopic(t)
	dead := deadLetters(t, b, topic)
	started := make(chan struct{})
	var canceled atomic.Bool
	mustSubscribe(t, b, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		close(started)
		<-ctx.Done()
		canceled.Store(true)
		return ctx.Err()
	}, broker.WithGroup("stuck"), broker.WithMaxDeliveries(3))
	publish(t, b, topic, "unfinished", broker.WithID("unfinished-1"))
	ctx := testContext(t)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("timed out waiting for the handler to start")
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Close(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with an ended context: error = %v, want context.Canceled", err)
	}
	waitFor(t, "the handler's context to be canceled", canceled.Load)
	if n := dead.len(); n != 0 {
		t.Errorf("an interrupted handler's event was dead-lettered")
	}
	if !s.durable {
		return
	}
	// Another node of the group gets the event left unfinished.
	other := newBroker(t)
	var got atomic.Value
	mustSubscribe(t, other, topic, func(ctx context.Context, m *wrapperspb.StringValue) error {
		got.Store(m.GetValue())
		return nil
	}, broker.WithGroup("stuck"), broker.WithMaxDeliveries(3))
	waitFor(t, "the unfinished event on another node", func() bool { return got.Load() == "unfinished" })
}
