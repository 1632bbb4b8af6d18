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
	if p.config.auth != nil {
		var authorization string
		if values := grpcmetadata.ValueFromIncomingContext(ctx, "authorization"); len(values) > 0 {
			authorization = values[0] // the one the service reads
		}
		if _, err := p.config.auth.Check(ctx, r.spec, authorization); err != nil {
			return statusError(err)
		}
	}
	opts := make([]client.CallOption, 1, 4)
	opts[0] = frames
	if pairs := outgoing(ctx); len(pairs) > 0 {
		opts = append(opts, client.WithHeaders(pairs...))
	}
	var err error
	if r.spec.StreamType == rpc.Unary {
		err = p.forwardUnary(ctx, ss, r, opts)
	} else {
		err = p.forwardStream(ctx, ss, r, opts)
	}
	return statusError(err)
}

func (p *Proxy) forwardUnary(ctx context.Context, ss grpc.ServerStream, r route, opts []client.CallOption) error {
	var req, res grpcwire.Frame
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	var header, trailer metadata.Metadata
	opts = append(opts, client.WithResponseHeader(&header), client.WithResponseTrailer(&trailer))
	err := p.client.Invoke(ctx, r.service, r.spec, &req, &res, opts...)
	if md := incoming(header); md != nil {
		_ = ss.SetHeader(md)
	}
	if md := incoming(trailer); md != nil {
		ss.SetTrailer(md)
	}
	if err != nil {
		return err
	}
	return ss.SendMsg(&res)
}

func (p *Proxy) forwardStream(ctx context.Context, ss grpc.ServerStream, r route, opts []client.CallOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := p.client.NewStream(ctx, r.service, r.spec, opts...)
	if err != nil {
		return err
	}
	return grpcwire.PipeFrames(cancel, ss, cs, incoming)
}

// frames is the call option that passes messages on as they are encoded.
var frames = client.WithCodec(grpcwire.FrameCodec{})

// outgoing returns, as key/value pairs, the metadata the caller sent, less
// the headers of HTTP/2 and gRPC themselves, to send on to the service.
func outgoing(ctx context.Context) []string {
	md, _ := grpcmetadata.FromIncomingContext(ctx)
	var pairs []string
	for key := range md {
		if reserved(key) {
			continue
		}
		for _, v := range md[key] {
			pairs = append(pairs, key, v)
		}
	}
	return pairs
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
