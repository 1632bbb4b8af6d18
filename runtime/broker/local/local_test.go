package local_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/brokertest"
	"github.com/protomicro/micro/runtime/broker/local"
	"github.com/protomicro/micro/testdata/testutil"
)

func newBroker(t testing.TB, dir string, opts ...local.Option) *local.Broker {
	t.Helper()
	b, err := local.New(append([]local.Option{local.WithDir(dir), local.WithPollInterval(5 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	brokertest.Run(t, func(t *testing.T) broker.Broker { return newBroker(t, dir) }, brokertest.Durable())
}

// TestResume checks that a group keeps its place while none of its
// subscribers is up: events published meanwhile, by a publisher gone since,
// are handled when one comes back.
func TestResume(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	first := newBroker(t, dir)
	noop := func(context.Context, *wrapperspb.StringValue) error { return nil }
	if err := broker.Subscribe(first, "orders", noop, broker.WithGroup("shipping")); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	publisher := newBroker(t, dir)
	if err := broker.Publish(ctx, publisher, "orders", wrapperspb.String("while away")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := publisher.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second := newBroker(t, dir)
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	got := make(chan string, 1)
	if err := broker.Subscribe(second, "orders", func(ctx context.Context, m *wrapperspb.StringValue) error {
		got <- m.GetValue()
		return nil
	}, broker.WithGroup("shipping")); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	select {
	case v := <-got:
		if v != "while away" {
			t.Errorf("got %q, want %q", v, "while away")
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for the event published while the group was away")
	}
}

// TestCrashRedelivers checks that an event whose handler's process dies is
// delivered again to the next subscriber of the group, the crashed delivery
// counted.
func TestCrashRedelivers(t *testing.T) {
	if dir := os.Getenv("LOCAL_BROKER_CRASH_DIR"); dir != "" {
		crashOnEvent(dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashRedelivers$")
	cmd.Env = append(os.Environ(), "LOCAL_BROKER_CRASH_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the crashing subscriber: %v", err)
	}
	ready := filepath.Join(dir, "ready")
	testutil.WaitFor(t, "the crashing subscriber to subscribe", func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
	b := newBroker(t, dir)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	if err := broker.Publish(ctx, b, "orders", wrapperspb.String("fatal")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("crashing subscriber: %v, want exit status 3", err)
	}
	dead := make(chan *broker.Event, 1)
	if err := b.Subscribe("orders.dead", func(ctx context.Context, e *broker.Event) error {
		dead <- e
		return nil
	}, broker.Broadcast()); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	// One delivery left: the crashed one counts, so the event is dead-lettered
	// without reaching this handler.
	if err := broker.Subscribe(b, "orders", func(context.Context, *wrapperspb.StringValue) error {
		return errors.New("handler ran after the crash used the last delivery")
	}, broker.WithGroup("shipping"), broker.WithMaxDeliveries(1)); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	select {
	case e := <-dead:
		if got := e.Extensions[broker.ExtensionDeliveryCount]; got != "2" {
			t.Errorf("dead letter delivery count = %q, want 2", got)
		}
		if got := e.Extensions[broker.ExtensionDeadLetterReason]; !strings.Contains(got, "without an acknowledgement") {
			t.Errorf("dead letter reason = %q, want the unacknowledged delivery", got)
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for the crashed event")
	}
}

// crashOnEvent is the subscriber process of TestCrashRedelivers: it exits,
// as a crash would, in the middle of handling its first event.
//
//nolint:forbidigo // a process that dies mid-handler is what is tested
func crashOnEvent(dir string) {
	b, err := local.New(local.WithDir(dir), local.WithPollInterval(5*time.Millisecond))
	if err != nil {
		os.Exit(1)
	}
	if err := broker.Subscribe(b, "orders", func(context.Context, *wrapperspb.StringValue) error {
		os.Exit(3)
		return nil
	}, broker.WithGroup("shipping")); err != nil {
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600); err != nil {
		os.Exit(1)
	}
	time.Sleep(time.Minute) // until the event comes; the parent's context bounds it
	os.Exit(1)
}
