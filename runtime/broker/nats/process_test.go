package nats_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/nats"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/micro"
	registrymemory "github.com/protomicro/micro/runtime/registry/memory"
	syncmemory "github.com/protomicro/micro/runtime/sync/memory"
	"github.com/protomicro/micro/testdata/testutil"
)

// The environment of a node of the service TestAcrossProcesses runs: the
// test binary, started again with nodeEnv set to the node's name.
const (
	nodeEnv      = "MICRO_NATS_TEST_NODE"
	nodeURL      = "MICRO_NATS_TEST_URL"      // the NATS server
	nodeRecord   = "MICRO_NATS_TEST_RECORD"   // the file the node appends each handled event's ID to
	nodeAttempts = "MICRO_NATS_TEST_ATTEMPTS" // the directory counting deliveries of flaky and poison events
)

// The topic the service subscribes to, and the ack wait its nodes use, short
// so that the events of a killed node come back soon.
const (
	processTopic   = "orders.created"
	processAckWait = 2 * time.Second
)

// runNode runs one node of the "orders" service: a micro service on the NATS
// broker (chosen by --broker, as a deployment would) whose handler appends
// the ID of each event it handles to its record file before acknowledging
// it. An event whose message is "flaky" fails its first two deliveries, on
// whichever nodes they land (counted in the attempts directory); one whose
// message is "poison" always fails. The node prints "ready" once it is
// subscribed and stops, draining, on SIGTERM.
func runNode() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "node %s: %v\n", os.Getenv(nodeEnv), err)
		return 1
	}
	// Before anything else, so that a SIGTERM sent as soon as the node is
	// ready stops it gracefully rather than killing it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	record, err := os.OpenFile(os.Getenv(nodeRecord), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = record.Close() }()
	attempts := os.Getenv(nodeAttempts)
	kind := micro.BrokerKind{Name: "nats", Open: func(address string) (broker.Broker, error) {
		return nats.New(nats.WithURL(address), nats.WithAckWait(processAckWait))
	}}
	svc, err := micro.NewService("orders",
		micro.WithRegistry(registrymemory.New()), micro.WithSync(syncmemory.New()),
		micro.WithListenAddress("127.0.0.1:0"), micro.WithBrokers(kind),
		micro.WithArgs([]string{"--broker", "nats", "--broker_address", os.Getenv(nodeURL)}))
	if err != nil {
		return fail(err)
	}
	handle := func(ctx context.Context, m *wrapperspb.StringValue) error {
		id := metadata.FromIncomingContext(ctx).Get("ce-id")
		switch m.GetValue() {
		case "flaky":
			n, err := countAttempt(filepath.Join(attempts, id))
			if err != nil {
				return err
			}
			if n <= 2 {
				return fmt.Errorf("flaky event %s: delivery %d fails", id, n)
			}
		case "poison":
			if _, err := countAttempt(filepath.Join(attempts, id)); err != nil {
				return err
			}
			return fmt.Errorf("poison event %s always fails", id)
		}
		// The handler's work: slower than publishing, so that the nodes have
		// events waiting, taken but not acknowledged, when one is stopped.
		time.Sleep(time.Millisecond)
		// One write of a short line to a file opened for appending: whole,
		// whatever other node writes at the same time, and kept by the
		// kernel when this process is killed right after.
		_, err := record.WriteString(id + "\n")
		return err
	}
	if err := broker.Subscribe(svc.Broker(), processTopic, handle, broker.WithBackoff(20*time.Millisecond, 100*time.Millisecond)); err != nil {
		return fail(err)
	}
	fmt.Println("ready") //nolint:forbidigo // the node tells the test it is subscribed on its standard output
	if err := svc.Run(ctx); err != nil {
		return fail(err)
	}
	return 0
}

// countAttempt adds one to the count kept in file, whichever node counts,
// and returns the new count.
func countAttempt(file string) (int, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write([]byte{'x'}); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return int(info.Size()), nil
}

