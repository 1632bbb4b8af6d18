package gateway

import (
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestPercentEncode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"no such book", "no such book"},
		{"100% sure", "100%25 sure"},
		{"line\nbreak", "line%0Abreak"},
		{"café", "caf%C3%A9"},
		{"bad \xff byte", "bad %EF%BF%BD byte"}, // an invalid byte is sent as U+FFFD
	} {
		got := percentEncode(tt.in)
		if got != tt.want {
			t.Errorf("percentEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// What a gRPC peer decodes is the message, printable ASCII kept.
		if decoded, err := url.PathUnescape(got); err != nil || decoded != strings.ToValidUTF8(tt.in, "\uFFFD") {
			t.Errorf("percentEncode(%q) = %q decodes to %q, %v", tt.in, got, decoded, err)
		}
	}
}

func TestRequiredFieldsChecked(t *testing.T) {
	t.Parallel()
	c := newCodecs()
	for _, tt := range []struct {
		m    proto.Message
		want bool
	}{
		{wrapperspb.String("x"), false},
		{new(structpb.Struct), false}, // recursive, through a map
		{new(descriptorpb.UninterpretedOption_NamePart), true},
		{new(descriptorpb.UninterpretedOption), true}, // a field of a type with required fields
		{new(descriptorpb.FileDescriptorProto), true}, // deeper, and through extensible options
		{new(descriptorpb.MessageOptions), true},      // extensible
	} {
		for range 2 { // the second answer is the cached one
			if got := c.check(tt.m); got != tt.want {
				t.Errorf("check(%T) = %v, want %v", tt.m, got, tt.want)
			}
		}
	}
}
