package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestSubscribeNATS has micro subscribe print an event micro publish sent
// through a real nats-server with JetStream, both chosen with --broker nats
// and --broker_address.
func TestSubscribeNATS(t *testing.T) {
	t.Parallel()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server did not start within 20s")
	}
	brokerArgs := []string{"--broker", "nats", "--broker_address", ns.ClientURL()}
	ctx := testutil.Context(t)
	var stdout, stderr testutil.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"subscribe", "--count", "1", "notes"}, brokerArgs...), noEnv, nil, &stdout, &stderr)
	}()
	// The subscription gets the events published once it has begun: publish
	// until one arrives, each event with an ID of its own (JetStream keeps
	// one event of those published with an ID).
	var status int
	ids := map[string]bool{}
	for published := false; !published; {
		id := fmt.Sprintf("n%d", len(ids)+1)
		ids[id] = true
		var out, errOut bytes.Buffer
		args := append([]string{"publish", "--source", "test", "--id", id, "--type", "google.protobuf.StringValue", "notes", `"hello"`}, brokerArgs...)
		if code := run(ctx, args, noEnv, nil, &out, &errOut); code != 0 {
			t.Fatalf("micro publish exited with %d: %s", code, errOut.String())
		}
		if got := strings.TrimSpace(out.String()); got != id {
			t.Errorf("micro publish printed %q, want the event's ID %s", got, id)
		}
		select {
		case status = <-done:
			published = true
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("timed out waiting for micro subscribe to print an event; stderr: %s", stderr.String())
		}
	}
	if status != 0 {
		t.Fatalf("micro subscribe exited with %d: %s", status, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("micro subscribe --count 1 printed %d lines, want 1:\n%s", len(lines), stdout.String())
	}
	var event struct {
		ID, Source, Type, Specversion, Datacontenttype string
		Data                                           string
	}
	if err := json.Unmarshal([]byte(lines[0]), &event); err != nil {
		t.Fatalf("micro subscribe printed %q: %v", lines[0], err)
	}
	if !ids[event.ID] || event.Source != "test" || event.Type != "google.protobuf.StringValue" || event.Specversion != "1.0" ||
		event.Datacontenttype != "application/protobuf" || event.Data != "hello" {
		t.Errorf("micro subscribe printed %s, want the event published, its message decoded", lines[0])
	}
}
