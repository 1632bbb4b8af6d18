package grpcwire

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/errors"
)

// Frame is a message as it travels, still encoded: the gateway and the proxy
// pass messages on without decoding them.
type Frame []byte

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
	case proto.Message:
		return proto.Unmarshal(data, v)
	}
	return errors.Errorf(errors.CodeInternal, "unmarshal into %T, neither a frame nor a proto message", v)
}
