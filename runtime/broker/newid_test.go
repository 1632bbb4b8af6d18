package broker

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestNewEventIDs checks that the IDs events get by default, their
// deduplication keys, differ from event to event and from goroutine to
// goroutine, and keep the form crypto/rand.Text gives.
func TestNewEventIDs(t *testing.T) {
	const goroutines, each = 4, 10000
	ids := make(chan string, goroutines*each)
	errs := make(chan error, goroutines)
	for range goroutines {
		go func() {
			for range each {
				e, err := NewEvent(context.Background(), &wrapperspb.StringValue{})
				if err != nil {
					errs <- err
					return
				}
				ids <- e.ID
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatalf("NewEvent: %v", err)
		}
	}
	close(ids)
	seen := make(map[string]bool, goroutines*each)
	for id := range ids {
		if len(id) != 26 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("ID %q: want 26 characters of the base32 alphabet", id)
		}
		if seen[id] {
			t.Fatalf("ID %q given to two events", id)
		}
		seen[id] = true
	}
}
