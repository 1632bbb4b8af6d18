package grpcwire

import (
	"testing"

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
