package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/golden/events"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestPublishDeclaredTopic publishes on topics that message types declare
// in their proto (testdata/proto/events), which micro reads only through a
// running service's reflection: it finds the type from the topic, refuses
// another type naming both, and asks for --type when no type declares the
// topic.
func TestPublishDeclaredTopic(t *testing.T) {
	t.Parallel()
	w := &world{dir: t.TempDir(), vars: map[string]string{}}
	reg, err := local.New(local.WithDir(w.dir))
	if err != nil {
		t.Fatal(err)
	}
	w.startService(t, reg, "orders", "v1.0.0", func(s server.Server) error {
		return events.RegisterOrdersHandler(s, events.UnimplementedOrdersHandler{})
	})
	dir := t.TempDir()
	publish := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"publish", "--broker_address", dir}, args...), w.env, nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	b, err := micro.NewBroker("local", dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Context(t)
	defer func() { _ = b.Close(ctx) }()
	got := make(chan string, 100)
	if err := events.SubscribeOrderCreated(b, func(_ context.Context, e *events.OrderCreated) error {
		got <- e.GetId()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The subscription gets the events published once it has begun: publish
	// until one arrives.
	testutil.WaitFor(t, "an event published by micro publish on "+events.OrderCreatedTopic, func() bool {
		if code, _, stderr := publish(events.OrderCreatedTopic, `{"id": "o-1"}`); code != 0 {
			t.Fatalf("micro publish %s exited with %d: %s", events.OrderCreatedTopic, code, stderr)
		}
		select {
		case id := <-got:
			if id != "o-1" {
				t.Fatalf("handled order %q, want o-1", id)
			}
			return true
		default:
			return false
		}
	})

	// A nested message's topic is found too.
	if code, _, stderr := publish(events.OrderCreatedLineTopic, `{"sku": "tea"}`); code != 0 {
		t.Errorf("micro publish %s exited with %d: %s", events.OrderCreatedLineTopic, code, stderr)
	}
	code, _, stderr := publish("--type", "events.v1.CreateRequest", events.OrderCreatedTopic, `{"item": "tea"}`)
	if code != 2 || !strings.Contains(stderr, "events.v1.OrderCreated") || !strings.Contains(stderr, "events.v1.CreateRequest") {
		t.Errorf("micro publish of the wrong type on %s = %d, %q; want status 2 and both types named", events.OrderCreatedTopic, code, stderr)
	}
	code, _, stderr = publish("orders.unknown", `{}`)
	if code != 2 || !strings.Contains(stderr, `"orders.unknown"`) || !strings.Contains(stderr, "--type") {
		t.Errorf("micro publish on a topic no type declares = %d, %q; want status 2 and a request for --type", code, stderr)
	}
}
