package dynamic

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	s := testSchema(t)
	md := echoResponse(t, s)
	for _, tt := range []struct {
		name, data string
		at         Position
		want       string // the JSON micro writes back, or the error
	}{
		{name: "empty", data: "", at: Position{Line: 1}, want: "{}"},
		{name: "blank", data: " \n\t", at: Position{Line: 1}, want: "{}"},
		{name: "fields", data: `{"message": "hi", "metadata": {"k": "v"}, "deadline_ms": 5}`, at: Position{Line: 1},
			want: `{"message":"hi","metadata":{"k":"v"},"deadlineMs":"5"}`},
		{name: "syntax", data: `{"message": "hi",}`, at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 1, column 18 (offset 17): malformed JSON: invalid character '}' looking for beginning of object key string`},
		{name: "end of input", data: `{"message": "hi"`, at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 1, column 17 (offset 16): malformed JSON: unexpected end of JSON input`},
		{name: "unknown field on a later line", data: "{\n  \"mesage\": 1}", at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 2, column 3 (offset 4): unknown field "mesage"`},
		{name: "zero position is the start", data: `{"x": 1}`,
			want: `streaming.v1.EchoResponse at line 1, column 2 (offset 1): unknown field "x"`},
		{name: "unknown field in a stream's third line", data: `{"nde": 1}`, at: Position{Offset: 40, Line: 3},
			want: `streaming.v1.EchoResponse at line 3, column 2 (offset 41): unknown field "nde"`},
		{name: "columns count characters", data: `{"message": "héllo", "x": 1}`, at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 1, column 22 (offset 22): unknown field "x"`},
		{name: "wrong type", data: `{"metadata": []}`, at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 1, column 14 (offset 13): syntax error: unexpected token [`},
		{name: "not an object", data: `"hi"`, at: Position{Line: 1},
			want: `streaming.v1.EchoResponse at line 1, column 1 (offset 0): syntax error: unexpected token "hi"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, err := s.DecodeJSON([]byte(tt.data), md, tt.at)
			var got string
			if err != nil {
				got = err.Error()
			} else {
				var out bytes.Buffer
				if err := s.EncodeJSON(&out, msg, false); err != nil {
					t.Fatal(err)
				}
				got = strings.TrimSuffix(out.String(), "\n")
			}
			if got != tt.want {
				t.Errorf("DecodeJSON(%q) = %s\nwant %s", tt.data, got, tt.want)
			}
		})
	}
}

// FuzzDecodeJSON checks that no input makes decoding panic, and that
// what decodes encodes again and decodes to the same JSON.
func FuzzDecodeJSON(f *testing.F) {
	s := testSchema(f)
	md := echoResponse(f, s)
	for _, seed := range []string{"", "{}", `{"message": "hi", "payload": "AQI=", "metadata": {"a": "b"}, "deadlineMs": "-3"}`,
		`{"message": }`, "{\n\"x\": 1}", `[`, `{"metadata": {"a": 1}}`, "{\"message\": \"\xff\"}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := s.DecodeJSON(data, md, Position{Line: 1})
		if err != nil {
			return
		}
		var once, twice bytes.Buffer
		if err := s.EncodeJSON(&once, msg, true); err != nil {
			t.Fatalf("encode what %q decoded to: %v", data, err)
		}
		again, err := s.DecodeJSON(once.Bytes(), md, Position{Line: 1})
		if err != nil {
			t.Fatalf("decode what %q encoded to, %s: %v", data, once.Bytes(), err)
		}
		if err := s.EncodeJSON(&twice, again, true); err != nil || once.String() != twice.String() {
			t.Fatalf("%q encoded to %s, then to %s (%v)", data, once.Bytes(), twice.Bytes(), err)
		}
	})
}

func echoResponse(t testing.TB, s *Schema) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := s.files.FindDescriptorByName("streaming.v1.EchoResponse")
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MessageDescriptor)
}
