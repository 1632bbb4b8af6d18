package client

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// call describes one outgoing call: where it goes and how, from the client's
// options and then the call's own [CallOption]s.
type call struct {
	service   string
	spec      rpc.Spec
	addresses []string      // when not empty, used instead of looking service up
	timeout   time.Duration // the call's own deadline, sent to the server; 0: none
	header    metadata.Metadata
	codec     codec.Codec // nil means protobuf binary
	retry     RetryPolicy
	// Where a caller wants the response's header and trailer, or nil.
	responseHeader, responseTrailer *metadata.Metadata
}

// request is the [rpc.Request] of an outgoing call, and holds its
// [rpc.Response] so that a call needs one allocation for both.
type request struct {
	call
	header metadata.Metadata // what is sent: outgoing metadata, propagated and call headers
	// headerOwned says header is the request's own copy, which an
	// interceptor may change; until Header is called it may be the
	// context's.
	headerOwned bool
	message     any // nil when opening a stream
	response    response
	peer        peer.Peer
	// callOptions backs the grpc-go options of a unary call (a codec and
	// the response's header, trailer and peer at most), so that they cost
	// no allocation of their own.
	callOptions [4]grpc.CallOption
	// net is the call's place under the client's default timeout.
	net netCall
}

func (r *request) Spec() rpc.Spec { return r.spec }
func (r *request) Any() any       { return r.message }

// Header returns the metadata the call sends, copied on first use so that
// an interceptor may change it without changing the context's: interceptors
// that never look at headers cost no copy.
func (r *request) Header() metadata.Metadata {
	if !r.headerOwned {
		r.header, r.headerOwned = r.header.Clone(), true
	}
	return r.header
}

func (r *request) Peer() rpc.Peer {
	if r.peer.Addr == nil {
		return rpc.Peer{}
	}
	return rpc.Peer{Addr: r.peer.Addr.String()}
}

// response is the [rpc.Response] of an outgoing unary call.
type response struct {
	message         any
	header, trailer metadata.Metadata
}

func (r *response) Header() metadata.Metadata  { return r.header }
func (r *response) Trailer() metadata.Metadata { return r.trailer }
func (r *response) Any() any                   { return r.message }

// headers returns what a call made with ctx sends: the outgoing metadata of
// ctx, the incoming headers the client propagates, and the call's own.
// owned says the result is a copy of its own; otherwise it is the context's,
// not to be changed.
func (c *grpcClient) headers(ctx context.Context, call *call) (md metadata.Metadata, owned bool) {
	md = metadata.FromOutgoingContext(ctx)
	var incoming metadata.Metadata
	if len(c.config.propagate) > 0 {
		incoming = metadata.FromIncomingContext(ctx)
	}
	if len(call.header) == 0 && len(incoming) == 0 {
		return md, false
	}
	md = md.Clone()
	for _, key := range c.config.propagate {
		if _, set := md[key]; !set {
			if values := incoming.Values(key); len(values) > 0 {
				md[key] = append([]string(nil), values...)
			}
		}
	}
	for key, values := range call.header {
		md.Append(key, values...)
	}
	return md, true
}
