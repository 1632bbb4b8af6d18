package rpc

import (
	"context"

	"github.com/protomicro/micro/runtime/metadata"
)

// Interceptor is middleware for calls, on either side: a client's outgoing
// calls (client.WithInterceptors) and a server's incoming ones
// (server.WithInterceptors), unary and streaming alike, so that one
// authorization, tracing or logging policy is written once. Health checks and
// server reflection go through a server's interceptors too; a policy that
// should not apply to them exempts them by [Spec.Procedure].
//
// Each method is called once per chain, when a server registers a method or
// a client is built, with the next function in the chain; the function it
// returns runs on every call. An interceptor with nothing to do for a kind of
// call returns next unchanged. WrapStreamingClient is called only on clients
// and WrapStreamingHandler only on servers; WrapUnary on both, where
// [Request.Peer] and the headers tell which side it is on when that matters.
//
// [UnaryInterceptorFunc] makes an Interceptor of a function that wraps unary
// calls only.
type Interceptor interface {
	WrapUnary(next UnaryFunc) UnaryFunc
	WrapStreamingClient(next StreamingClientFunc) StreamingClientFunc
	WrapStreamingHandler(next StreamingHandlerFunc) StreamingHandlerFunc
}

// UnaryFunc performs one unary call: on a client, it sends the request and
// returns the response; on a server, it runs the handler.
type UnaryFunc func(ctx context.Context, req Request) (Response, error)

// StreamingClientFunc opens a stream on a client. req carries the procedure
// and the headers to send; it has no message (Any returns nil).
type StreamingClientFunc func(ctx context.Context, req Request) (ClientConn, error)

// StreamingHandlerFunc serves one streaming call on a server.
type StreamingHandlerFunc func(ctx context.Context, conn HandlerConn) error

// Request is the request of a call as interceptors see it.
//
// On a client, Header is what will be sent: the outgoing metadata of the
// call's context, the propagated headers and the call's own, which an
// interceptor may add to before passing the request on. On a server it is
// what the caller sent (the handler's incoming metadata).
type Request interface {
	// Spec describes the procedure called.
	Spec() Spec
	// Peer is the other end of the call: the caller on a server. On a client
	// it is unknown (zero) until the call has been sent.
	Peer() Peer
	// Header is the request's metadata.
	Header() metadata.Metadata
	// Any is the request message, a pointer; nil when opening a stream.
	Any() any
}

// Response is the response of a unary call as interceptors see it.
//
// On a client, Header and Trailer are what the server sent, when the call
// or one of the client's interceptors asked for them (see
// [ResponseMetadataReader]); otherwise they are empty. On a server they are
// headers and trailers that interceptors add (they are sent with the
// response); what a handler sets with server.SetHeader is sent as well, but
// does not show here.
type Response interface {
	// Header is the response's header metadata.
	Header() metadata.Metadata
	// Trailer is the response's trailer metadata.
	Trailer() metadata.Metadata
	// Any is the response message, a pointer.
	Any() any
}

// ResponseMetadataReader is an [Interceptor] that says whether it reads the
// Header or Trailer of unary responses on a client. grpc-go gives a client a
// unary response's metadata only as copies made during the call, which cost
// a small call five allocations and several percent of its CPU, so a client
// makes them only for the calls whose caller asked (client.WithResponseHeader,
// client.WithResponseTrailer), or for every call when one of its
// interceptors is a ResponseMetadataReader that answers true. Streams always
// have them.
//
// Servers do not ask: there, a Response's Header and Trailer are what the
// interceptors set themselves. [ReadingResponseMetadata] makes any
// interceptor, a [UnaryInterceptorFunc] among them, one that reads.
type ResponseMetadataReader interface {
	Interceptor
	ReadsResponseMetadata() bool
}

// ReadingResponseMetadata returns i as a [ResponseMetadataReader] that
// answers true: on a client, it sees the Header and Trailer of every unary
// response.
func ReadingResponseMetadata(i Interceptor) Interceptor { return metadataReader{i} }

type metadataReader struct{ Interceptor }

func (metadataReader) ReadsResponseMetadata() bool { return true }

// ReadsResponseMetadata reports whether any of interceptors is a
// [ResponseMetadataReader] that answers true.
func ReadsResponseMetadata(interceptors []Interceptor) bool {
	for _, i := range interceptors {
		if r, ok := i.(ResponseMetadataReader); ok && r.ReadsResponseMetadata() {
			return true
		}
	}
	return false
}

