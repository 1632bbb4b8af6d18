package generator

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, text, want string
	}{
		{"plain", "// Hello, 世界 */ \"x\"", "// Hello, 世界 */ \"x\""},
		{"tab and lines", "// a\tb\n// c", "// a\tb\n// c"},
		{"byte order mark", "// \uFEFFHello \uFEFFthere", "// Hello there"},
		{"NUL", "// a\x00b", "// a\uFFFDb"},
		{"invalid UTF-8", "// a\xff\xfeb\xc0", "// a\uFFFDb\uFFFD"},
		{"control characters", "// \x01\x1b[1m\x7f\x0c\u0085", "// \uFFFD\uFFFD[1m\uFFFD\uFFFD\uFFFD"},
		{"CRLF", "// a\r\n// b\r", "// a\n// b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sanitize(tt.text); got != tt.want {
				t.Errorf("sanitize(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

// FuzzSanitize checks that whatever bytes a proto comment holds, the comment
// protoc-gen-micro writes for it parses as Go.
func FuzzSanitize(f *testing.F) {
	for _, seed := range []string{"\uFEFF", "\x00", "\xff", "*/", "\r\n", "\u2028", "a\x1b\x7f"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var comment strings.Builder
		for line := range strings.SplitSeq(text, "\n") {
			comment.WriteString("//" + line + "\n")
		}
		src := "package p\n\n" + sanitize(comment.String()) + "type T int\n"
		if _, err := parser.ParseFile(token.NewFileSet(), "p.go", src, parser.ParseComments); err != nil {
			t.Errorf("sanitize(%q) does not parse: %v", comment.String(), err)
		}
	})
}
