// Package rpc holds the vocabulary that clients, servers and middleware share
// about one remote procedure: its name, whether it streams, whether it is safe
// to retry, and the HTTP routes it is published on.
//
// Generated code and the [server] and [client] packages use these types; most
// programs meet them only in an [Interceptor], the one middleware type of
// both sides, through [Request] and [Spec].
//
// [server]: https://pkg.go.dev/github.com/protomicro/micro/runtime/server
// [client]: https://pkg.go.dev/github.com/protomicro/micro/runtime/client
package rpc

import (
	"fmt"
	"strings"
)

// StreamType says which side of a procedure sends a stream of messages. In
// text (JSON, flags) it is its [StreamType.String] form.
type StreamType uint8

// The four kinds of procedure. The zero value is [Unary].
const (
	Unary        StreamType = iota // one request, one response
	ClientStream                   // a stream of requests, one response
	ServerStream                   // one request, a stream of responses
	BidiStream                     // streams both ways
)

// IsClientStream reports whether the client sends a stream of messages.
func (t StreamType) IsClientStream() bool { return t == ClientStream || t == BidiStream }

// IsServerStream reports whether the server sends a stream of messages.
func (t StreamType) IsServerStream() bool { return t == ServerStream || t == BidiStream }

// String returns "unary", "client_stream", "server_stream" or "bidi_stream".
func (t StreamType) String() string {
	switch t {
	case Unary:
		return "unary"
	case ClientStream:
		return "client_stream"
	case ServerStream:
		return "server_stream"
	case BidiStream:
		return "bidi_stream"
	}
	return fmt.Sprintf("stream_type_%d", uint8(t))
}

// Idempotency is a procedure's declared side effects, from the proto option
// idempotency_level. It decides whether a call may be retried after the
// server may already have run it. In text it is its [Idempotency.String] form.
type Idempotency uint8

// Idempotency levels, in the order of descriptorpb.MethodOptions_IdempotencyLevel.
const (
	// IdempotencyUnknown makes no promise: a call is retried only when the
	// server certainly never saw it.
	IdempotencyUnknown Idempotency = iota
	// NoSideEffects marks a read-only procedure.
	NoSideEffects
	// Idempotent marks a procedure whose repeated calls have the effect of one.
	Idempotent
)

// String returns "unknown", "no_side_effects" or "idempotent".
func (i Idempotency) String() string {
	switch i {
	case IdempotencyUnknown:
		return "unknown"
	case NoSideEffects:
		return "no_side_effects"
	case Idempotent:
		return "idempotent"
	}
	return fmt.Sprintf("idempotency_%d", uint8(i))
}

// MarshalText implements [encoding.TextMarshaler] with [StreamType.String].
func (t StreamType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] for what
// [StreamType.MarshalText] writes.
func (t *StreamType) UnmarshalText(text []byte) error {
	for candidate := Unary; candidate <= BidiStream; candidate++ {
		if string(text) == candidate.String() {
			*t = candidate
			return nil
		}
	}
	return fmt.Errorf("unknown stream type %q: want unary, client_stream, server_stream or bidi_stream", text)
}

// MarshalText implements [encoding.TextMarshaler] with [Idempotency.String].
func (i Idempotency) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] for what
// [Idempotency.MarshalText] writes.
func (i *Idempotency) UnmarshalText(text []byte) error {
	for candidate := IdempotencyUnknown; candidate <= Idempotent; candidate++ {
		if string(text) == candidate.String() {
			*i = candidate
			return nil
		}
	}
	return fmt.Errorf("unknown idempotency %q: want unknown, no_side_effects or idempotent", text)
}

// Retryable reports whether a call may safely run more than once.
func (i Idempotency) Retryable() bool { return i == NoSideEffects || i == Idempotent }

// Spec describes one procedure, as interceptors see it in every [Request]
// and stream.
type Spec struct {
	// Procedure is the gRPC method path, "/greeter.v1.Greeter/Hello".
	Procedure   string
	StreamType  StreamType
	Idempotency Idempotency
	// HTTP lists the procedure's routes from its google.api.http annotation.
	// Servers know them from the generated registration; clients leave it
	// empty. Shared: do not change it.
	HTTP []HTTPRule
	// Access is who may call the procedure, from the (micro.v1.access)
	// option of its method or the (micro.v1.service_access) option of its
	// service; nil when the proto declares neither, and the server's default
	// applies. Servers know it from the generated registration; clients leave
	// it nil. Shared: do not change it.
	Access *Access
}

// Access says who may call a procedure, from micro's proto options
// (micro/v1/options.proto), so that servers, gateways and tools apply the
// same policy without the proto.
type Access struct {
	// Public procedures are called without credentials.
	Public bool `json:"public,omitempty"`
	// Scopes the caller's credentials must all carry, "orders:write". None
	// means any authenticated caller.
	Scopes []string `json:"scopes,omitempty"`
	// Delegate forwards the caller's credentials on the calls the handler
	// makes with its context; without it they are never forwarded.
	Delegate bool `json:"delegate,omitempty"`
}

// Service returns the fully-qualified service name of the procedure,
// "greeter.v1.Greeter" for "/greeter.v1.Greeter/Hello".
func (s Spec) Service() string {
	service, _ := SplitProcedure(s.Procedure)
	return service
}

// Method returns the method name of the procedure, "Hello" for
// "/greeter.v1.Greeter/Hello".
func (s Spec) Method() string {
	_, method := SplitProcedure(s.Procedure)
	return method
}

// SplitProcedure splits "/greeter.v1.Greeter/Hello" into "greeter.v1.Greeter"
// and "Hello". It returns two empty strings when procedure is not of that form.
func SplitProcedure(procedure string) (service, method string) {
	rest, ok := strings.CutPrefix(procedure, "/")
	if !ok {
		return "", ""
	}
	service, method, ok = strings.Cut(rest, "/")
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return "", ""
	}
	return service, method
}

// HTTPRule is one HTTP route of a procedure, taken from its google.api.http
// annotation so that a gateway can route HTTP requests without the proto.
type HTTPRule struct {
	// Method is the HTTP verb: GET, PUT, POST, DELETE, PATCH, or the verb of a
	// custom pattern.
	Method string `json:"method"`
	// Path is the URL template, "/v1/greeter/{name}".
	Path string `json:"path"`
	// Body names the request field the HTTP body maps to: "*" for the whole
	// request, "" for no body.
	Body string `json:"body,omitempty"`
	// ResponseBody names the response field sent as the HTTP body; "" sends the
	// whole response.
	ResponseBody string `json:"response_body,omitempty"`
}
