package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/local"
	"github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/broker/nats"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestBrokerCounted publishes one event to three queue groups, one that
// acknowledges it, one that fails every delivery until the event is
// dead-lettered and one that drops it, on every backend, and reads the
// counts: the same on each, since they come from the deliveries the broker
// layer sees.
func TestBrokerCounted(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		open func(t *testing.T) broker.Broker
	}{
		{"memory", func(*testing.T) broker.Broker { return memory.New() }},
		{"local", func(t *testing.T) broker.Broker {
			b, err := local.New(local.WithDir(t.TempDir()), local.WithPollInterval(10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"nats", func(t *testing.T) broker.Broker {
			ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
			if err != nil {
				t.Fatal(err)
			}
			go ns.Start()
			if !ns.ReadyForConnections(20 * time.Second) {
				t.Fatal("nats-server did not start within 20s")
			}
			t.Cleanup(ns.Shutdown)
			b, err := nats.New(nats.WithURL(ns.ClientURL()))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New()
			raw := backend.open(t)
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = raw.Close(context.Background())
				}
			})
			b := m.InstrumentBroker(raw)
			dead := make(chan string, 2)
			// On the backend itself, so that the dead letters are not counted
			// as handled.
			if err := raw.Subscribe("orders.dead", func(_ context.Context, e *broker.Event) error {
				dead <- e.Extensions[broker.ExtensionDeadLetterReason]
				return nil
			}, broker.WithGroup("audit")); err != nil {
				t.Fatal(err)
			}
			quick := broker.WithBackoff(time.Millisecond, time.Millisecond)
			shipped := make(chan struct{}, 1)
			for group, h := range map[string]func(context.Context, *wrapperspb.StringValue) error{
				"shipping": func(context.Context, *wrapperspb.StringValue) error { shipped <- struct{}{}; return nil },
				"billing":  func(context.Context, *wrapperspb.StringValue) error { return errors.New("card declined") },
				"audit":    func(context.Context, *wrapperspb.StringValue) error { return broker.Drop(errors.New("poison")) },
			} {
				if err := broker.Subscribe(b, "orders", h, broker.WithGroup(group), broker.WithMaxDeliveries(3), quick); err != nil {
					t.Fatal(err)
				}
			}
			if err := broker.Publish(testutil.Context(t), b, "orders", wrapperspb.String("order 42")); err != nil {
				t.Fatal(err)
			}
			reasons := map[string]bool{}
			for range 2 {
				select {
				case reason := <-dead:
					reasons[reason] = true
				case <-testutil.Context(t).Done():
					t.Fatalf("dead letters: got %v by the deadline, want card declined and poison", reasons)
				}
			}
			if !reasons["card declined"] || !reasons["poison"] {
				t.Errorf("dead letters' reasons = %v, want card declined and poison", reasons)
			}
			// Each group is delivered to on its own: the dead letters say
			// nothing of shipping, whose event an early Close would leave
			// unhandled (and uncounted) in a durable backend.
			select {
			case <-shipped:
			case <-testutil.Context(t).Done():
				t.Fatal("the shipping group's handler did not run by the deadline")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := raw.Close(ctx); err != nil {
				t.Fatal(err)
			}
			closed = true
			if err := broker.Publish(testutil.Context(t), b, "orders", wrapperspb.String("too late")); !errors.Is(err, broker.ErrClosed) {
				t.Errorf("Publish after Close = %v, want ErrClosed", err)
			}

			checkSeries(t, m, []series{
				{"micro_broker_published_total", map[string]string{"topic": "orders", "outcome": "ok"}, 1},
				{"micro_broker_published_total", map[string]string{"topic": "orders", "outcome": "error"}, 1},
				{"micro_broker_handled_total", map[string]string{"topic": "orders", "group": "shipping", "outcome": "ok"}, 1},
				{"micro_broker_handled_total", map[string]string{"topic": "orders", "group": "billing", "outcome": "error"}, 3},
				{"micro_broker_handled_total", map[string]string{"topic": "orders", "group": "audit", "outcome": "dropped"}, 1},
				{"micro_broker_redelivered_total", map[string]string{"topic": "orders", "group": "billing"}, 2},
				{"micro_broker_redelivered_total", map[string]string{"topic": "orders", "group": "shipping"}, 0},
				{"micro_broker_handled_total", map[string]string{"topic": "orders", "group": "shipping", "outcome": "error"}, 0},
				{"micro_broker_dead_lettered_total", map[string]string{"topic": "orders", "group": "billing", "reason": "failed"}, 1},
				{"micro_broker_dead_lettered_total", map[string]string{"topic": "orders", "group": "audit", "reason": "dropped"}, 1},
				{"micro_broker_dead_lettered_total", map[string]string{"group": "shipping", "reason": "failed"}, 0},
				{"micro_broker_dead_lettered_total", map[string]string{"reason": "undecodable"}, -1},
				{"micro_broker_dead_lettered_total", map[string]string{"topic": "orders.dead"}, -1},
				{"micro_broker_handling_seconds", map[string]string{"topic": "orders", "group": "billing"}, 3},
			})
		})
	}
}