// Peer describes the other end of a call.
type Peer struct {
	// Addr is its network address, "127.0.0.1:53124".
	Addr string
}

// ClientConn is a client's side of a stream, as stream interceptors see it.
// Callers use the typed streams of package client instead.
//
// SendMsg and CloseSend may be called from one goroutine while RecvMsg is
// called from another, but neither from two goroutines at once.
type ClientConn interface {
	// Spec describes the procedure called.
	Spec() Spec
	// Peer is the server the stream went to, once known.
	Peer() Peer
	// Context is the stream's context; it is done once the stream is over.
	Context() context.Context
	// SendMsg sends one message. It returns io.EOF if the server has already
	// ended the call; RecvMsg then returns why.
	SendMsg(m any) error
	// RecvMsg receives one message into m. It returns io.EOF when the server
	// ended the call successfully, and an error otherwise.
	RecvMsg(m any) error
	// CloseSend tells the server no more messages will be sent.
	CloseSend() error
	// Header returns the response headers, waiting for them if need be.
	Header() (metadata.Metadata, error)
	// Trailer returns the response trailers; they are complete once RecvMsg
	// has returned an error or io.EOF.
	Trailer() metadata.Metadata
}

// HandlerConn is a server's side of a stream, as stream interceptors and
// untyped handlers see it. Generated handlers see typed streams instead.
//
// SendMsg and RecvMsg may be called from different goroutines, but neither
// from two goroutines at once.
type HandlerConn interface {
	// Spec describes the procedure called.
	Spec() Spec
	// Peer is the caller.
	Peer() Peer
	// Context is the call's context, carrying the caller's metadata and
	// deadline.
	Context() context.Context
	// Header is what the caller sent (the incoming metadata).
	Header() metadata.Metadata
	// SendMsg sends one message to the caller.
	SendMsg(m any) error
	// RecvMsg receives one message from the caller into m. It returns io.EOF
	// once the caller has closed its side of the stream.
	RecvMsg(m any) error
	// SetHeader sets response headers, sent with the first message; several
	// calls merge. It fails once headers have been sent.
	SetHeader(md metadata.Metadata) error
	// SetTrailer sets response trailers, sent when the handler returns;
	// several calls merge.
	SetTrailer(md metadata.Metadata)
}

// UnaryInterceptorFunc is an [Interceptor] that wraps unary calls only and
// passes streams through:
//
//	logging := rpc.UnaryInterceptorFunc(func(next rpc.UnaryFunc) rpc.UnaryFunc {
//		return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
//			res, err := next(ctx, req)
//			slog.InfoContext(ctx, "call", "procedure", req.Spec().Procedure, "code", errors.CodeOf(err))
//			return res, err
//		}
//	})
type UnaryInterceptorFunc func(next UnaryFunc) UnaryFunc

// WrapUnary calls f.
func (f UnaryInterceptorFunc) WrapUnary(next UnaryFunc) UnaryFunc { return f(next) }

// WrapStreamingClient returns next.
func (f UnaryInterceptorFunc) WrapStreamingClient(next StreamingClientFunc) StreamingClientFunc {
	return next
}

// WrapStreamingHandler returns next.
func (f UnaryInterceptorFunc) WrapStreamingHandler(next StreamingHandlerFunc) StreamingHandlerFunc {
	return next
}

// ChainUnary wraps next in interceptors, the first given outermost. Used by
// the client and server packages; interceptors see the same order on both.
func ChainUnary(next UnaryFunc, interceptors []Interceptor) UnaryFunc {
	for i := len(interceptors) - 1; i >= 0; i-- {
		next = interceptors[i].WrapUnary(next)
	}
	return next
}

// ChainStreamingClient wraps next in interceptors, the first given outermost.
func ChainStreamingClient(next StreamingClientFunc, interceptors []Interceptor) StreamingClientFunc {
	for i := len(interceptors) - 1; i >= 0; i-- {
		next = interceptors[i].WrapStreamingClient(next)
	}
	return next
}

// ChainStreamingHandler wraps next in interceptors, the first given outermost.
func ChainStreamingHandler(next StreamingHandlerFunc, interceptors []Interceptor) StreamingHandlerFunc {
	for i := len(interceptors) - 1; i >= 0; i-- {
		next = interceptors[i].WrapStreamingHandler(next)
	}
	return next
}
