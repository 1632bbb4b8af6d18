package client

import (
	"context"
	"time"

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
	header   metadata.Metadata // what is sent: outgoing metadata, propagated and call headers
	message  any               // nil when opening a stream
	response response
	peer     peer.Peer
}

func (r *request) Spec() rpc.Spec            { return r.spec }
func (r *request) Header() metadata.Metadata { return r.header }
func (r *request) Any() any                  { return r.message }

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
// owned says the result must be a private copy (interceptors may change it).
func (c *grpcClient) headers(ctx context.Context, call *call, owned bool) metadata.Metadata {
	md := metadata.FromOutgoingContext(ctx)
	var incoming metadata.Metadata
	if len(c.config.propagate) > 0 {
		incoming = metadata.FromIncomingContext(ctx)
	}
	if !owned && len(call.header) == 0 && len(incoming) == 0 {
		return md
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
	return md
}
