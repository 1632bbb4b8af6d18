package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/testdata/golden/events"
)

// TestDeclaredTopic publishes through the generated functions of a message
// that declares its topic in the proto, and checks that the topic is the
// declared one whichever way the event is published or subscribed to.
func TestDeclaredTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b := memory.New()
	defer func() { _ = b.Close(ctx) }()

	raw := make(chan *broker.Event, 2)
	if err := b.Subscribe("orders.created", func(_ context.Context, e *broker.Event) error {
		raw <- e
		return nil
	}, broker.Broadcast()); err != nil {
		t.Fatal(err)
	}
	typed := make(chan string, 2)
	if err := events.SubscribeOrderCreated(b, func(_ context.Context, m *events.OrderCreated) error {
		typed <- m.GetId()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := events.PublishOrderCreated(ctx, b, &events.OrderCreated{Id: "o-1"}); err != nil {
		t.Fatal(err)
	}
	// With no topic, broker.Publish takes the declared one, not the full name.
	if err := broker.Publish(ctx, b, "", &events.OrderCreated{Id: "o-2"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"o-1", "o-2"} {
		select {
		case got := <-typed:
			if got != want {
				t.Errorf("handled %q, want %q", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s was not handled on %s", want, events.OrderCreatedTopic)
		}
		e := <-raw
		if e.Type != "events.v1.OrderCreated" {
			t.Errorf("event type %q, want events.v1.OrderCreated", e.Type)
		}
	}
}

// TestDeclaredTopicMismatch checks that a topic declared by one message type
// refuses another, naming both, on publish and on subscribe, while a topic
// no message declares takes any type.
func TestDeclaredTopicMismatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b := memory.New()
	defer func() { _ = b.Close(ctx) }()

	err := broker.Publish(ctx, b, events.OrderCreatedTopic, &events.CreateRequest{Item: "tea"})
	if err == nil || !strings.Contains(err.Error(), "events.v1.OrderCreated") || !strings.Contains(err.Error(), "events.v1.CreateRequest") {
		t.Errorf("publish of the wrong type on %s: %v, want an error naming both types", events.OrderCreatedTopic, err)
	}
	err = broker.Subscribe(b, events.OrderCreatedTopic, func(context.Context, *wrapperspb.StringValue) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "events.v1.OrderCreated") || !strings.Contains(err.Error(), "google.protobuf.StringValue") {
		t.Errorf("subscribe of the wrong type to %s: %v, want an error naming both types", events.OrderCreatedTopic, err)
	}
	if err := broker.Publish(ctx, b, "undeclared", &events.CreateRequest{}); err != nil {
		t.Errorf("publish on a topic no type declares: %v", err)
	}
}

// TestDeclaredTopicOf reads the option from a descriptor built at run time
// by a program that did not know the option when it parsed the descriptor,
// as one read through server reflection may be.
func TestDeclaredTopicOf(t *testing.T) {
	wire, err := proto.Marshal(protodesc.ToFileDescriptorProto(events.File_events_events_proto))
	if err != nil {
		t.Fatal(err)
	}
	fdp := new(descriptorpb.FileDescriptorProto)
	if err := (proto.UnmarshalOptions{Resolver: new(protoregistry.Types)}).Unmarshal(wire, fdp); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().ByName("OrderCreated").Messages().ByName("Line")
	if len(md.Options().ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("the option was parsed: the test does not test the unknown-field path")
	}
	if got := broker.TopicOf(md); got != "orders.created.lines" {
		t.Errorf("TopicOf(OrderCreated.Line) = %q, want orders.created.lines", got)
	}
	if got := broker.TopicOf((&events.Untopical{}).ProtoReflect().Descriptor()); got != "events.v1.Untopical" {
		t.Errorf("TopicOf(Untopical) = %q, want its full name", got)
	}
}
