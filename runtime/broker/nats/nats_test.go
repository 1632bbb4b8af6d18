package nats_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/brokertest"
	"github.com/protomicro/micro/runtime/broker/nats"
	"github.com/protomicro/micro/testdata/testutil"
)

// startServer runs a nats-server with JetStream on a free port of
// 127.0.0.1, its store in a temporary directory, until the test ends.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	return startServerAt(t, -1, t.TempDir())
}

// startServerAt runs a nats-server on port of 127.0.0.1 (-1: a free one) with
// its JetStream store in dir, until the test ends.
func startServerAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	return runServer(t, &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir})
}

// runServer runs a nats-server with opts, quiet, until the test ends.
func runServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server did not start within 20s")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func newBroker(t *testing.T, url string, opts ...nats.Option) *nats.Broker {
	t.Helper()
	b, err := nats.New(append([]nats.Option{nats.WithURL(url)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	url := startServer(t).ClientURL()
	brokertest.Run(t, func(t *testing.T) broker.Broker { return newBroker(t, url) },
		brokertest.WithMaxEventSize(1<<20), brokertest.Durable())
}

// TestConformanceCore runs the suite on core NATS, on a server without
// JetStream: at most once, so not durable.
func TestConformanceCore(t *testing.T) {
	t.Parallel()
	url := runServer(t, &server.Options{Host: "127.0.0.1", Port: -1}).ClientURL()
	brokertest.Run(t, func(t *testing.T) broker.Broker { return newBroker(t, url, nats.WithCore()) },
		brokertest.WithMaxEventSize(1<<20))
}

// receive waits for a value from c, failing the test after 30 seconds.
func receive[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case v := <-c:
		return v
	case <-timer.C:
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable") // t.Fatalf does not return
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A consumer that knows nothing of micro, written with plain nats.go, reads
// an event's CloudEvents attributes and payload.
func TestPlainNATSSubscriber(t *testing.T) {
	t.Parallel()
	url := startServer(t).ClientURL()
	b := newBroker(t, url)
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	msgs := make(chan *natsgo.Msg, 1)
	sub, err := nc.ChanSubscribe("micro.events.orders.v1.created", msgs)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	ctx := testContext(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := broker.Publish(ctx, b, "orders.v1.created", wrapperspb.String("order 42"),
		broker.WithID("order-42"), broker.WithSource("orders"), broker.WithTime(at),
		broker.WithExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msg := receive(t, msgs, "the message")
	for key, want := range map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "order-42",
		"ce-source":      "orders",
		"ce-type":        "google.protobuf.StringValue",
		"ce-time":        "2026-03-04T05:06:07Z",
		"content-type":   "application/protobuf",
		"ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"Nats-Msg-Id":    "order-42",
	} {
		if got := msg.Header.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
	var m wrapperspb.StringValue
	if err := proto.Unmarshal(msg.Data, &m); err != nil || m.GetValue() != "order 42" {
		t.Errorf("payload = %q, %v; want %q", m.GetValue(), err, "order 42")
	}
}

// A message that is not a CloudEvent, published by another client, goes to
// the dead-letter topic with the reason, and the subscriber carries on.
func TestForeignMessage(t *testing.T) {
	t.Parallel()
	url := startServer(t).ClientURL()
	b := newBroker(t, url)
	dead := make(chan *broker.Event, 1)
	if err := b.Subscribe("foreign.dead", func(ctx context.Context, e *broker.Event) error {
		dead <- e
		return nil
	}, broker.Broadcast()); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	ran := make(chan struct{}, 1)
	if err := broker.Subscribe(b, "foreign", func(context.Context, *wrapperspb.StringValue) error {
		ran <- struct{}{}
		return nil
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer nc.Close()
	msg := natsgo.NewMsg("micro.events.foreign")
	msg.Data = []byte("not an event")
	msg.Header.Set("ce-id", "foreign-1")
	if _, err := nc.RequestMsg(msg, 10*time.Second); err != nil { // JetStream acknowledges
		t.Fatalf("publish: %v", err)
	}
	ctx := testContext(t)
	if err := broker.Publish(ctx, b, "foreign", wrapperspb.String("fine")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	receive(t, ran, "the good event")
	e := receive(t, dead, "the dead letter")
	if got := e.Extensions[broker.ExtensionDeadLetterReason]; !strings.Contains(got, "specversion") {
		t.Errorf("dead letter reason = %q, want it to name the missing specversion", got)
	}
	if string(e.Data) != "not an event" {
		t.Errorf("dead letter data = %q, want the original", e.Data)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ns := startServer(t)
	url := ns.ClientURL()
	ns.Shutdown()
	ns.WaitForShutdown()
	_, err := nats.New(nats.WithURL(url), nats.WithConnectTimeout(time.Second))
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("New(%q) with no server: error = %v, want one naming the address", url, err)
	}
}

// A publish the server cannot confirm is an error, not a silent drop.
func TestPublishUnconfirmed(t *testing.T) {
	t.Parallel()
	ns := startServer(t)
	b := newBroker(t, ns.ClientURL())
	ctx := testContext(t)
	if err := broker.Publish(ctx, b, "unconfirmed", wrapperspb.String("before")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := broker.Publish(short, b, "unconfirmed", wrapperspb.String("after"))
	if err == nil {
		t.Fatal("Publish with the server down = nil, want an error")
	}
	if errors.Is(err, broker.ErrTooLarge) {
		t.Errorf("Publish error = %v, want a connection error", err)
	}
}

// On core NATS, a publish while the connection is down fails rather than
// waiting in a buffer.
func TestCorePublishDisconnected(t *testing.T) {
	t.Parallel()
	ns := runServer(t, &server.Options{Host: "127.0.0.1", Port: -1})
	b := newBroker(t, ns.ClientURL(), nats.WithCore())
	ctx := testContext(t)
	if err := broker.Publish(ctx, b, "core", wrapperspb.String("before")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	testutil.WaitFor(t, "Publish to fail with the server down", func() bool {
		return broker.Publish(ctx, b, "core", wrapperspb.String("after")) != nil
	})
}

// A handler that runs longer than the ack wait is not raced by a
// redelivery: the broker reports it in progress.
func TestLongHandler(t *testing.T) {
	t.Parallel()
	b := newBroker(t, startServer(t).ClientURL(), nats.WithAckWait(time.Second))
	var deliveries atomic.Int32
	done := make(chan struct{})
	if err := broker.Subscribe(b, "long", func(ctx context.Context, m *wrapperspb.StringValue) error {
		if deliveries.Add(1) == 1 {
			// Longer than the ack wait, bounded by the test.
			timer := time.NewTimer(1500 * time.Millisecond)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
			close(done)
		}
		return nil
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	ctx := testContext(t)
	if err := broker.Publish(ctx, b, "long", wrapperspb.String("slow")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	receive(t, done, "the handler")
	// A second event shows the first was acknowledged rather than redelivered:
	// one subscription gets its events in order.
	if err := broker.Publish(ctx, b, "long", wrapperspb.String("next")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	testutil.WaitFor(t, "the next event", func() bool { return deliveries.Load() >= 2 })
	if n := deliveries.Load(); n != 2 {
		t.Errorf("%d deliveries, want 2: the long handler's event was redelivered", n)
	}
}

// When the server goes away and comes back, the broker reconnects: publishes
// succeed again and subscriptions carry on.
func TestReconnect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ns := startServerAt(t, -1, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	b := newBroker(t, ns.ClientURL())
	var got atomic.Value
	if err := broker.Subscribe(b, "reconnect", func(ctx context.Context, m *wrapperspb.StringValue) error {
		got.Store(m.GetValue())
		return nil
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	startServerAt(t, port, dir)
	ctx := testContext(t)
	testutil.WaitFor(t, "a publish after the server restarted", func() bool {
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return broker.Publish(short, b, "reconnect", wrapperspb.String("again")) == nil
	})
	testutil.WaitFor(t, "the event published after the restart", func() bool { return got.Load() == "again" })
	// Closed here, while the restarted server runs: its cleanup, registered
	// after the broker's, would shut it down first, and a drain that starts
	// before the client notices waits for a server that is gone.
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Events published twice with one ID, as a publisher retrying after a
// timeout does, are stored and delivered once.
func TestDeduplication(t *testing.T) {
	t.Parallel()
	b := newBroker(t, startServer(t).ClientURL())
	values := make(chan string, 10)
	if err := broker.Subscribe(b, "dedup", func(ctx context.Context, m *wrapperspb.StringValue) error {
		values <- m.GetValue()
		return nil
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	ctx := testContext(t)
	for _, value := range []string{"once", "once", "next"} {
		id := value
		if err := broker.Publish(ctx, b, "dedup", wrapperspb.String(value), broker.WithID(id)); err != nil {
			t.Fatalf("Publish(%s): %v", value, err)
		}
	}
	if got := receive(t, values, "the first event"); got != "once" {
		t.Errorf("first event = %q, want once", got)
	}
	if got := receive(t, values, "the second event"); got != "next" {
		t.Errorf("second event = %q, want next: the duplicate was delivered", got)
	}
}

func TestNoJetStream(t *testing.T) {
	t.Parallel()
	ns := runServer(t, &server.Options{Host: "127.0.0.1", Port: -1})
	url := ns.ClientURL()
	_, err := nats.New(nats.WithURL(url), nats.WithConnectTimeout(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("New(%q) without JetStream: error = %v, want one naming the address", url, err)
	}
}

// TestOpen opens the broker as a service does for MICRO_BROKER=nats.
func TestOpen(t *testing.T) {
	t.Parallel()
	b, err := nats.Open(startServer(t).ClientURL())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := b.String(); got != "nats" {
		t.Errorf("String() = %q, want nats", got)
	}
	if err := b.Close(testutil.Context(t)); err != nil {
		t.Errorf("Close: %v", err)
	}
}
