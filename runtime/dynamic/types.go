package dynamic

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// UsedTypes returns the message types named and those their fields use, and
// the enum types all of them use, in the order first met: what a person or a
// program needs to know to write a method's request and read its response.
// Names the schema does not have are left out. Types of the google.protobuf
// package are not listed, nor followed: they are well known, and protobuf's
// JSON mapping writes most of them as plain values rather than as objects of
// their fields.
func (s *Schema) UsedTypes(names ...string) ([]protoreflect.MessageDescriptor, []protoreflect.EnumDescriptor) {
	var (
		messages []protoreflect.MessageDescriptor
		enums    []protoreflect.EnumDescriptor
		seen     = make(map[protoreflect.FullName]bool)
		visit    func(md protoreflect.MessageDescriptor)
	)
	visitField := func(f protoreflect.FieldDescriptor) {
		switch {
		case f.Message() != nil:
			visit(f.Message())
		case f.Enum() != nil && !wellKnown(f.Enum().FullName()) && !seen[f.Enum().FullName()]:
			seen[f.Enum().FullName()] = true
			enums = append(enums, f.Enum())
		}
	}
	visit = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || wellKnown(md.FullName()) {
			return
		}
		seen[md.FullName()] = true
		if md.IsMapEntry() {
			visitField(md.Fields().ByNumber(2)) // the value; keys are scalars
			return
		}
		messages = append(messages, md)
		fields := md.Fields()
		for i := range fields.Len() {
			visitField(fields.Get(i))
		}
	}
	for _, name := range names {
		if md, err := s.files.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
			if md, ok := md.(protoreflect.MessageDescriptor); ok {
				visit(md)
			}
		}
	}
	return messages, enums
}

// wellKnown reports whether name is of the google.protobuf package.
func wellKnown(name protoreflect.FullName) bool {
	return strings.HasPrefix(string(name), "google.protobuf.")
}
