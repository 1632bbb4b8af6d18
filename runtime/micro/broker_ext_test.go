package micro_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/testutil"
)

// runService runs svc until the test ends or stop is called; Run's result
// arrives on done.
func runService(t *testing.T, svc *micro.Service) (stop func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		result <- svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	testutil.WaitFor(t, "the service to listen", func() bool { return svc.Address() != "" })
	return cancel, result
}

// TestBroker publishes from one service and subscribes from another through
// their brokers, chosen by flags: the publisher's name is the source, the
// subscriber's is the queue group, its interceptors see the event, and Run
// drains the broker when it stops.
func TestBroker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"--broker", "local", "--broker_address", dir}
	var calls testutil.Calls
	shipping, err := micro.NewService("shipping", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithLogger(quiet), micro.WithArgs(args), micro.WithInterceptors(&calls))
	if err != nil {
		t.Fatal(err)
	}
	orders, err := micro.NewService("orders", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithLogger(quiet), micro.WithArgs(args))
	if err != nil {
		t.Fatal(err)
	}
	if got := shipping.Broker().String(); got != "local" {
		t.Errorf("Broker() = %s, want local from --broker", got)
	}
	type delivery struct {
		value string
		md    metadata.Metadata
	}
	got := make(chan delivery, 2)
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	if err := broker.Subscribe(shipping.Broker(), "", func(ctx context.Context, m *wrapperspb.StringValue) error {
		got <- delivery{m.GetValue(), metadata.FromIncomingContext(ctx)}
		if m.GetValue() == "slow" {
			close(started)
			<-release
			finished.Store(true)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stopShipping, shippingDone := runService(t, shipping)
	runService(t, orders)

	ctx := testutil.Context(t)
	if err := broker.Publish(ctx, orders.Broker(), "", wrapperspb.String("42")); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.value != "42" {
			t.Errorf("handler got %q, want %q", d.value, "42")
		}
		if source := d.md.Get("ce-source"); source != "orders" {
			t.Errorf("ce-source = %q, want the publishing service's name", source)
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for the event")
	}
	calls.WaitStarted(t, "event:google.protobuf.StringValue", 1)
	if _, err := os.Stat(filepath.Join(dir, "google.protobuf.StringValue", "v2", "groups", "shipping.offset")); err != nil {
		t.Errorf("the subscription is not in the service's queue group: %v", err)
	}

	// Stopping drains: the handler in flight finishes before Run returns.
	if err := broker.Publish(ctx, orders.Broker(), "", wrapperspb.String("slow")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("timed out waiting for the slow handler")
	}
	stopShipping()
	testutil.WaitFor(t, "the stopping service's broker to refuse events", func() bool {
		return errors.Is(broker.Publish(ctx, shipping.Broker(), "", wrapperspb.String("late")), broker.ErrClosed)
	})
	select {
	case err := <-shippingDone:
		t.Fatalf("Run returned %v while an event handler was running", err)
	default:
	}
	close(release)
	if err := <-shippingDone; err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Run returned before the event handler in flight finished")
	}
}

// TestBrokerKinds checks that a broker a program did not link cannot be
// selected by the environment, and is once the program adds it.
func TestBrokerKinds(t *testing.T) {
	t.Parallel()
	base := []micro.Option{micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet)}
	_, err := micro.NewService("svc", append(base, micro.WithArgs([]string{"--broker=nats"}))...)
	for _, want := range []string{`broker "nats" is not built into this program`, "micro.WithBrokers(micro.BrokerKind{Name: \"nats\", Open: nats.Open})", "runtime/broker/nats"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewService with --broker=nats: error = %v, want one containing %q", err, want)
		}
	}
	_, err = micro.NewService("svc", append(base, micro.WithArgs([]string{"--broker", "kafka"}))...)
	if want := `unknown broker "kafka": want one of local, memory`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("NewService with --broker kafka: error = %v, want one containing %q", err, want)
	}
	var opened string
	svc, err := micro.NewService("svc", append(base, micro.WithArgs([]string{"--broker", "nats", "--broker_address", "nats://127.0.0.1:4999"}),
		micro.WithBrokers(micro.BrokerKind{Name: "nats", Open: func(address string) (broker.Broker, error) {
			opened = address
			return brokermemory.New(), nil
		}}))...)
	if err != nil {
		t.Fatal(err)
	}
	if opened != "nats://127.0.0.1:4999" || svc.Broker().String() != "memory" {
		t.Errorf("opened %q and got a %s broker, want the added kind opened at --broker_address", opened, svc.Broker())
	}
	runService(t, svc) // which closes what NewService opened when the test ends
	// A broker given in code is the caller's; the default is local.
	mine := brokermemory.New()
	t.Cleanup(func() { _ = mine.Close(context.Background()) })
	svc, err = micro.NewService("svc", append(base, micro.WithBroker(mine))...)
	if err != nil {
		t.Fatal(err)
	}
	stop, done := runService(t, svc)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := mine.Publish(testutil.Context(t), "t", &broker.Event{ID: "1", Source: "s", Type: "t"}); err != nil {
		t.Errorf("a broker given with WithBroker was closed by Run: %v", err)
	}
}

// TestBrokerFromEnvironment checks MICRO_BROKER: local and memory are built
// in, and nats, which this program did not add, is refused with what to do.
func TestBrokerFromEnvironment(t *testing.T) {
	t.Setenv("MICRO_BROKER", "nats")
	_, err := micro.NewService("svc", micro.WithRegistry(memory.New()), micro.WithLogger(quiet))
	if want := "add micro.WithBrokers("; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("NewService with MICRO_BROKER=nats: error = %v, want one containing %q", err, want)
	}
	t.Setenv("MICRO_BROKER", "memory")
	svc, err := micro.NewService("svc", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Broker().String(); got != "memory" {
		t.Errorf("Broker() = %s, want memory from MICRO_BROKER", got)
	}
	runService(t, svc)
}
