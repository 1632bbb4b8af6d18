package broker_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/metadata"
)

// TestForService checks a service's defaults, and that options given to
// Publish and Subscribe win over them.
func TestForService(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	raw := memory.New()
	defer raw.Close(ctx)
	b := broker.ForService(raw, "orders")
	sources := make(chan string, 4)
	record := func(ctx context.Context, _ *wrapperspb.StringValue) error {
		sources <- metadata.FromIncomingContext(ctx).Get("ce-source")
		return nil
	}
	// Two handlers of one service on one topic share its group, unless one
	// says otherwise.
	if err := broker.Subscribe(b, "t", record); err != nil {
		t.Fatal(err)
	}
	if err := broker.Subscribe(b, "t", record, broker.WithGroup("audit")); err != nil {
		t.Fatal(err)
	}
	if err := broker.Publish(ctx, b, "t", wrapperspb.String("a")); err != nil {
		t.Fatal(err)
	}
	if err := broker.Publish(ctx, b, "t", wrapperspb.String("b"), broker.WithSource("billing")); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 4 {
		select {
		case s := <-sources:
			got[s]++
		case <-ctx.Done():
			t.Fatalf("timed out; sources so far %v", got)
		}
	}
	if got["orders"] != 2 || got["billing"] != 2 {
		t.Errorf("sources = %v, want orders (the service's name) and billing (WithSource) twice each, once per group", got)
	}
}
