package micro_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/runtime/broker"
	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/golden/events"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestRegistrationListsSubscriptions checks that the topics a service
// consumes are in its registration, typed or raw, made before it started or
// after (from the next heartbeat), so that micro describe and the dashboard
// show them.
func TestRegistrationListsSubscriptions(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	b := brokermemory.New()
	defer func() { _ = b.Close(context.Background()) }()
	svc, err := micro.NewService("shipping", micro.WithRegistry(reg), micro.WithBroker(b), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithHeartbeat(50*time.Millisecond), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := events.SubscribeOrderCreated(svc.Broker(), func(context.Context, *events.OrderCreated) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	}()
	registered := func() []registry.Subscription {
		got, err := reg.GetService(t.Context(), "shipping")
		if err != nil {
			return nil
		}
		return got[0].Subscriptions
	}
	testutil.WaitFor(t, "registration", func() bool { return registered() != nil })
	want := []registry.Subscription{{Topic: events.OrderCreatedTopic, Group: "shipping", Type: "events.v1.OrderCreated"}}
	if diff := cmp.Diff(want, registered()); diff != "" {
		t.Errorf("subscriptions at start (-want +got):\n%s", diff)
	}

	if err := svc.Broker().Subscribe("audit.all", func(context.Context, *broker.Event) error { return nil }, broker.Broadcast()); err != nil {
		t.Fatal(err)
	}
	want = append(want, registry.Subscription{Topic: "audit.all"})
	testutil.WaitFor(t, "the later subscription to be registered", func() bool { return slices.Equal(registered(), want) })
}
