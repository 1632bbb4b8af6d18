package rpc

import "testing"

func TestSplitProcedure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		procedure       string
		service, method string
	}{
		{"/greeter.v1.Greeter/Hello", "greeter.v1.Greeter", "Hello"},
		{"/Greeter/Hello", "Greeter", "Hello"},
		{"greeter.v1.Greeter/Hello", "", ""},
		{"/greeter.v1.Greeter", "", ""},
		{"/greeter.v1.Greeter/", "", ""},
		{"//Hello", "", ""},
		{"/a/b/c", "", ""},
		{"", "", ""},
	} {
		service, method := SplitProcedure(tt.procedure)
		if service != tt.service || method != tt.method {
			t.Errorf("SplitProcedure(%q) = %q, %q, want %q, %q", tt.procedure, service, method, tt.service, tt.method)
		}
	}
}

func TestStreamType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ            StreamType
		client, server bool
		name           string
	}{
		{Unary, false, false, "unary"},
		{ClientStream, true, false, "client_stream"},
		{ServerStream, false, true, "server_stream"},
		{BidiStream, true, true, "bidi_stream"},
	} {
		if got := tt.typ.IsClientStream(); got != tt.client {
			t.Errorf("%v.IsClientStream() = %v, want %v", tt.typ, got, tt.client)
		}
		if got := tt.typ.IsServerStream(); got != tt.server {
			t.Errorf("%v.IsServerStream() = %v, want %v", tt.typ, got, tt.server)
		}
		if got := tt.typ.String(); got != tt.name {
			t.Errorf("StreamType(%d).String() = %q, want %q", tt.typ, got, tt.name)
		}
	}
}

func TestIdempotencyRetryable(t *testing.T) {
	t.Parallel()
	if IdempotencyUnknown.Retryable() {
		t.Error("IdempotencyUnknown.Retryable() = true, want false")
	}
	if !NoSideEffects.Retryable() || !Idempotent.Retryable() {
		t.Error("NoSideEffects and Idempotent must be retryable")
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for typ := Unary; typ <= BidiStream; typ++ {
		text, _ := typ.MarshalText()
		var got StreamType
		if err := got.UnmarshalText(text); err != nil || got != typ {
			t.Errorf("StreamType round trip of %q = %v, %v, want %v", text, got, err, typ)
		}
	}
	for level := IdempotencyUnknown; level <= Idempotent; level++ {
		text, _ := level.MarshalText()
		var got Idempotency
		if err := got.UnmarshalText(text); err != nil || got != level {
			t.Errorf("Idempotency round trip of %q = %v, %v, want %v", text, got, err, level)
		}
	}
	var typ StreamType
	if err := typ.UnmarshalText([]byte("sideways")); err == nil {
		t.Error(`StreamType.UnmarshalText("sideways") succeeded, want an error`)
	}
	var level Idempotency
	if err := level.UnmarshalText([]byte("mostly")); err == nil {
		t.Error(`Idempotency.UnmarshalText("mostly") succeeded, want an error`)
	}
}
