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

func TestOutgoingContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if md := FromOutgoingContext(ctx); md != nil {
		t.Errorf("FromOutgoingContext(empty) = %v, want nil", md)
	}
	parent := NewOutgoingContext(ctx, New("a", "1"))
	child := AppendToOutgoingContext(parent, "b", "2", "a", "3")
	if diff := cmp.Diff(Metadata{"a": {"1"}}, FromOutgoingContext(parent)); diff != "" {
		t.Errorf("AppendToOutgoingContext changed the parent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Metadata{"a": {"1", "3"}, "b": {"2"}}, FromOutgoingContext(child)); diff != "" {
		t.Errorf("child metadata mismatch (-want +got):\n%s", diff)
	}
	if md := FromIncomingContext(child); md != nil {
		t.Errorf("FromIncomingContext of an outgoing context = %v, want nil: the directions are apart", md)
	}
}

func TestIncomingContext(t *testing.T) {
	t.Parallel()
	loads := 0
	ctx := NewIncomingContextFunc(context.Background(), func(context.Context) Metadata {
		loads++
		return New("authorization", "secret")
	})
	for range 2 {
		if got := FromIncomingContext(ctx).Get("authorization"); got != "secret" {
			t.Errorf("FromIncomingContext(...).Get(authorization) = %q, want %q", got, "secret")
		}
	}
	if loads != 1 {
		t.Errorf("the loader ran %d times, want once", loads)
	}
	if md := FromOutgoingContext(ctx); md != nil {
		t.Errorf("FromOutgoingContext of an incoming context = %v, want nil: the directions are apart", md)
	}
}

func TestIsCredential(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"authorization": true, "Authorization": true, "proxy-authorization": true, "cookie": true,
		"x-api-key": true, "x-auth-token": true, "x-request-id": false, "traceparent": false,
	} {
		if got := IsCredential(key); got != want {
			t.Errorf("IsCredential(%q) = %v, want %v", key, got, want)
		}
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

func TestValuesFromIncomingContext(t *testing.T) {
	t.Parallel()
	if _, ok := ValuesFromIncomingContext(context.Background(), "authorization"); ok {
		t.Error("ValuesFromIncomingContext outside a handler: ok = true, want false")
	}
	ctx := NewIncomingContext(context.Background(), New("authorization", "Bearer a"))
	if got, ok := ValuesFromIncomingContext(ctx, "Authorization"); !ok || !cmp.Equal(got, []string{"Bearer a"}) {
		t.Errorf("ValuesFromIncomingContext = %q, %t, want [Bearer a], true", got, ok)
	}

	sent := New("authorization", "Bearer b", "x-other", "1")
	loads, lookups := 0, 0
	ctx = NewIncomingContextLookup(context.Background(),
		func(context.Context) Metadata { loads++; return sent.Clone() },
		func(_ context.Context, key string) []string { lookups++; return sent[key] })
	if got, _ := ValuesFromIncomingContext(ctx, "AUTHORIZATION"); !cmp.Equal(got, []string{"Bearer b"}) || loads != 0 || lookups != 1 {
		t.Errorf("before loading: values %q, %d loads, %d lookups; want [Bearer b] looked up alone", got, loads, lookups)
	}
	if got := FromIncomingContext(ctx); !cmp.Equal(got, sent) || loads != 1 {
		t.Errorf("FromIncomingContext = %v after %d loads, want %v loaded once", got, loads, sent)
	}
	if got, _ := ValuesFromIncomingContext(ctx, "x-other"); !cmp.Equal(got, []string{"1"}) || lookups != 1 {
		t.Errorf("after loading: values %q, %d lookups; want [1] from the loaded metadata", got, lookups)
	}
}
