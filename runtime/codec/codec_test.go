package codec

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []Codec{Proto{}, JSON{}} {
		in := wrapperspb.String("hello")
		data, err := c.Marshal(in)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", c.Name(), err)
		}
		out := new(wrapperspb.StringValue)
		if err := c.Unmarshal(data, out); err != nil {
			t.Fatalf("%s: Unmarshal: %v", c.Name(), err)
		}
		if !proto.Equal(in, out) {
			t.Errorf("%s: round trip = %v, want %v", c.Name(), out, in)
		}
	}
}

func TestNotAMessage(t *testing.T) {
	t.Parallel()
	for _, c := range []Codec{Proto{}, JSON{}} {
		if _, err := c.Marshal(struct{}{}); err == nil || !strings.Contains(err.Error(), "struct {} is not a proto.Message") {
			t.Errorf("%s: Marshal(struct{}{}) error = %v, want one naming the type", c.Name(), err)
		}
	}
}

func TestJSONRaw(t *testing.T) {
	t.Parallel()
	var c JSON
	in := json.RawMessage(`{"name":"Ada"}`)
	data, err := c.Marshal(&in)
	if err != nil || string(data) != string(in) {
		t.Fatalf("Marshal(raw) = %s, %v, want %s", data, err, in)
	}
	var out json.RawMessage
	if err := c.Unmarshal([]byte(`{"a":1}`), &out); err != nil || string(out) != `{"a":1}` {
		t.Errorf("Unmarshal(raw) = %s, %v, want {\"a\":1}", out, err)
	}
}

func TestJSONUnknownField(t *testing.T) {
	t.Parallel()
	err := JSON{}.Unmarshal([]byte(`{"name":"x","nickname":"y"}`), new(descriptorpb.FieldDescriptorProto))
	if err == nil || !strings.Contains(err.Error(), `"nickname"`) {
		t.Errorf("Unmarshal with an unknown field: error = %v, want one naming %q", err, "nickname")
	}
	// Struct accepts any field: proof that the rejection above is about the schema.
	if err := (JSON{}).Unmarshal([]byte(`{"nickname":"y"}`), new(structpb.Struct)); err != nil {
		t.Errorf("Unmarshal into Struct: %v", err)
	}
}
