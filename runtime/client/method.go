package client

import (
	"context"
	"io"
	"slices"

	"github.com/protomicro/micro/runtime/rpc"
)

// Method calls one procedure of one service with typed messages. Generated
// clients hold one Method per RPC, built by [NewMethod].
type Method[Req, Res any] struct {
	client    Client
	service   string
	procedure string
	opts      []CallOption
}

// NewMethod returns a caller of procedure ("/greeter.v1.Greeter/Hello") on
// the service registered as service, through c. opts apply to every call,
// before each call's own. Used by generated code.
func NewMethod[Req, Res any](c Client, service, procedure string, opts ...CallOption) *Method[Req, Res] {
	return &Method[Req, Res]{client: c, service: service, procedure: procedure, opts: opts}
}

func (m *Method[Req, Res]) spec(typ rpc.StreamType) rpc.Spec {
	return rpc.Spec{Procedure: m.procedure, StreamType: typ}
}

// options returns the method's options followed by the call's.
func (m *Method[Req, Res]) options(opts []CallOption) []CallOption {
	switch {
	case len(m.opts) == 0:
		return opts
	case len(opts) == 0:
		return m.opts
	}
	return append(slices.Clip(m.opts), opts...)
}

// CallUnary sends req and returns the response.
func (m *Method[Req, Res]) CallUnary(ctx context.Context, req *Req, opts ...CallOption) (*Res, error) {
	res := new(Res)
	if err := m.client.Invoke(ctx, m.service, m.spec(rpc.Unary), req, res, m.options(opts)...); err != nil {
		return nil, err
	}
	return res, nil
}

// CallServerStream sends req and returns the stream of responses.
func (m *Method[Req, Res]) CallServerStream(ctx context.Context, req *Req, opts ...CallOption) (ServerStream[Res], error) {
	s, err := m.client.NewStream(ctx, m.service, m.spec(rpc.ServerStream), m.options(opts)...)
	if err != nil {
		return nil, err
	}
	switch err := s.SendMsg(req); {
	case err == io.EOF: //nolint:errorlint // SendMsg returns io.EOF itself
		// The server ended the call before reading; Recv returns why.
	case err != nil:
		return nil, err
	default:
		if err := s.CloseSend(); err != nil {
			return nil, err
		}
	}
	return &typedStream[Req, Res]{s}, nil
}

// CallClientStream opens a stream of requests answered by one response.
func (m *Method[Req, Res]) CallClientStream(ctx context.Context, opts ...CallOption) (ClientStream[Req, Res], error) {
	s, err := m.client.NewStream(ctx, m.service, m.spec(rpc.ClientStream), m.options(opts)...)
	if err != nil {
		return nil, err
	}
	return &typedStream[Req, Res]{s}, nil
}

// CallBidiStream opens a stream of requests and responses.
func (m *Method[Req, Res]) CallBidiStream(ctx context.Context, opts ...CallOption) (BidiStream[Req, Res], error) {
	s, err := m.client.NewStream(ctx, m.service, m.spec(rpc.BidiStream), m.options(opts)...)
	if err != nil {
		return nil, err
	}
	return &typedStream[Req, Res]{s}, nil
}
