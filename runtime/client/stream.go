package client

import (
	"context"

	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/metadata"
)

// Stream is the untyped client side of a streaming call, as stream
// middleware sees it. Callers see the typed [ServerStream], [ClientStream]
// and [BidiStream] instead.
//
// SendMsg and CloseSend may be called from one goroutine while RecvMsg is
// called from another, but neither from two goroutines at once.
type Stream interface {
	// Context is the stream's context; it is done once the stream is over.
	Context() context.Context
	// SendMsg sends one message. It returns io.EOF if the server has already
	// ended the call; RecvMsg then returns why.
	SendMsg(m any) error
	// RecvMsg receives one message into m. It returns io.EOF when the server
	// ended the call successfully, and an [errors.Error] otherwise.
	//
	// [errors.Error]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#Error
	RecvMsg(m any) error
	// CloseSend tells the server no more messages will be sent.
	CloseSend() error
	// Header returns the response headers, waiting for them if need be.
	Header() (metadata.Metadata, error)
	// Trailer returns the response trailers; they are complete once RecvMsg
	// has returned an error or io.EOF.
	Trailer() metadata.Metadata
}

// ServerStream is the caller's side of a server-streaming call. To stop
// early, cancel the context the call was made with.
type ServerStream[Res any] interface {
	// Recv returns the next response, or io.EOF once the server has sent all
	// of them.
	Recv() (*Res, error)
	// Header returns the response headers, waiting for them if need be.
	Header() (metadata.Metadata, error)
	// Trailer returns the response trailers once Recv has returned an error.
	Trailer() metadata.Metadata
}

// ClientStream is the caller's side of a client-streaming call.
type ClientStream[Req, Res any] interface {
	// Send sends one request. It returns io.EOF if the server has already
	// ended the call; CloseAndRecv then returns why.
	Send(req *Req) error
	// CloseAndRecv says no more requests follow and waits for the response.
	CloseAndRecv() (*Res, error)
	// Header returns the response headers, waiting for them if need be.
	Header() (metadata.Metadata, error)
	// Trailer returns the response trailers once CloseAndRecv has returned.
	Trailer() metadata.Metadata
}

// BidiStream is the caller's side of a bidirectional-streaming call. Send and
// CloseSend may be called from one goroutine while Recv is called from
// another. To stop early, cancel the context the call was made with.
type BidiStream[Req, Res any] interface {
	// Send sends one request. It returns io.EOF if the server has already
	// ended the call; Recv then returns why.
	Send(req *Req) error
	// CloseSend tells the server no more requests follow; responses may still
	// arrive.
	CloseSend() error
	// Recv returns the next response, or io.EOF once the server has ended the
	// call successfully.
	Recv() (*Res, error)
	// Header returns the response headers, waiting for them if need be.
	Header() (metadata.Metadata, error)
	// Trailer returns the response trailers once Recv has returned an error.
	Trailer() metadata.Metadata
}

// typedStream is the one implementation of the typed streams.
type typedStream[Req, Res any] struct{ Stream }

func (t *typedStream[Req, Res]) Send(req *Req) error { return t.SendMsg(req) }

func (t *typedStream[Req, Res]) Recv() (*Res, error) {
	res := new(Res)
	if err := t.RecvMsg(res); err != nil {
		return nil, err
	}
	return res, nil
}

func (t *typedStream[Req, Res]) CloseAndRecv() (*Res, error) {
	if err := t.CloseSend(); err != nil {
		return nil, err
	}
	return t.Recv()
}

// grpcStream is the [Stream] of a call made through grpc-go.
type grpcStream struct {
	ctx           context.Context
	cancel        context.CancelFunc
	cs            grpc.ClientStream
	serverStreams bool
}

func (s *grpcStream) Context() context.Context { return s.ctx }

func (s *grpcStream) SendMsg(m any) error { return grpcwire.Error(s.ctx, s.cs.SendMsg(m)) }

func (s *grpcStream) RecvMsg(m any) error {
	err := s.cs.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.cancel() // the call is over
	}
	return grpcwire.Error(s.ctx, err)
}

func (s *grpcStream) CloseSend() error { return grpcwire.Error(s.ctx, s.cs.CloseSend()) }

func (s *grpcStream) Header() (metadata.Metadata, error) {
	md, err := s.cs.Header()
	return grpcwire.Metadata(md), grpcwire.Error(s.ctx, err)
}

func (s *grpcStream) Trailer() metadata.Metadata { return grpcwire.Metadata(s.cs.Trailer()) }
