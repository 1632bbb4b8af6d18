package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestSubscribe publishes with micro publish, a message type micro reads
// through reflection, until micro subscribe prints it as a CloudEvent.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	ctx := testutil.Context(t)
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"subscribe", "--broker_address", dir, "--count", "1", "streaming.v1.EchoRequest"}, w.env, nil, &stdout, &stderr)
	}()
	// The subscription gets the events published once it has begun: publish
	// until one arrives.
	var status int
	for published := false; !published; {
		var out, errOut bytes.Buffer
		if code := run(ctx, []string{"publish", "--broker_address", dir, "--source", "test", "--id", "e1", "streaming.v1.EchoRequest", `{"message": "hi"}`}, w.env, nil, &out, &errOut); code != 0 {
			t.Fatalf("micro publish exited with %d: %s", code, errOut.String())
		}
		select {
		case status = <-done:
			published = true
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("timed out waiting for micro subscribe to print an event")
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
		Data                                           map[string]any
	}
	if err := json.Unmarshal([]byte(lines[0]), &event); err != nil {
		t.Fatalf("micro subscribe printed %q: %v", lines[0], err)
	}
	if event.ID != "e1" || event.Source != "test" || event.Type != "streaming.v1.EchoRequest" || event.Specversion != "1.0" ||
		event.Datacontenttype != "application/protobuf" || event.Data["message"] != "hi" {
		t.Errorf("micro subscribe printed %s, want the event published, its message decoded", lines[0])
	}
}

// TestSubscribeInterrupted checks that micro subscribe, interrupted while it
// waits for events, exits with status 130 and says so.
func TestSubscribeInterrupted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	ctx, interrupt := context.WithCancel(testutil.Context(t))
	defer interrupt()
	var stdout, stderr testutil.Buffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"subscribe", "--broker_address", dir, "notes"}, w.env, nil, &stdout, &stderr)
	}()
	// Interrupt once it prints events.
	testutil.WaitFor(t, "micro subscribe to print an event", func() bool {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), []string{"publish", "--broker_address", dir, "--type", "google.protobuf.StringValue", "notes", `"n"`}, w.env, nil, &out, &errOut); code != 0 {
			t.Fatalf("micro publish exited with %d: %s", code, errOut.String())
		}
		return strings.Contains(stdout.String(), `"data":"n"`)
	})
	interrupt()
	select {
	case got := <-status:
		if got != 130 || stderr.String() != "micro: interrupted\n" {
			t.Errorf("micro subscribe, interrupted = %d, stderr %q; want 130, %q", got, stderr.String(), "micro: interrupted\n")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("micro subscribe did not return after the interrupt")
	}
}
