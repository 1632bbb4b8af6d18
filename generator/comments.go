package generator

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	deprecationComment = "// Deprecated: do not use."
	// commentWidth is where generated prose wraps, leaving room for "// ".
	commentWidth = 77
)

// genComment writes a doc comment: the generated prose, wrapped, then the
// proto element's leading comment as its author wrote it, then a deprecation
// notice when the element is deprecated.
func genComment(g *protogen.GeneratedFile, leading protogen.Comments, isDeprecated bool, prose string) {
	if prose != "" {
		for _, line := range wrap(prose) {
			g.P("// ", line)
		}
	}
	if leading != "" {
		if prose != "" {
			g.P("//")
		}
		g.P(sanitize(strings.TrimSuffix(leading.String(), "\n")))
	}
	if isDeprecated {
		if prose != "" || leading != "" {
			g.P("//")
		}
		g.P(deprecationComment)
	}
}

// sanitize makes a comment's text valid in Go source whatever bytes the
// proto file held: the Go scanner rejects NUL, invalid UTF-8 and a byte
// order mark anywhere but at the start of a file, so the generated file
// would not parse. Invalid UTF-8 and control characters other than tab and
// newline become U+FFFD, which shows the reader that something was there; a
// carriage return (a CRLF proto file) and a byte order mark, both invisible
// in the source, are dropped.
func sanitize(text string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r == '\r' || r == '\uFEFF':
			return -1
		case unicode.IsControl(r):
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(text, string(utf8.RuneError)))
}

// wrap breaks text into lines of at most commentWidth bytes, at spaces; a
// word longer than that gets a line of its own.
func wrap(text string) []string {
	var lines []string
	var line strings.Builder
	for _, word := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(word) > commentWidth {
			lines = append(lines, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	return lines
}

// deprecated reports whether a service's or method's options mark it
// deprecated.
func deprecated(opts protoreflect.ProtoMessage) bool {
	switch o := opts.(type) {
	case *descriptorpb.ServiceOptions:
		return o.GetDeprecated()
	case *descriptorpb.MethodOptions:
		return o.GetDeprecated()
	case *descriptorpb.MessageOptions:
		return o.GetDeprecated()
	}
	return false
}
