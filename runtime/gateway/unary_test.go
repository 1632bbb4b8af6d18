package gateway

import (
	"net/url"
	"strings"
	"testing"
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
