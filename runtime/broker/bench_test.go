package broker

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkEventHeader is what building an event's headers costs, as
// backends do for each event they publish.
func BenchmarkEventHeader(b *testing.B) {
	e, err := NewEvent(context.Background(), &wrapperspb.BytesValue{Value: make([]byte, 64)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Header()
	}
}

// BenchmarkSubscriptionHandle is what a delivery costs beyond the backend:
// Handle running a typed handler that decodes the event and reads none of
// its metadata.
func BenchmarkSubscriptionHandle(b *testing.B) {
	e, err := NewEvent(context.Background(), &wrapperspb.BytesValue{Value: make([]byte, 64)})
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSubscription("bench.handle", func(_ context.Context, e *Event) error {
		var m wrapperspb.BytesValue
		return e.Decode(&m)
	}, WithGroup("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Handle(context.Background(), e, 1); v.Action != Ack {
			b.Fatalf("verdict %v, want Ack", v)
		}
	}
}