// node is one running node process.
type node struct {
	name   string
	cmd    *exec.Cmd
	stderr testutil.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // of Wait, once done
}

// startNode starts node name of the service, recording into dir, and
// waits until it is subscribed.
func startNode(t *testing.T, name, url, dir string) *node {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, done: make(chan struct{})}
	n.cmd = exec.Command(exe, "-test.run=^$")
	n.cmd.Env = append(os.Environ(),
		nodeEnv+"="+name, nodeURL+"="+url,
		nodeRecord+"="+filepath.Join(dir, "handled-"+name), nodeAttempts+"="+dir,
		"MICRO_LOG_LEVEL=warn")
	n.cmd.Stderr = &n.stderr
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	ready := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		ok := scanner.Scan() && scanner.Text() == "ready"
		ready <- ok
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		<-n.done
	})
	select {
	case ok := <-ready:
		if !ok {
			<-n.done
			t.Fatalf("node %s did not start: %v\n%s", name, n.err, n.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("node %s not ready after a minute:\n%s", name, n.stderr.String())
	}
	return n
}

// signal sends sig to the node and waits, up to a minute, for it to exit.
func (n *node) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal node %s: %v", n.name, err)
	}
	select {
	case <-n.done:
	case <-time.After(time.Minute):
		t.Fatalf("node %s still running a minute after %s:\n%s", n.name, sig, n.stderr.String())
	}
}

// handled reads the IDs the nodes recorded in dir: how many times each was
// handled.
func handled(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "handled-*"))
	if err != nil {
		t.Fatal(err)
	}
	counts := make(map[string]int)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Whole lines only: a node may be writing the last one.
		lines := strings.Split(string(data), "\n")
		for _, id := range lines[:len(lines)-1] {
			if id != "" {
				counts[id]++
			}
		}
	}
	return counts
}

