package grpcwire

import (
	"slices"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/errors"
)

// Frame is a message as it travels, still encoded: the gateway and the proxy
// pass messages on without decoding them.
type Frame []byte

// Buffers is a message as it travels, still encoded, held in the buffers
// grpc-go read it into: a codec made by [CodecV2] fills one without copying
// what it received, and sends one without copying it again, so that the
// proxy passes a message on as it came. A Buffers may be sent more than
// once (a retried call sends its request again); [Buffers.Free] returns its
// buffers to grpc-go's pool once it is no longer needed. The zero value is
// an empty message.
type Buffers struct{ data mem.BufferSlice }

// Len returns the length of the message, in bytes.
func (b *Buffers) Len() int { return b.data.Len() }

// Free releases the buffers, and leaves b empty. It is safe to call more
// than once.
func (b *Buffers) Free() {
	b.data.Free()
	b.data = nil
}

// FrameCodec passes a [Frame] through as it is, and encodes any other
// message as protobuf, so that a server forwarding frames can also serve
// services of its own (health, reflection) on the same connection. It is
// named "proto" because the frames it carries are protobuf encodings.
type FrameCodec struct{}

// Name implements [codec.Codec].
//
// [codec.Codec]: https://pkg.go.dev/github.com/protomicro/micro/runtime/codec#Codec
func (FrameCodec) Name() string { return "proto" }

// Marshal returns a frame's bytes, or a message's protobuf encoding.
func (FrameCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case *Frame:
		return *v, nil
	case *Buffers:
		return v.data.Materialize(), nil
	case proto.Message:
		return proto.Marshal(v)
	}
	return nil, errors.Errorf(errors.CodeInternal, "marshal %T, neither a frame nor a proto message", v)
}

// Unmarshal keeps a copy of data in a frame, or decodes it into a message.
func (FrameCodec) Unmarshal(data []byte, v any) error {
	switch v := v.(type) {
	case *Frame:
		*v = slices.Clone(data) // data is the transport's, and reused
		return nil
	case *Buffers:
		v.Free()
		v.data = mem.BufferSlice{mem.SliceBuffer(slices.Clone(data))}
		return nil
	case proto.Message:
		return proto.Unmarshal(data, v)
	}
	return errors.Errorf(errors.CodeInternal, "unmarshal into %T, neither a frame nor a proto message", v)
}
