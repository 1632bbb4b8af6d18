package dynamic

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Position is where a message starts in a larger input, such as the third
// line of a stream of requests, so that errors say where a mistake is in the
// whole input. The zero Position is the start of the input.
type Position struct {
	// Offset is the message's offset in bytes from the start of the input.
	Offset int64
	// Line is the line the message starts on, from 1; 0 is taken as 1.
	Line int
}

// DecodeJSON parses data, one JSON object in protobuf's JSON mapping, into a
// new message of type md, which must be one of the schema's; blank data is
// the empty message. Malformed JSON, and fields and values that md does not
// have, are errors naming the message type, where the mistake is in the
// input (which data begins at start) and the field:
//
//	greeter.v1.HelloRequest at line 1, column 2 (offset 1): unknown field "nme"
func (s *Schema) DecodeJSON(data []byte, md protoreflect.MessageDescriptor, start Position) (*dynamicpb.Message, error) {
	msg := dynamicpb.NewMessage(md)
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}") // and so required fields are checked
	}
	// protojson finds syntax errors too, but says less about them.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		var syntax *json.SyntaxError
		if stderrors.As(err, &syntax) {
			// Offset counts the bytes read, the bad one included, except
			// at the end of the input.
			i := int(syntax.Offset) - 1
			if int(syntax.Offset) >= len(data) && strings.HasPrefix(syntax.Error(), "unexpected end") {
				i = len(data)
			}
			return nil, start.errorAt(md, data, i, "malformed JSON: "+syntax.Error())
		}
		return nil, fmt.Errorf("%s: malformed JSON: %w", md.FullName(), err)
	}
	if err := (protojson.UnmarshalOptions{Resolver: s.types}).Unmarshal(data, msg); err != nil {
		text := protoMessage(err)
		// protojson says where as "(line 1:5)", the column in characters.
		if m := protojsonPosition.FindStringSubmatch(text); m != nil {
			line, _ := strconv.Atoi(m[2])
			column, _ := strconv.Atoi(m[3])
			what := m[4]
			if m[1] != "" {
				what = m[1] + ": " + what
			}
			return nil, start.errorAt(md, data, indexOf(data, line, column), what)
		}
		return nil, fmt.Errorf("%s: %s", md.FullName(), text)
	}
	return msg, nil
}

var protojsonPosition = regexp.MustCompile(`^(.*?) ?\(line (\d+):(\d+)\): (.*)$`)

// errorAt returns the error what about the message of type md in data, at
// the byte index i of data.
func (p Position) errorAt(md protoreflect.MessageDescriptor, data []byte, i int, what string) error {
	i = max(0, min(i, len(data)))
	line := bytes.Count(data[:i], []byte("\n"))
	column := utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i]) + 1
	return fmt.Errorf("%s at line %d, column %d (offset %d): %s", md.FullName(), max(p.Line, 1)+line, column, p.Offset+int64(i), what)
}

// indexOf returns the byte index in data of a line (from 1) and column
// (from 1, in characters).
func indexOf(data []byte, line, column int) int {
	i := 0
	for ; line > 1; line-- {
		next := bytes.IndexByte(data[i:], '\n')
		if next < 0 {
			return len(data)
		}
		i += next + 1
	}
	for ; column > 1 && i < len(data); column-- {
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	return i
}

// protoMessage returns the text of an error from the protobuf module
// without its "proto:" prefix, which it writes with a space or a no-break
// space at random to keep programs from matching its text.
func protoMessage(err error) string {
	text, ok := strings.CutPrefix(err.Error(), "proto:")
	if !ok {
		return err.Error()
	}
	return strings.TrimLeft(text, " \u00a0")
}

// EncodeJSON writes msg and a newline in protobuf's JSON mapping, as grpcurl
// does: lowerCamelCase names, no fields that hold their zero value, on
// several indented lines (indent) or on one. The layout is encoding/json's,
// because protojson's changes at random from build to build.
func (s *Schema) EncodeJSON(w io.Writer, msg proto.Message, indent bool) error {
	data, err := protojson.MarshalOptions{Resolver: s.types}.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode %s as JSON: %s", msg.ProtoReflect().Descriptor().FullName(), protoMessage(err))
	}
	var out bytes.Buffer
	if indent {
		err = json.Indent(&out, data, "", "  ")
	} else {
		err = json.Compact(&out, data)
	}
	if err != nil {
		return fmt.Errorf("encode %s as JSON: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}