// processEvents is how many events TestAcrossProcesses publishes.
func processEvents() int {
	if n, err := strconv.Atoi(os.Getenv("MICRO_NATS_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// TestAcrossProcesses runs two nodes of a service subscribed through a real
// nats-server with JetStream, each its own process, and publishes events
// while one node is killed with SIGKILL and then another is stopped with
// SIGTERM, each replaced by a new node: every event is handled at least
// once, and exactly once counting by ID; an event whose handler fails twice
// is handled on its third delivery, and one whose handler always fails
// reaches the dead-letter topic with its delivery count.
func TestAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes and publishes thousands of events")
	}
	total := processEvents()
	url := startServer(t).ClientURL()
	dir := t.TempDir()
	b := newBroker(t, url)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	dead := make(chan *broker.Event, 1)
	if err := b.Subscribe(processTopic+".dead", func(ctx context.Context, e *broker.Event) error {
		dead <- e
		return nil
	}, broker.WithGroup("test")); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	a := startNode(t, "a", url, dir)
	bNode := startNode(t, "b", url, dir)

	// A flaky event and a poison one.
	for id, value := range map[string]string{"flaky-1": "flaky", "poison-1": "poison"} {
		if err := broker.Publish(ctx, b, processTopic, wrapperspb.String(value), broker.WithID(id)); err != nil {
			t.Fatalf("Publish(%s): %v", id, err)
		}
	}
	select {
	case e := <-dead:
		if e.ID != "poison-1" {
			t.Errorf("dead letter %q, want poison-1", e.ID)
		}
		if got := e.Extensions[broker.ExtensionDeliveryCount]; got != "5" {
			t.Errorf("dead letter delivery count = %q, want 5 (the default maximum)", got)
		}
		if got := e.Extensions[broker.ExtensionDeadLetterReason]; !strings.Contains(got, "always fails") {
			t.Errorf("dead letter reason = %q, want the handler's error", got)
		}
		if got := e.Extensions[broker.ExtensionOriginTopic]; got != processTopic {
			t.Errorf("dead letter origin topic = %q, want %s", got, processTopic)
		}
	case <-ctx.Done():
		t.Fatal("timed out waiting for the poison event's dead letter")
	}
	testutil.WaitFor(t, "the flaky event to be handled", func() bool { return handled(t, dir)["flaky-1"] > 0 })

	// The stream. The publisher holds back the last events until each
	// node has been stopped, so that both stops come mid-stream.
	ids := make([]string, total)
	for i := range ids {
		ids[i] = fmt.Sprintf("event-%05d", i)
	}
	killed, terminated := make(chan struct{}), make(chan struct{})
	work := make(chan string)
	go func() {
		defer close(work)
		for i, id := range ids {
			switch i {
			case total * 4 / 10:
				<-killed
			case total * 7 / 10:
				<-terminated
			}
			select {
			case work <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	var publishers sync.WaitGroup
	publishErrs := make(chan error, 4)
	for range 4 {
		publishers.Go(func() {
			for id := range work {
				if err := broker.Publish(ctx, b, processTopic, wrapperspb.String("ok"), broker.WithID(id)); err != nil {
					publishErrs <- fmt.Errorf("publish %s: %w", id, err)
					cancel()
					return
				}
			}
		})
	}
	waitHandled := func(what string, n int) map[string]int {
		t.Helper()
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			counts := handled(t, dir)
			got := 0
			for _, id := range ids {
				if counts[id] > 0 {
					got++
				}
			}
			if got >= n {
				return counts
			}
			select {
			case <-ticker.C:
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s: %d of %d events handled", what, got, n)
			}
		}
	}
	start := time.Now()
	waitHandled("a fifth of the events", total/5)
	a.signal(t, syscall.SIGKILL)
	logPending(ctx, t, "node a killed", url)
	startNode(t, "a2", url, dir)
	close(killed)
	waitHandled("half the events", total/2)
	bNode.signal(t, syscall.SIGTERM)
	if bNode.err != nil {
		t.Errorf("node b after SIGTERM: %v, want a clean exit\n%s", bNode.err, bNode.stderr.String())
	}
	logPending(ctx, t, "node b stopped", url)
	startNode(t, "b2", url, dir)
	close(terminated)
	counts := waitHandled("every event", total)
	publishers.Wait()
	close(publishErrs)
	for err := range publishErrs {
		t.Error(err)
	}
	t.Logf("%d events handled by 4 nodes in %s", total, time.Since(start).Round(time.Millisecond))

	duplicates := 0
	for id, n := range counts {
		if n > 1 {
			duplicates += n - 1
		}
		if n > 1 && !strings.HasPrefix(id, "event-") {
			t.Errorf("event %s handled %d times", id, n)
		}
	}
	// Redeliveries, of the events the killed node had taken without
	// acknowledging, are what the IDs are for.
	t.Logf("%d deliveries handled again (by ID, each event counts once)", duplicates)
	if want := total + 1; len(counts) != want {
		t.Errorf("%d distinct IDs handled, want %d (the events and the flaky one)", len(counts), want)
	}
	for _, name := range []string{"flaky-1", "poison-1"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"flaky-1": 3, "poison-1": 5}[name]
		if info.Size() != want {
			t.Errorf("%s delivered to its handler %d times, want %d", name, info.Size(), want)
		}
	}
	if counts["poison-1"] != 0 {
		t.Error("the poison event was recorded as handled")
	}
}

// logPending logs how many events the service's consumer has delivered
// without an acknowledgement: after a node is killed, those it held, which
// the server redelivers after the ack wait.
func logPending(ctx context.Context, t *testing.T, when, url string) {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "MICRO_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	for info := range stream.ListConsumers(ctx).Info() {
		if info.Config.FilterSubject == "micro.events."+processTopic {
			t.Logf("%s: %d events delivered and not acknowledged, %d waiting", when, info.NumAckPending, info.NumPending)
		}
	}
}
