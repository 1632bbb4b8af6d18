package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHandle(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	fail := errors.New("boom")
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		handler  Handler
		delivery int
		want     Verdict
	}{
		{"nil acks", t.Context(), func(context.Context, *Event) error { return nil }, 1, Verdict{Action: Ack}},
		{"error retries", t.Context(), func(context.Context, *Event) error { return fail }, 2, Verdict{Action: Retry, Delay: 2 * time.Second}},
		{"error on the last delivery", t.Context(), func(context.Context, *Event) error { return fail }, 3, Verdict{Action: DeadLetter, Reason: "boom"}},
		{"drop", t.Context(), func(context.Context, *Event) error { return Drop(fail) }, 1, Verdict{Action: DeadLetter, Reason: "boom"}},
		{"panic retries", t.Context(), func(context.Context, *Event) error { panic("bug") }, 1, Verdict{Action: Retry, Delay: time.Second}},
		{"panic on the last delivery", t.Context(), func(context.Context, *Event) error { panic("bug") }, 3, Verdict{Action: DeadLetter, Reason: `handler of "t" panicked: bug`}},
		{"interrupted", canceled, func(ctx context.Context, _ *Event) error { return ctx.Err() }, 3, Verdict{Action: Abandon}},
		{"never acknowledged", t.Context(), func(context.Context, *Event) error { t.Error("handler ran"); return nil }, 4, Verdict{Action: DeadLetter, Reason: "delivered 3 times without an acknowledgement"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSubscription("t", tt.handler, WithMaxDeliveries(3), WithBackoff(time.Second, time.Minute))
			if err != nil {
				t.Fatalf("NewSubscription: %v", err)
			}
			got := s.Handle(tt.ctx, &Event{ID: "1", Source: "s", Type: "t"}, tt.delivery)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Handle mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewSubscriptionDefaults(t *testing.T) {
	t.Parallel()
	s, err := NewSubscription("orders", func(context.Context, *Event) error { return nil })
	if err != nil {
		t.Fatalf("NewSubscription: %v", err)
	}
	if s.Group == "" || s.MaxDeliveries != 5 || s.DeadLetterTopic != "orders.dead" || s.Backoff(1) != 500*time.Millisecond {
		t.Errorf("defaults: group %q, max deliveries %d, dead-letter topic %q, first backoff %v; want the program's name, 5, orders.dead, 500ms",
			s.Group, s.MaxDeliveries, s.DeadLetterTopic, s.Backoff(1))
	}
	b, err := NewSubscription("orders", func(context.Context, *Event) error { return nil }, WithGroup("g"), Broadcast())
	if err != nil {
		t.Fatalf("NewSubscription: %v", err)
	}
	if b.Group != "" {
		t.Errorf("Broadcast after WithGroup: group %q, want none", b.Group)
	}
}

// The observers hear of every delivery: the handler's outcome, the verdict,
// and those the handler never saw (undecodable, or delivered too often).
func TestObserver(t *testing.T) {
	t.Parallel()
	var got []Delivery
	observe := func(d Delivery) {
		d.Duration = 0 // how long is the clock's business
		got = append(got, d)
	}
	fail := errors.New("boom")
	s, err := NewSubscription("t", func(_ context.Context, e *Event) error {
		if e.ID == "bad" {
			return fail
		}
		return nil
	}, WithGroup("g"), WithMaxDeliveries(2), WithBackoff(time.Second, time.Minute), WithObserver(observe), WithObserver(nil))
	if err != nil {
		t.Fatalf("NewSubscription: %v", err)
	}
	s.Handle(t.Context(), &Event{ID: "good"}, 1)
	s.Handle(t.Context(), &Event{ID: "bad"}, 1)
	s.Handle(t.Context(), &Event{ID: "bad"}, 2)
	s.Handle(t.Context(), &Event{ID: "good"}, 3)
	s.Reject(fail, 1)
	want := []Delivery{
		{Topic: "t", Group: "g", Number: 1, Handled: true, Verdict: Verdict{Action: Ack}},
		{Topic: "t", Group: "g", Number: 1, Handled: true, Err: fail, Verdict: Verdict{Action: Retry, Delay: time.Second}},
		{Topic: "t", Group: "g", Number: 2, Handled: true, Err: fail, Verdict: Verdict{Action: DeadLetter, Reason: "boom"}},
		{Topic: "t", Group: "g", Number: 3, Verdict: Verdict{Action: DeadLetter, Reason: "delivered 2 times without an acknowledgement"}},
		{Topic: "t", Group: "g", Number: 1, Err: fail, Verdict: Verdict{Action: DeadLetter, Reason: "decode event: boom"}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("observed deliveries mismatch (-want +got):\n%s", diff)
	}
}
