package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Stream is the untyped client side of a streaming call: what
// [Client.NewStream] returns and stream interceptors see. Callers see the
// typed [ServerStream], [ClientStream] and [BidiStream] instead.
type Stream = rpc.ClientConn

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
	spec          rpc.Spec
	ctx           context.Context
	cancel        context.CancelFunc
	cs            grpc.ClientStream
	serverStreams bool
}

func (s *grpcStream) Spec() rpc.Spec { return s.spec }

func (s *grpcStream) Peer() rpc.Peer {
	if p, ok := peer.FromContext(s.cs.Context()); ok && p.Addr != nil {
		return rpc.Peer{Addr: p.Addr.String()}
	}
	return rpc.Peer{}
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
