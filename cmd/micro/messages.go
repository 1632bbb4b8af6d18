package main

import (
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// messageJSON is a message type in the output of micro describe -o json.
type messageJSON struct {
	Name   string      `json:"name"`
	Fields []fieldJSON `json:"fields"`
}

// fieldJSON is one field of a message type.
type fieldJSON struct {
	Name string `json:"name"`
	// JSONName is the field's name in protobuf's JSON mapping, which micro
	// call reads and writes.
	JSONName string `json:"json_name"`
	Number   int32  `json:"number"`
	// Type is a scalar type ("string"), the full name of a message or enum
	// type, or "map<K, V>".
	Type string `json:"type"`
	// Label is "repeated", "optional" (written in the proto) or "required".
	Label string `json:"label,omitempty"`
	// Oneof names the oneof the field belongs to.
	Oneof string `json:"oneof,omitempty"`
}

// enumJSON is an enum type in the output of micro describe -o json.
type enumJSON struct {
	Name   string          `json:"name"`
	Values []enumValueJSON `json:"values"`
}

// enumValueJSON is one value of an enum type.
type enumValueJSON struct {
	Name   string `json:"name"`
	Number int32  `json:"number"`
}

// writeMessage writes m in proto syntax, with full type names.
func writeMessage(w io.Writer, m messageJSON) {
	_, _ = fmt.Fprintf(w, "message %s {\n", m.Name)
	for i, f := range m.Fields {
		indent := "  "
		if f.Oneof != "" { // the fields of a oneof are declared together
			indent = "    "
			if i == 0 || m.Fields[i-1].Oneof != f.Oneof {
				_, _ = fmt.Fprintf(w, "  oneof %s {\n", f.Oneof)
			}
		}
		decl := f.Type + " " + f.Name + " = " + strconv.Itoa(int(f.Number)) + ";"
		if f.Label != "" {
			decl = f.Label + " " + decl
		}
		_, _ = fmt.Fprintf(w, "%s%s\n", indent, decl)
		if f.Oneof != "" && (i == len(m.Fields)-1 || m.Fields[i+1].Oneof != f.Oneof) {
			_, _ = fmt.Fprintln(w, "  }")
		}
	}
	_, _ = fmt.Fprintln(w, "}")
}

// writeEnum writes e in proto syntax.
func writeEnum(w io.Writer, e enumJSON) {
	_, _ = fmt.Fprintf(w, "enum %s {\n", e.Name)
	for _, v := range e.Values {
		_, _ = fmt.Fprintf(w, "  %s = %d;\n", v.Name, v.Number)
	}
	_, _ = fmt.Fprintln(w, "}")
}

// fieldLabel returns the label f is declared with: "repeated", "optional",
// "required" or "".
func fieldLabel(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return ""
	case f.IsList():
		return "repeated"
	case f.Cardinality() == protoreflect.Required:
		return "required"
	case f.HasOptionalKeyword():
		return "optional"
	}
	return ""
}

// fieldType returns the type of f as a proto file writes it, with full
// names for messages and enums.
func fieldType(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return "map<" + fieldType(f.MapKey()) + ", " + fieldType(f.MapValue()) + ">"
	case f.Message() != nil:
		return string(f.Message().FullName())
	case f.Enum() != nil:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

// messageToJSON describes md for micro describe -o json.
func messageToJSON(md protoreflect.MessageDescriptor) messageJSON {
	out := messageJSON{Name: string(md.FullName()), Fields: []fieldJSON{}}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		field := fieldJSON{
			Name:     string(f.Name()),
			JSONName: f.JSONName(),
			Number:   int32(f.Number()),
			Type:     fieldType(f),
			Label:    fieldLabel(f),
		}
		if oneof := f.ContainingOneof(); oneof != nil && !oneof.IsSynthetic() {
			field.Oneof = string(oneof.Name())
		}
		out.Fields = append(out.Fields, field)
	}
	return out
}

// enumToJSON describes ed for micro describe -o json.
func enumToJSON(ed protoreflect.EnumDescriptor) enumJSON {
	out := enumJSON{Name: string(ed.FullName()), Values: []enumValueJSON{}}
	values := ed.Values()
	for i := range values.Len() {
		out.Values = append(out.Values, enumValueJSON{Name: string(values.Get(i).Name()), Number: int32(values.Get(i).Number())})
	}
	return out
}
