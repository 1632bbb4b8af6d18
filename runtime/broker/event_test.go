package broker

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	e := &Event{
		ID: "1", Source: "orders", Type: "orders.v1.Created",
		Time:            time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		DataContentType: ContentTypeJSON,
		Extensions:      map[string]string{"traceparent": "00-1-2-01"},
		Data:            []byte(`{}`),
	}
	got, err := ParseEvent(e.Header(), e.Data)
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("ParseEvent(Header()) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEventInvalid(t *testing.T) {
	t.Parallel()
	valid := func() map[string][]string {
		return (&Event{ID: "1", Source: "s", Type: "t"}).Header()
	}
	for _, tt := range []struct {
		name   string
		change func(map[string][]string)
	}{
		{"no specversion", func(h map[string][]string) { delete(h, "ce-specversion") }},
		{"specversion 0.3", func(h map[string][]string) { h["ce-specversion"] = []string{"0.3"} }},
		{"no id", func(h map[string][]string) { delete(h, "ce-id") }},
		{"bad time", func(h map[string][]string) { h["ce-time"] = []string{"yesterday"} }},
		{"unknown content type", func(h map[string][]string) { h["content-type"] = []string{"text/plain"} }},
		{"bad extension", func(h map[string][]string) { h["ce-bad_name"] = []string{"x"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := valid()
			tt.change(h)
			if _, err := ParseEvent(h, nil); err == nil {
				t.Errorf("ParseEvent(%v) = nil error, want one", h)
			}
			// Its dead letter is an event all the same.
			dead := DeadLetterHeader(h, "topic", "reason", 1)
			if _, err := ParseEvent(dead, nil); err != nil {
				t.Errorf("ParseEvent(DeadLetterHeader(%v)): %v", h, err)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	s, err := NewSubscription("t", func(ctx context.Context, e *Event) error { return nil }, WithBackoff(time.Second, 5*time.Second))
	if err != nil {
		t.Fatalf("NewSubscription: %v", err)
	}
	for delivery, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 40: 5 * time.Second} {
		if got := s.Backoff(delivery); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", delivery, got, want)
		}
	}
}
