package proxy

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// forward is the handler of every procedure the proxy does not serve
// itself: it calls the procedure on the service that lists it, passing the
// messages on as they are encoded, and answers with what the service
// answered.
func (p *Proxy) forward(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	procedure, _ := grpc.MethodFromServerStream(ss)
	r, ok := p.table.Load().procedures[procedure]
	if !ok {
		return status.Errorf(codes.Unimplemented, "no registered service serves %s", procedure)
	}
	md := outgoing(ctx)
	if p.config.auth != nil {
		var authorization string
		if values := md["authorization"]; len(values) > 0 {
			authorization = values[0] // the one the service reads
		}
		if _, err := p.config.auth.Check(ctx, r.spec, authorization); err != nil {
			return statusError(err)
		}
	}
	// The caller's metadata is the call's own outgoing metadata, sent as it
	// is: neither the client nor grpc-go copies it again.
	if len(md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	var err error
	if r.spec.StreamType == rpc.Unary {
		err = p.forwardUnary(ctx, ss, r)
	} else {
		err = p.forwardStream(ctx, ss, r)
	}
	return statusError(err)
}

// forwardUnary passes the request on in the buffers it was read into, and
// the response back in those of the service's answer: neither is copied.
func (p *Proxy) forwardUnary(ctx context.Context, ss grpc.ServerStream, r route) error {
	c := new(unaryCall) // one allocation for what the call's options point to
	defer c.req.Free()
	defer c.res.Free()
	if err := ss.RecvMsg(&c.req); err != nil {
		return err
	}
	c.opts = [...]client.CallOption{frames, client.WithResponseHeader(&c.header), client.WithResponseTrailer(&c.trailer)}
	err := p.client.Invoke(ctx, r.service, r.spec, &c.req, &c.res, c.opts[:]...)
	c.req.Free() // sent: the service has answered
	// header and trailer are grpc-go's copies, the proxy's to change.
	if md := unreserved(c.header); len(md) > 0 {
		_ = ss.SetHeader(grpcmetadata.MD(md))
	}
	if md := unreserved(c.trailer); len(md) > 0 {
		ss.SetTrailer(grpcmetadata.MD(md))
	}
	if err != nil {
		return err
	}
	return ss.SendMsg(&c.res)
}

// unaryCall is what a unary call forwarded holds.
type unaryCall struct {
	req, res        grpcwire.Buffers
	header, trailer metadata.Metadata
	opts            [3]client.CallOption
}

func (p *Proxy) forwardStream(ctx context.Context, ss grpc.ServerStream, r route) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := p.client.NewStream(ctx, r.service, r.spec, frames)
	if err != nil {
		return err
	}
	return grpcwire.PipeFrames(cancel, ss, cs, incoming)
}

// frames is the call option that passes messages on as they are encoded.
var frames = client.WithCodec(grpcwire.FrameCodec{})

// outgoing returns the metadata the caller sent, less the headers of HTTP/2
// and gRPC themselves, to send on to the service. It is a copy of its own.
func outgoing(ctx context.Context) metadata.Metadata {
	md, _ := grpcmetadata.FromIncomingContext(ctx) // a private copy
	return unreserved(metadata.Metadata(md))
}

// unreserved deletes from md the headers of HTTP/2 and gRPC themselves, and
// returns it.
func unreserved(md metadata.Metadata) metadata.Metadata {
	for key := range md {
		if reserved(key) {
			delete(md, key)
		}
	}
	return md
}

// incoming returns the headers or trailers a service answered with, less
// those of HTTP/2 and gRPC themselves, to send back to the caller.
func incoming(md metadata.Metadata) grpcmetadata.MD {
	if len(md) == 0 {
		return nil
	}
	out := make(grpcmetadata.MD, len(md))
	for key, values := range md {
		if !reserved(key) {
			out[key] = values
		}
	}
	return out
}

// reserved reports whether a header belongs to HTTP/2 or gRPC rather than
// to the application: grpc-go sets those of each hop itself.
func reserved(key string) bool {
	switch key {
	case "content-type", "user-agent", "te":
		return true
	}
	return strings.HasPrefix(key, ":") || strings.HasPrefix(key, "grpc-")
}

// statusError returns err as the gRPC status the caller gets, its details
// kept. A service the client finds no node of is unavailable, not a method
// that was not found.
func statusError(err error) error {
	if err == nil {
		return nil
	}
	if errors.CodeOf(err) == errors.CodeNotFound && !errors.IsWire(err) {
		err = errors.New(errors.CodeUnavailable, err)
	}
	st, _ := grpcwire.Status(err)
	return st.Err()
}
