package gateway

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

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

// frames is the call option that passes messages on as they are encoded.
var frames = client.WithCodec(grpcwire.FrameCodec{})

// metadataPrefix marks the HTTP headers that carry metadata, both ways, as
// in grpc-gateway.
const metadataPrefix = "grpc-metadata-"

// forward is the gRPC handler of every method the transcoder routes: it
// calls the method through the client, passing the messages on as they are
// encoded, and answers with what the service answered.
func (g *Gateway) forward(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	b, _ := ctx.Value(backendKey{}).(*backend)
	procedure, _ := grpc.MethodFromServerStream(ss)
	if b == nil {
		return status.Errorf(codes.Unimplemented, "no service serves %s", procedure)
	}
	spec, ok := b.specs[procedure]
	if !ok {
		return status.Errorf(codes.Unimplemented, "service %q does not serve %s", b.name, procedure)
	}
	if spec.StreamType == rpc.Unary {
		var cancel context.CancelFunc
		ctx, cancel = g.defaultTimeout(ctx)
		defer cancel()
	} else if _, ok := ctx.Deadline(); !ok && g.config.timeout > 0 {
		// The client's safety net bounds no stream.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.config.timeout)
		defer cancel()
	}
	pairs := outgoing(ctx)
	if err := g.authorize(ctx, spec, pairs); err != nil {
		g.stats.add(b.name, err)
		return statusError(err)
	}
	opts := []client.CallOption{frames}
	if len(pairs) > 0 {
		opts = append(opts, client.WithHeaders(pairs...))
	}
	var err error
	if s, tk, ok := restStreamOf(ctx, spec); ok {
		err = g.forwardREST(ctx, ss, b.name, spec, opts, s, tk)
	} else if spec.StreamType == rpc.Unary {
		err = g.forwardUnary(ctx, ss, b.name, spec, opts)
	} else {
		err = g.forwardStream(ctx, ss, b.name, spec, opts)
	}
	g.stats.add(b.name, err)
	return statusError(err)
}

func (g *Gateway) forwardUnary(ctx context.Context, ss grpc.ServerStream, service string, spec rpc.Spec, opts []client.CallOption) error {
	req, err := recvRequest(ctx, ss)
	if err != nil {
		return err
	}
	var res grpcwire.Frame
	var header, trailer metadata.Metadata
	opts = append(opts, client.WithResponseHeader(&header), client.WithResponseTrailer(&trailer))
	err = g.client.Invoke(ctx, service, spec, &req, &res, opts...)
	_ = ss.SetHeader(incoming(header))
	ss.SetTrailer(incoming(trailer))
	if err != nil {
		return err
	}
	return ss.SendMsg(&res)
}

func (g *Gateway) forwardStream(ctx context.Context, ss grpc.ServerStream, service string, spec rpc.Spec, opts []client.CallOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	markReached(ctx)
	cs, err := g.client.NewStream(ctx, service, spec, opts...)
	if err != nil {
		return err
	}
	return grpcwire.PipeFrames(cancel, ss, cs, incoming)
}

// recvRequest reads the request of a call with one, and records that the
// service is to be called.
func recvRequest(ctx context.Context, ss grpc.ServerStream) (grpcwire.Frame, error) {
	var req grpcwire.Frame
	if err := ss.RecvMsg(&req); err != nil {
		return nil, undecodable(err)
	}
	markReached(ctx)
	return req, nil
}

// markReached records that the gateway is calling the service, so that an
// error is not taken for the request's.
func markReached(ctx context.Context) {
	if reached, ok := ctx.Value(reachedKey{}).(*atomic.Bool); ok {
		reached.Store(true)
	}
}

// undecodable returns the error of reading a call's first request: the
// transcoder could not make a message of what the caller sent (malformed
// JSON, a field or query parameter the message does not have), which gRPC
// reports as unknown and is the caller's mistake.
func undecodable(err error) error {
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unknown {
		return status.Error(codes.InvalidArgument, st.Message())
	}
	return err
}

// outgoing returns, as key/value pairs, the request headers that become
// outgoing metadata: Authorization, and Grpc-Metadata-* without the prefix.
// Nothing else crosses.
func outgoing(ctx context.Context) []string {
	md, _ := grpcmetadata.FromIncomingContext(ctx)
	var pairs []string
	for _, key := range slices.Sorted(maps.Keys(md)) {
		name, ok := strings.CutPrefix(key, metadataPrefix)
		if key == "authorization" {
			name, ok = key, true
		}
		if !ok || name == "" {
			continue
		}
		for _, v := range md[key] {
			pairs = append(pairs, name, v)
		}
	}
	return pairs
}

// authorization returns the authorization the service would read of the
// metadata pairs (outgoing's): the first one.
// authorize decides a call of spec whose outgoing metadata is pairs at the
// edge, with the policy of [WithAuth]: nil without one.
func (g *Gateway) authorize(ctx context.Context, spec rpc.Spec, pairs []string) error {
	if g.config.auth == nil {
		return nil
	}
	_, err := g.config.auth.Check(ctx, spec, authorization(pairs))
	return err
}

func authorization(pairs []string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "authorization" {
			return pairs[i+1]
		}
	}
	return ""
}

// incoming returns the headers or trailers a service answered with as the
// gateway answers them: each key with the Grpc-Metadata- prefix, less
// those of HTTP/2 and gRPC themselves.
func incoming(md metadata.Metadata) grpcmetadata.MD {
	if len(md) == 0 {
		return nil
	}
	out := make(grpcmetadata.MD, len(md))
	for key, values := range md {
		if answered(key) {
			out[metadataPrefix+key] = values
		}
	}
	return out
}

// answered reports whether a key of a service's headers or trailers is
// answered, as incoming answers it: not those of HTTP/2 and gRPC.
func answered(key string) bool {
	return key != "content-type" && !strings.HasPrefix(key, ":") && !strings.HasPrefix(key, "grpc-")
}

// statusError returns err as the gRPC status the transcoder answers with, its
// details kept. A service the client finds no node of is unavailable, not
// a method that was not found.
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
