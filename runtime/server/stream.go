package server

import (
	"context"
	"fmt"
	"io"

	"github.com/protomicro/micro/runtime/errors"
)

// Stream is the untyped server side of a streaming call, as stream
// middleware sees it. Handlers see the typed [ServerStream], [ClientStream]
// and [BidiStream] instead.
//
// SendMsg and RecvMsg may be called from different goroutines, but neither
// from two goroutines at once.
type Stream interface {
	// Context is the call's context, carrying the caller's metadata and deadline.
	Context() context.Context
	// SendMsg sends one message to the caller.
	SendMsg(m any) error
	// RecvMsg receives one message from the caller into m. It returns io.EOF
	// once the caller has closed its side of the stream.
	RecvMsg(m any) error
}

// ServerStream is how a server-streaming handler sends its responses.
type ServerStream[Res any] interface {
	// Send sends one response. An error means the stream is over (the caller
	// canceled or went away); the handler should return.
	Send(res *Res) error
}

// ClientStream is how a client-streaming handler receives its requests.
type ClientStream[Req any] interface {
	// Recv returns the next request, or io.EOF once the caller has sent all
	// of them.
	Recv() (*Req, error)
}

// BidiStream is how a bidirectional-streaming handler talks to its caller.
// Recv and Send may be called from different goroutines.
type BidiStream[Req, Res any] interface {
	// Recv returns the next request, or io.EOF once the caller has closed its
	// side of the stream.
	Recv() (*Req, error)
	// Send sends one response.
	Send(res *Res) error
}

// typedStream is the one implementation of the typed streams.
type typedStream[Req, Res any] struct{ s Stream }

func (t *typedStream[Req, Res]) Send(res *Res) error { return t.s.SendMsg(res) }

func (t *typedStream[Req, Res]) Recv() (*Req, error) {
	req := new(Req)
	if err := t.s.RecvMsg(req); err != nil {
		return nil, err
	}
	return req, nil
}

// noRequest is the error of a server-streaming call whose request never came.
func noRequest(procedure string, err error) error {
	if err == io.EOF { //nolint:errorlint // RecvMsg returns io.EOF itself
		return errors.Errorf(errors.CodeInvalidArgument, "%s: the caller sent no request", procedure)
	}
	return fmt.Errorf("%s: receive request: %w", procedure, err)
}
