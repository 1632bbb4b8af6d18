package dynamic

import (
	"bytes"
	stderrors "errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/protomicro/micro/testdata/golden/streaming"
)

func TestUnpackAny(t *testing.T) {
	t.Parallel()
	s := testSchema(t)
	for _, tt := range []struct {
		name string
		msg  *anypb.Any
		want string // the JSON of what a holds, or "" when it is not found
	}{
		{name: "google.rpc detail", msg: mustAny(t, &errdetails.ErrorInfo{Reason: "R", Domain: "d", Metadata: map[string]string{"k": "v"}}),
			want: `{"reason":"R","domain":"d","metadata":{"k":"v"}}`},
		{name: "schema type", msg: mustAny(t, &streaming.EchoResponse{Message: "hi"}), want: `{"message":"hi"}`},
		{name: "unknown type", msg: &anypb.Any{TypeUrl: "type.googleapis.com/no.such.Type", Value: []byte{1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, err := s.UnpackAny(tt.msg)
			if tt.want == "" {
				if !stderrors.Is(err, protoregistry.NotFound) {
					t.Errorf("UnpackAny(%s) = %v, %v, want an error wrapping protoregistry.NotFound", tt.msg.GetTypeUrl(), msg, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnpackAny(%s) = %v", tt.msg.GetTypeUrl(), err)
			}
			var out bytes.Buffer
			if err := s.EncodeJSON(&out, msg, false); err != nil {
				t.Fatal(err)
			}
			if got := bytes.TrimSuffix(out.Bytes(), []byte("\n")); string(got) != tt.want {
				t.Errorf("UnpackAny(%s) = %s, want %s", tt.msg.GetTypeUrl(), got, tt.want)
			}
		})
	}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
