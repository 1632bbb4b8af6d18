package server

import (
	"fmt"
	"io"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/rpc"
)

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
type typedStream[Req, Res any] struct{ s rpc.HandlerConn }

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
