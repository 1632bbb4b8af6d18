package grpcwire

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/errors"
)

func TestFrameCodec(t *testing.T) {
	t.Parallel()
	var c FrameCodec
	encoded, err := proto.Marshal(wrapperspb.String("hi"))
	if err != nil {
		t.Fatal(err)
	}

	// A frame passes through as it is, and keeps a copy of what it read.
	in := Frame(encoded)
	data, err := c.Marshal(&in)
	if err != nil || string(data) != string(encoded) {
		t.Errorf("Marshal(frame) = %q, %v, want %q", data, err, encoded)
	}
	buf := append([]byte(nil), encoded...)
	var out Frame
	if err := c.Unmarshal(buf, &out); err != nil || string(out) != string(encoded) {
		t.Errorf("Unmarshal into a frame = %q, %v, want %q", out, err, encoded)
	}
	buf[0] ^= 0xff
	if string(out) != string(encoded) {
		t.Errorf("Unmarshal into a frame kept the transport's buffer, not a copy")
	}

	// Any other message is protobuf, for the services a forwarding server
	// serves itself.
	data, err = c.Marshal(wrapperspb.String("hi"))
	if err != nil || string(data) != string(encoded) {
		t.Errorf("Marshal(message) = %q, %v, want %q", data, err, encoded)
	}
	msg := new(wrapperspb.StringValue)
	if err := c.Unmarshal(encoded, msg); err != nil || msg.GetValue() != "hi" {
		t.Errorf("Unmarshal into a message = %v, %v, want hi", msg, err)
	}

	if _, err := c.Marshal("hi"); errors.CodeOf(err) != errors.CodeInternal {
		t.Errorf("Marshal(string) = %v, want internal", err)
	}
	if err := c.Unmarshal(encoded, new(string)); errors.CodeOf(err) != errors.CodeInternal {
		t.Errorf("Unmarshal into *string = %v, want internal", err)
	}
}

func TestBuffersPassThroughCodecV2(t *testing.T) {
	t.Parallel()
	c := CodecV2(FrameCodec{})
	pool := mem.NewTieredBufferPool(64 << 10)
	want := bytes.Repeat([]byte("abcdefgh"), 4<<10) // pooled, as grpc-go holds large messages
	received := mem.Copy(want, pool)

	// Unmarshal keeps what grpc-go read, which grpc-go then frees as it
	// does after every Unmarshal.
	var b Buffers
	if err := c.Unmarshal(mem.BufferSlice{received}, &b); err != nil {
		t.Fatal(err)
	}
	received.Free()
	if b.Len() != len(want) {
		t.Fatalf("Unmarshal into buffers kept %d bytes, want %d", b.Len(), len(want))
	}

	// Each Marshal gives grpc-go a reference it frees once written, and
	// the buffers stay whole for the next send (a retry).
	for attempt := 1; attempt <= 2; attempt++ {
		data, err := c.Marshal(&b)
		if err != nil {
			t.Fatal(err)
		}
		if got := data.Materialize(); !bytes.Equal(got, want) {
			t.Errorf("Marshal(buffers), send %d = %d bytes, want the %d received", attempt, len(got), len(want))
		}
		data.Free()
	}
	b.Free()
	b.Free() // twice is safe
	if b.Len() != 0 {
		t.Errorf("Len after Free = %d, want 0", b.Len())
	}

	// FrameCodec alone (no grpc-go buffers) copies in and out.
	var f FrameCodec
	if err := f.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Marshal(&b); err != nil || !bytes.Equal(got, want) {
		t.Errorf("FrameCodec.Marshal(buffers) = %d bytes, %v, want %d", len(got), err, len(want))
	}
}
