// Package grpcwire translates between micro's runtime types and grpc-go's:
// errors and status, metadata, and codecs. It is the one place that knows how
// micro's model maps onto gRPC, so that the server and client agree.
package grpcwire

import (
	"context"
	stderrors "errors"
	"io"
	"strings"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/metadata"
)

// init makes the JSON codec available to every gRPC server and client in
// the process, under the content subtype "json". This is the one init-time
// registration in micro, and it cannot be otherwise: grpc-go looks codecs up
// in a process-wide table that is not safe to change while any gRPC call
// runs, and documents that it must be filled at init time. Registering from
// the server and client constructors instead raced with other gRPC users in
// the same process (the race detector caught it against etcd's client).
func init() {
	encoding.RegisterCodecV2(codecV2{codec.JSON{}})
}

// CodecV2 adapts c to grpc-go's codec interface. Whatever c is, the codec
// receives into and sends a [*Buffers] as it is, without copying it.
func CodecV2(c codec.Codec) encoding.CodecV2 { return codecV2{c} }

type codecV2 struct{ codec codec.Codec }

func (c codecV2) Name() string { return c.codec.Name() }

func (c codecV2) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(*Buffers); ok {
		// grpc-go frees what Marshal returns once it is written: give it a
		// reference of its own, as b may be sent again.
		b.data.Ref()
		return b.data, nil
	}
	data, err := c.codec.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(data)}, nil
}

func (c codecV2) Unmarshal(data mem.BufferSlice, v any) error {
	if b, ok := v.(*Buffers); ok {
		// grpc-go frees data once Unmarshal returns: keep a reference.
		b.Free()
		data.Ref()
		b.data = data
		return nil
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return c.codec.Unmarshal(buf.ReadOnlyData(), v)
}

// Status converts an error a handler returned into the status sent to the
// caller. ok is false when err carries no deliberate code or message (it is
// neither an *errors.Error, a context error nor a gRPC status): such an error
// is sent as Unknown with a generic message, and the caller should log it.
func Status(err error) (st *status.Status, ok bool) {
	if e, isError := stderrors.AsType[*errors.Error](err); isError {
		proto := &spb.Status{Code: int32(e.Code()), Message: e.Message(), Details: e.Details()}
		return status.FromProto(proto), true
	}
	switch {
	case stderrors.Is(err, context.Canceled):
		return status.New(codes.Canceled, context.Canceled.Error()), true
	case stderrors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, context.DeadlineExceeded.Error()), true
	}
	if s, isStatus := stderrors.AsType[grpcStatusError](err); isStatus {
		return s.GRPCStatus(), true
	}
	return status.New(codes.Unknown, "unknown error"), false
}

// grpcStatusError is an error made by grpc-go's status package, returned by a
// handler that calls gRPC directly: its code and message are deliberate.
type grpcStatusError interface {
	error
	GRPCStatus() *status.Status
}

// Error converts an error from grpc-go on the calling side into an
// *errors.Error with the same code, message and details, marked as a wire
// error (errors.IsWire) unless the call's own context ended it. It passes nil and
// io.EOF through. A deadline_exceeded error wraps context.DeadlineExceeded,
// and a canceled one wraps context.Canceled when the call's own context was
// canceled, so that errors.Is works across the wire.
func Error(ctx context.Context, err error) error {
	if err == nil || err == io.EOF { //nolint:errorlint // grpc-go returns io.EOF itself, never wrapped
		return err
	}
	if _, isError := stderrors.AsType[*errors.Error](err); isError {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return errors.New(errors.CodeUnknown, err)
	}
	code := errors.Code(st.Code())
	var cause error = &message{text: st.Message()}
	wire := true
	switch {
	case code == errors.CodeDeadlineExceeded && deadlinePassed(ctx):
		// The call's own deadline, whichever end noticed it first (the
		// server's timer fires a little early, and grpc-go then reports its
		// RST_STREAM rather than the deadline): say so the same way each time.
		cause, wire = context.DeadlineExceeded, false
	case code == errors.CodeDeadlineExceeded:
		cause = &message{text: st.Message(), is: context.DeadlineExceeded}
	case code == errors.CodeCanceled && stderrors.Is(ctx.Err(), context.Canceled):
		// The caller canceled its own call.
		cause, wire = &message{text: st.Message(), is: context.Canceled}, false
	}
	e := errors.New(code, cause)
	if wire {
		e = errors.NewWire(code, cause)
	}
	for _, d := range st.Proto().GetDetails() {
		_ = e.AddDetail(d) // an Any is attached as it is and cannot fail
	}
	return e
}

// deadlinePassed reports whether ctx has a deadline that has come.
func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !d.After(time.Now())
}

// message is the message of an error received over the wire, optionally
// standing for a local sentinel such as context.DeadlineExceeded.
type message struct {
	text string
	is   error
}

func (m *message) Error() string { return m.text }
func (m *message) Unwrap() error { return m.is }

// IncomingContext returns ctx carrying, as micro metadata, what the caller
// sent as gRPC metadata, less the transport's own headers. The metadata is
// copied out of grpc-go only if someone asks for it.
func IncomingContext(ctx context.Context) context.Context {
	return metadata.NewIncomingContextLookup(ctx, incoming, incomingValues)
}

// incomingValues returns the values of one key of what incoming returns,
// copying only them out of grpc-go.
func incomingValues(ctx context.Context, key string) []string {
	if reserved(key) {
		return nil
	}
	return grpcmetadata.ValueFromIncomingContext(ctx, key)
}

func incoming(ctx context.Context) metadata.Metadata {
	md, ok := grpcmetadata.FromIncomingContext(ctx) // a private copy
	if !ok {
		return nil
	}
	for key := range md {
		if reserved(key) {
			delete(md, key)
		}
	}
	if len(md) == 0 {
		return nil
	}
	return metadata.Metadata(md)
}

// reserved reports whether a header belongs to HTTP/2 or gRPC rather than to
// the application, and so is neither shown to handlers nor forwarded.
func reserved(key string) bool {
	switch key {
	case "content-type", "user-agent", "te":
		return true
	}
	return strings.HasPrefix(key, ":") || strings.HasPrefix(key, "grpc-")
}

// OutgoingContext returns ctx carrying md (the metadata of ctx plus the
// call's own, already merged) as gRPC outgoing metadata.
func OutgoingContext(ctx context.Context, md metadata.Metadata) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return grpcmetadata.NewOutgoingContext(ctx, grpcmetadata.MD(md))
}

// Metadata converts gRPC metadata received by a client (headers, trailers).
func Metadata(md grpcmetadata.MD) metadata.Metadata {
	return metadata.Metadata(md)
}

// MD converts micro metadata for grpc-go.
func MD(md metadata.Metadata) grpcmetadata.MD {
	return grpcmetadata.MD(md)
}
