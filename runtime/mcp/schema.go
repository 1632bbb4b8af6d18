package mcp

import (
	"math"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/google/jsonschema-go/jsonschema"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// draft is the JSON Schema dialect of the schemas, the one MCP names.
const draft = "https://json-schema.org/draft/2020-12/schema"

// Patterns of protobuf's JSON mapping for values JSON has no type for.
// They describe the canonical form protojson writes; where protojson reads
// more (exponents, "+", ...), the schemas do not say so (see
// TestSchemaStrictness).
const (
	intPattern      = `^-?(0|[1-9][0-9]*)$`
	uintPattern     = `^(0|[1-9][0-9]*)$`
	durationPattern = `^-?[0-9]+(\.[0-9]{1,9})?s$`
	// base64Pattern is standard or URL-safe base64, padded or not, as
	// protojson reads bytes.
	base64Pattern = `^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$|` +
		`^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$`
	// timestampPattern is RFC 3339 as protojson reads a Timestamp: an upper
	// case T, up to nine fractional digits, Z or an offset.
	timestampPattern = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$`
	// fieldMaskPattern is comma-separated paths of lowerCamelCase names
	// (no underscores), as protojson reads a FieldMask.
	fieldMaskPattern = `^([A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*(,[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*)*)?$`
)

// InputSchema returns the JSON Schema of md in protobuf's JSON mapping, as a
// request: what [protojson] accepts, with the fields that google.api.field_behavior
// marks REQUIRED (and proto2 required fields, and those buf.validate marks
// required) listed as required, buf.validate's cheap rules (string lengths
// and patterns, number ranges, item counts) as constraints, and docs, the
// comments of its fields by path ("book.title", as [registry.Endpoint]
// FieldDocs holds them), as their descriptions.
//
// Messages are described once each under $defs and referred to with $ref,
// so that recursive messages end; md itself is the root ("#"). 64-bit
// integers are strings, enums their value names, well-known types their
// JSON forms (a Timestamp an RFC 3339 string, a Duration "1.5s", a Struct any
// object, ...).
//
// The schema is the canonical form protojson writes, a little stricter than
// what it reads: fields by their JSON names only, no other properties, no
// nulls, numbers and enums in one form each. It is looser only in ranges it
// cannot say cheaply (64-bit integers, durations, map keys, calendar days)
// and Any's type URL, which the service's decoding refuses.
//
// [protojson]: https://protobuf.dev/programming-guides/json/
// [registry.Endpoint]: https://pkg.go.dev/github.com/protomicro/micro/runtime/registry#Endpoint
func InputSchema(md protoreflect.MessageDescriptor, docs map[string]string) *jsonschema.Schema {
	b := &builder{root: md, input: true, docs: docs, defs: make(map[string]*jsonschema.Schema)}
	return b.build()
}

// OutputSchema returns the JSON Schema of md in protobuf's JSON mapping, as
// a response: like [InputSchema] without required fields or rules, which
// protojson, leaving out fields that hold their zero value, does not keep.
func OutputSchema(md protoreflect.MessageDescriptor) *jsonschema.Schema {
	b := &builder{root: md, defs: make(map[string]*jsonschema.Schema)}
	return b.build()
}

// streamOutputSchema returns the JSON Schema of the result of a
// server-streaming method whose responses are of type md: the responses
// collected, and whether more were left unread.
func streamOutputSchema(md protoreflect.MessageDescriptor) *jsonschema.Schema {
	b := &builder{defs: make(map[string]*jsonschema.Schema)}
	s := &jsonschema.Schema{
		Schema: draft,
		Type:   "object",
		Properties: map[string]*jsonschema.Schema{
			"responses": {Type: "array", Items: b.ref(md, ""), Description: "the responses, in the order the service sent them"},
			"truncated": {Type: "boolean", Description: "whether the service had more to send than the call collected"},
		},
		PropertyOrder: []string{"responses", "truncated"},
		Required:      []string{"responses"},
	}
	if len(b.defs) > 0 {
		s.Defs = b.defs
	}
	return s
}

// builder makes the schema of one message.
type builder struct {
	root  protoreflect.MessageDescriptor
	input bool
	docs  map[string]string
	defs  map[string]*jsonschema.Schema
}

func (b *builder) build() *jsonschema.Schema {
	var s *jsonschema.Schema
	if wk := b.wellKnown(b.root); wk != nil {
		s = wk
	} else {
		s = b.object(b.root, "")
	}
	s.Schema = draft
	if len(b.defs) > 0 {
		s.Defs = b.defs
	}
	return s
}

// ref returns the schema of a field of message type md: a well-known type's
// JSON form, or a reference to md's definition, which it adds the first
// time; path is where md is met first, for the descriptions of its fields.
func (b *builder) ref(md protoreflect.MessageDescriptor, path string) *jsonschema.Schema {
	if wk := b.wellKnown(md); wk != nil {
		return wk
	}
	if b.root != nil && md.FullName() == b.root.FullName() {
		return &jsonschema.Schema{Ref: "#"}
	}
	name := string(md.FullName())
	if _, ok := b.defs[name]; !ok {
		b.defs[name] = nil // marks it as being built, for recursion
		b.defs[name] = b.object(md, path)
	}
	return &jsonschema.Schema{Ref: "#/$defs/" + name}
}

// object returns the schema of the fields of md, whose fields' paths begin
// with prefix.
func (b *builder) object(md protoreflect.MessageDescriptor, prefix string) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "object", Properties: make(map[string]*jsonschema.Schema)}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		path := prefix + string(f.Name())
		fs := b.field(f, path)
		if doc := b.docs[path]; doc != "" {
			fs.Description = doc
		}
		if f.Options().(*descriptorpb.FieldOptions).GetDeprecated() {
			fs.Deprecated = true
		}
		s.Properties[f.JSONName()] = fs
		s.PropertyOrder = append(s.PropertyOrder, f.JSONName())
		if b.input && required(f) {
			s.Required = append(s.Required, f.JSONName())
		}
	}
	if b.input {
		// protojson rejects unknown fields. (It also reads the proto names
		// of fields, "a_bool"; the schema asks for the JSON names only.)
		s.AdditionalProperties = &jsonschema.Schema{Not: &jsonschema.Schema{}}
	}
	// At most one field of a oneof is set: none of them, or exactly one.
	oneofs := md.Oneofs()
	for i := range oneofs.Len() {
		o := oneofs.Get(i)
		if o.IsSynthetic() || o.Fields().Len() < 2 {
			continue
		}
		var one []*jsonschema.Schema
		for j := range o.Fields().Len() {
			one = append(one, &jsonschema.Schema{Required: []string{o.Fields().Get(j).JSONName()}})
		}
		s.AllOf = append(s.AllOf, &jsonschema.Schema{
			Description: "oneof " + string(o.Name()) + ": at most one of its fields",
			OneOf:       append(one, &jsonschema.Schema{Not: &jsonschema.Schema{AnyOf: one}}),
		})
	}
	return s
}

// field returns the schema of f's value, a list of them, or a map of them.
func (b *builder) field(f protoreflect.FieldDescriptor, path string) *jsonschema.Schema {
	rules := fieldRules(f)
	switch {
	case f.IsMap():
		s := &jsonschema.Schema{Type: "object", AdditionalProperties: b.value(f.MapValue(), path+".", rules.GetMap().GetValues())}
		if key := keyPattern(f.MapKey().Kind()); key != "" {
			s.PropertyNames = &jsonschema.Schema{Pattern: key}
		}
		if b.input {
			s.MinProperties = length(rules.GetMap().ProtoReflect(), "min_pairs")
			s.MaxProperties = length(rules.GetMap().ProtoReflect(), "max_pairs")
		}
		return s
	case f.IsList():
		s := &jsonschema.Schema{Type: "array", Items: b.value(f, path+".", rules.GetRepeated().GetItems())}
		if b.input {
			s.MinItems = length(rules.GetRepeated().ProtoReflect(), "min_items")
			s.MaxItems = length(rules.GetRepeated().ProtoReflect(), "max_items")
			s.UniqueItems = rules.GetRepeated().GetUnique()
		}
		return s
	}
	return b.value(f, path+".", rules)
}

// value returns the schema of one value of f, with rules as constraints on
// input; prefix begins the paths of a message value's fields.
func (b *builder) value(f protoreflect.FieldDescriptor, prefix string, rules *validate.FieldRules) *jsonschema.Schema {
	if f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
		return b.ref(f.Message(), prefix)
	}
	if f.Kind() == protoreflect.EnumKind {
		return b.enum(f.Enum())
	}
	s := scalar(f.Kind())
	if b.input && rules != nil {
		constrain(s, rules)
	}
	return s
}

// enum returns the schema of an enum's value, its name, defining it once.
func (b *builder) enum(ed protoreflect.EnumDescriptor) *jsonschema.Schema {
	if ed.FullName() == "google.protobuf.NullValue" {
		return &jsonschema.Schema{Type: "null"}
	}
	name := string(ed.FullName())
	if _, ok := b.defs[name]; !ok {
		s := &jsonschema.Schema{Type: "string"}
		values := ed.Values()
		for i := range values.Len() {
			s.Enum = append(s.Enum, string(values.Get(i).Name()))
		}
		b.defs[name] = s
	}
	return &jsonschema.Schema{Ref: "#/$defs/" + name}
}

// scalar returns the schema of a value of a scalar kind in protobuf's JSON
// mapping.
func scalar(kind protoreflect.Kind) *jsonschema.Schema {
	switch kind {
	case protoreflect.BoolKind:
		return &jsonschema.Schema{Type: "boolean"}
	case protoreflect.StringKind:
		return &jsonschema.Schema{Type: "string"}
	case protoreflect.BytesKind:
		return &jsonschema.Schema{Type: "string", ContentEncoding: "base64", Pattern: base64Pattern}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return &jsonschema.Schema{Type: "integer", Minimum: ptr(float64(math.MinInt32)), Maximum: ptr(float64(math.MaxInt32))}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return &jsonschema.Schema{Type: "integer", Minimum: ptr(0.0), Maximum: ptr(float64(math.MaxUint32))}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return &jsonschema.Schema{Type: "string", Pattern: intPattern, Description: "a 64-bit integer, in decimal"}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return &jsonschema.Schema{Type: "string", Pattern: uintPattern, Description: "an unsigned 64-bit integer, in decimal"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		number := &jsonschema.Schema{Type: "number"}
		if kind == protoreflect.FloatKind { // protojson rejects what a float cannot hold
			number.Minimum, number.Maximum = ptr(-math.MaxFloat32), ptr(math.MaxFloat32)
		}
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			number,
			{Type: "string", Enum: []any{"NaN", "Infinity", "-Infinity"}},
		}}
	}
	return &jsonschema.Schema{}
}

// keyPattern returns the pattern of a map key of kind in JSON, where every
// key is a string, or "" for string keys.
func keyPattern(kind protoreflect.Kind) string {
	switch kind {
	case protoreflect.BoolKind:
		return `^(true|false)$`
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return intPattern
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return uintPattern
	}
	return ""
}

// wellKnown returns the JSON form of a google.protobuf type that protobuf's
// JSON mapping writes other than as an object of its fields, or nil.
func (b *builder) wellKnown(md protoreflect.MessageDescriptor) *jsonschema.Schema {
	name := string(md.FullName())
	if !strings.HasPrefix(name, "google.protobuf.") {
		return nil
	}
	switch strings.TrimPrefix(name, "google.protobuf.") {
	case "Timestamp":
		return &jsonschema.Schema{Type: "string", Format: "date-time", Pattern: timestampPattern, Description: `an RFC 3339 time in UTC, "2006-01-02T15:04:05Z"`}
	case "Duration":
		return &jsonschema.Schema{Type: "string", Pattern: durationPattern, Description: `a duration in seconds, "1.5s"`}
	case "FieldMask":
		return &jsonschema.Schema{Type: "string", Pattern: fieldMaskPattern, Description: `field paths in lowerCamelCase, separated by commas, "title,author.name"`}
	case "Struct":
		return &jsonschema.Schema{Type: "object"}
	case "ListValue":
		return &jsonschema.Schema{Type: "array"}
	case "Value":
		return &jsonschema.Schema{Description: "any JSON value"}
	case "Empty":
		return &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}}}
	case "Any":
		return &jsonschema.Schema{
			Type:        "object",
			Properties:  map[string]*jsonschema.Schema{"@type": {Type: "string", Description: `the type URL, "type.googleapis.com/pkg.Message"`}},
			Required:    []string{"@type"},
			Description: "a message of any type: @type names it, the other fields are its own",
		}
	case "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue":
		return scalar(md.Fields().ByName("value").Kind())
	}
	return nil
}

// required reports whether a request must set f: a proto2 required field, or
// one that google.api.field_behavior marks REQUIRED or buf.validate required.
func required(f protoreflect.FieldDescriptor) bool {
	if f.Cardinality() == protoreflect.Required || fieldRules(f).GetRequired() {
		return true
	}
	opts, ok := f.Options().(*descriptorpb.FieldOptions)
	if !ok || !proto.HasExtension(opts, annotations.E_FieldBehavior) {
		return false
	}
	for _, behavior := range proto.GetExtension(opts, annotations.E_FieldBehavior).([]annotations.FieldBehavior) {
		if behavior == annotations.FieldBehavior_REQUIRED {
			return true
		}
	}
	return false
}

// fieldRules returns f's buf.validate rules, or nil.
func fieldRules(f protoreflect.FieldDescriptor) *validate.FieldRules {
	opts, ok := f.Options().(*descriptorpb.FieldOptions)
	if !ok || !proto.HasExtension(opts, validate.E_Field) {
		return nil
	}
	rules, _ := proto.GetExtension(opts, validate.E_Field).(*validate.FieldRules)
	return rules
}

// constrain adds the rules JSON Schema can say of a scalar to s: lengths,
// patterns and constants of strings, and the ranges of numbers JSON writes
// as numbers. Others (CEL expressions, well-known formats, 64-bit ranges)
// are left to the service, which checks them all anyway.
func constrain(s *jsonschema.Schema, rules *validate.FieldRules) {
	if r := rules.GetString(); r != nil {
		m := r.ProtoReflect()
		s.MinLength = length(m, "min_len")
		s.MaxLength = length(m, "max_len")
		if n := length(m, "len"); n != nil {
			s.MinLength, s.MaxLength = n, n
		}
		s.Pattern = r.GetPattern()
		for _, v := range r.GetIn() {
			s.Enum = append(s.Enum, v)
		}
		return
	}
	if s.Type != "integer" && s.AnyOf == nil {
		return // 64-bit integers, strings in JSON, and other kinds
	}
	m := rules.ProtoReflect()
	var numbers protoreflect.Message
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.ContainingOneof() != nil && fd.ContainingOneof().Name() == "type" && fd.Kind() == protoreflect.MessageKind {
			numbers = v.Message()
			return false
		}
		return true
	})
	if numbers == nil {
		return
	}
	bounded := *s
	if s.AnyOf != nil {
		bounded = *s.AnyOf[0] // the number; NaN and the infinities are strings
	}
	found := false
	for name, dst := range map[string]**float64{"gt": &bounded.ExclusiveMinimum, "gte": &bounded.Minimum, "lt": &bounded.ExclusiveMaximum, "lte": &bounded.Maximum} {
		fd := numbers.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil || !numbers.Has(fd) {
			continue
		}
		switch v := numbers.Get(fd).Interface().(type) {
		case int32:
			*dst = ptr(float64(v))
		case uint32:
			*dst = ptr(float64(v))
		case float32:
			*dst = ptr(float64(v))
		case float64:
			*dst = ptr(v)
		default:
			continue
		}
		found = true
	}
	if found {
		*s = bounded // a bounded float is finite: a number
	}
}

// length returns the value of an unsigned count field of a rules message,
// or nil when unset.
func length(m protoreflect.Message, name protoreflect.Name) *int {
	if m == nil || !m.IsValid() {
		return nil
	}
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || !m.Has(fd) {
		return nil
	}
	n := m.Get(fd).Uint()
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	return ptr(int(n))
}

func ptr[T any](v T) *T { return &v }
