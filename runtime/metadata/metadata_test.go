package metadata

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	md := New("Trace-ID", "1", "tag", "a", "tag", "b")
	if diff := cmp.Diff(Metadata{"trace-id": {"1"}, "tag": {"a", "b"}}, md); diff != "" {
		t.Errorf("New mismatch (-want +got):\n%s", diff)
	}
	if got := md.Get("TRACE-ID"); got != "1" {
		t.Errorf("Get(%q) = %q, want %q", "TRACE-ID", got, "1")
	}
	if got := md.Get("missing"); got != "" {
		t.Errorf("Get(%q) = %q, want empty", "missing", got)
	}
	md.Set("Tag", "c")
	md.Append("TAG", "d")
	if diff := cmp.Diff([]string{"c", "d"}, md.Values("tag")); diff != "" {
		t.Errorf("Values after Set and Append mismatch (-want +got):\n%s", diff)
	}
	md.Delete("Trace-Id")
	if _, ok := md["trace-id"]; ok {
		t.Errorf("Delete(%q) left the key", "Trace-Id")
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if md := FromContext(ctx); md != nil {
		t.Errorf("FromContext(empty) = %v, want nil", md)
	}
	parent := NewContext(ctx, New("a", "1"))
	child := AppendToContext(parent, "b", "2", "a", "3")
	if diff := cmp.Diff(Metadata{"a": {"1"}}, FromContext(parent)); diff != "" {
		t.Errorf("AppendToContext changed the parent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Metadata{"a": {"1", "3"}, "b": {"2"}}, FromContext(child)); diff != "" {
		t.Errorf("child metadata mismatch (-want +got):\n%s", diff)
	}
}

func TestOddPairsPanic(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("New with an odd number of strings did not panic")
		}
	}()
	New("lonely") //nolint:staticcheck // the odd count is what this test is about
}
