package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/authtest"
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

// TestPublishToken publishes with --token to a service with auth whose
// subscription requires one: the handler gets the token's claims; without
// a token the event is dead-lettered, saying why.
func TestPublishToken(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	dir := t.TempDir()
	b, err := micro.NewBroker("local", dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Context(t)
	defer func() { _ = b.Close(ctx) }()
	svc, err := micro.NewService("notes", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithLogger(slog.New(slog.DiscardHandler)), micro.WithBroker(b), micro.WithAuth(keys.Verifier(t)))
	if err != nil {
		t.Fatal(err)
	}
	subjects := make(chan string, 100)
	if err := broker.Subscribe(svc.Broker(), "notes", func(ctx context.Context, _ *wrapperspb.StringValue) error {
		subjects <- auth.FromContext(ctx).Subject
		return nil
	}, broker.RequireToken()); err != nil {
		t.Fatal(err)
	}
	reasons := make(chan string, 100)
	if err := b.Subscribe("notes.dead", func(_ context.Context, e *broker.Event) error {
		reasons <- e.Extensions[broker.ExtensionDeadLetterReason]
		return nil
	}, broker.WithGroup("test")); err != nil {
		t.Fatal(err)
	}
	publish := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"publish", "--broker_address", dir, "--type", "google.protobuf.StringValue", "notes", `"hi"`}, args...)
		if code := run(t.Context(), args, noEnv, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("micro %s = %d: %s", strings.Join(args, " "), code, stderr.String())
		}
	}
	testutil.WaitFor(t, "an event published with --token to be handled", func() bool {
		publish("--token", keys.Token(t))
		select {
		case subject := <-subjects:
			if subject != "ada" {
				t.Fatalf("the handler got claims of %q, want ada", subject)
			}
			return true
		default:
			return false
		}
	})
	publish()
	select {
	case reason := <-reasons:
		if !strings.Contains(reason, "needs a bearer token") {
			t.Errorf("dead-letter reason of an event without a token = %q, want it to say it needs one", reason)
		}
	case <-ctx.Done():
		t.Fatal("the event without a token was not dead-lettered")
	}
}
