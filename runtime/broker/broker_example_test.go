package broker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/memory"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := memory.New()
	defer b.Close(ctx)

	handled := make(chan string)
	// The topic defaults to the message's full name.
	err := broker.Subscribe(b, "", func(ctx context.Context, m *wrapperspb.StringValue) error {
		handled <- m.GetValue()
		return nil
	}, broker.WithGroup("greeter"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := broker.Publish(ctx, b, "", wrapperspb.String("hello"), broker.WithSource("example")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-handled)
	// Output: hello
}

func ExampleDrop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := memory.New()
	defer b.Close(ctx)

	dead := make(chan *broker.Event)
	_ = b.Subscribe("orders.dead", func(ctx context.Context, e *broker.Event) error {
		dead <- e
		return nil
	}, broker.Broadcast())
	_ = broker.Subscribe(b, "orders", func(ctx context.Context, m *wrapperspb.StringValue) error {
		return broker.Drop(errors.New("no such order"))
	})
	_ = broker.Publish(ctx, b, "orders", wrapperspb.String("order 7"))
	e := <-dead
	fmt.Println(e.Extensions[broker.ExtensionDeadLetterReason], e.Extensions[broker.ExtensionDeliveryCount])
	// Output: no such order 1
}
