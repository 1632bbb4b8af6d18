package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/local"
	"github.com/protomicro/micro/testdata/testutil"
)

// logPath is where a topic's log is, as the package doc says.
func logPath(dir, topic string) string { return filepath.Join(dir, topic, "v2", "log") }

// collect subscribes to topic in group and sends each value handled on the
// returned channel.
func collect(t *testing.T, b *local.Broker, topic string, opts ...broker.SubscribeOption) <-chan string {
	t.Helper()
	got := make(chan string, 4096)
	if err := broker.Subscribe(b, topic, func(_ context.Context, m *wrapperspb.StringValue) error {
		got <- m.GetValue()
		return nil
	}, opts...); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return got
}

func next(ctx context.Context, t *testing.T, c <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

// TestTornTail checks that the bytes a publisher dying mid-write leaves at
// the end of a log (past its committed end: the state such a crash leaves
// on disk, written here by hand) reach no subscriber and do not hide the
// events published after them.
func TestTornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	b := newBroker(t, dir)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	dead := collect(t, b, "orders.dead", broker.Broadcast())
	got := collect(t, b, "orders", broker.WithGroup("shipping"))
	if err := broker.Publish(ctx, b, "orders", wrapperspb.String("before")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if v := next(ctx, t, got, "the first event"); v != "before" {
		t.Fatalf("got %q, want %q", v, "before")
	}
	// A record begun and never finished: its header says 1000 bytes, 12 follow.
	f, err := os.OpenFile(logPath(dir, "orders"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := append([]byte{0xe8, 0x03, 0, 0, 0xde, 0xad, 0xbe, 0xef}, "half an even"...)
	if _, err := f.Write(torn); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Another publisher, as another process would be, writes next.
	other := newBroker(t, dir)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	for _, v := range []string{"after", "and after"} {
		if err := broker.Publish(ctx, other, "orders", wrapperspb.String(v)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for _, want := range []string{"after", "and after"} {
		if v := next(ctx, t, got, "the events after the torn record"); v != want {
			t.Fatalf("got %q, want %q", v, want)
		}
	}
	select {
	case v := <-dead:
		t.Errorf("dead-lettered %q: the torn record was read", v)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestCorruptRecord checks that a whole record whose bytes changed (as
// after a crash of the host, nothing being fsynced) is dead-lettered with
// the checksum error and that the events after it are still delivered.
func TestCorruptRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	b := newBroker(t, dir)
	// Subscribed once, then closed: the group waits at the log's end.
	if err := broker.Subscribe(b, "orders", func(context.Context, *wrapperspb.StringValue) error { return nil }, broker.WithGroup("shipping")); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	for _, v := range []string{"first-event", "second-event"} {
		if err := broker.Publish(ctx, b, "orders", wrapperspb.String(v)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The closed broker may have handled the events before closing: publish
	// again and corrupt those, so that the test does not depend on it.
	pub := newBroker(t, dir)
	for _, v := range []string{"third-event", "fourth-event"} {
		if err := broker.Publish(ctx, pub, "orders", wrapperspb.String(v)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	path := logPath(dir, "orders")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("third-event"))
	if i < 0 {
		t.Fatalf("no third-event in %s", path)
	}
	data[i] = 'T'
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newBroker(t, dir)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	reasons := make(chan string, 4)
	if err := s.Subscribe("orders.dead", func(_ context.Context, e *broker.Event) error {
		reasons <- e.Extensions[broker.ExtensionDeadLetterReason]
		return nil
	}, broker.Broadcast()); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	got := collect(t, s, "orders", broker.WithGroup("shipping"))
	for v := next(ctx, t, got, "the event after the corrupt one"); v != "fourth-event"; v = next(ctx, t, got, "the event after the corrupt one") {
		if v != "first-event" && v != "second-event" {
			t.Fatalf("got %q, want fourth-event (or the events before the corrupt one)", v)
		}
	}
	if r := next(ctx, t, reasons, "the corrupt record's dead letter"); !strings.Contains(r, "checksum") {
		t.Errorf("dead letter reason = %q, want the checksum mismatch", r)
	}
}

// TestPublishersAcrossProcesses checks that publishers in two processes
// appending to one log at the same time lose, duplicate and interleave no
// event.
func TestPublishersAcrossProcesses(t *testing.T) {
	const perPublisher = 400
	if dir := os.Getenv("LOCAL_BROKER_PUBLISH_DIR"); dir != "" {
		publishFromChild(dir, perPublisher)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	b := newBroker(t, dir)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	got := collect(t, b, "orders", broker.WithGroup("shipping"))
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPublishersAcrossProcesses$")
	cmd.Env = append(os.Environ(), "LOCAL_BROKER_PUBLISH_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the publishing child: %v", err)
	}
	// Four publishers here, of 16 KiB events, while the child publishes.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for p := range 4 {
		wg.Go(func() {
			for i := range perPublisher / 4 {
				v := fmt.Sprintf("parent-%d-%d-%s", p, i, strings.Repeat("x", 16<<10))
				if err := broker.Publish(ctx, b, "orders", wrapperspb.String(v)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("publishing child: %v\n%s", err, stderr.Bytes())
	}
	seen := make(map[string]bool)
	for len(seen) < 2*perPublisher {
		v := next(ctx, t, got, fmt.Sprintf("event %d of %d", len(seen)+1, 2*perPublisher))
		v, _, _ = strings.Cut(v, "-x")
		if seen[v] {
			t.Fatalf("%s handled twice", v)
		}
		seen[v] = true
	}
	for i := range perPublisher {
		if !seen["child-"+strconv.Itoa(i)] {
			t.Errorf("child-%d never handled", i)
		}
	}
}

// publishFromChild is the child process of TestPublishersAcrossProcesses.
//
//nolint:forbidigo // the child's outcome is its exit status
func publishFromChild(dir string, n int) {
	b, err := local.New(local.WithDir(dir))
	if err == nil {
		ctx := context.Background()
		for i := range n {
			if err = broker.Publish(ctx, b, "orders", wrapperspb.String("child-"+strconv.Itoa(i))); err != nil {
				break
			}
		}
		err = errors.Join(err, b.Close(ctx))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestLogRemoved checks that a publisher whose topic's files were removed
// (to reclaim their space) writes to the log begun again after them, where
// the subscribers that came since read, not to the file it had open.
func TestLogRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	pub := newBroker(t, dir)
	t.Cleanup(func() { _ = pub.Close(context.Background()) })
	if err := broker.Publish(ctx, pub, "orders", wrapperspb.String("one")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "orders")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a publisher looks again after a second
	sub := newBroker(t, dir)
	t.Cleanup(func() { _ = sub.Close(context.Background()) })
	got := collect(t, sub, "orders", broker.WithGroup("shipping"))
	if err := broker.Publish(ctx, pub, "orders", wrapperspb.String("two")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if v := next(ctx, t, got, "the event published after the removal"); v != "two" {
		t.Errorf("got %q, want %q", v, "two")
	}
}

// TestTornFileHeader checks that a log whose first publisher died writing
// its file header, before any event was in it, is taken up by the next.
func TestTornFileHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testutil.Context(t)
	if err := os.MkdirAll(filepath.Dir(logPath(dir, "orders")), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath(dir, "orders"), []byte("microev2\x20\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBroker(t, dir)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	got := collect(t, b, "orders", broker.WithGroup("shipping"))
	if err := broker.Publish(ctx, b, "orders", wrapperspb.String("first")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if v := next(ctx, t, got, "the first event"); v != "first" {
		t.Errorf("got %q, want %q", v, "first")
	}
}
