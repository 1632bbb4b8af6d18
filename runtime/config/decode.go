package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// decode fills v from the snapshot; strict refuses keys that match no field.
func (s *Snapshot) decode(v any, strict bool) error {
	if m, ok := v.(proto.Message); ok {
		return s.decodeProto(m, strict)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("scan config into %T: want a non-nil pointer", v)
	}
	if strict {
		if err := s.checkKeys(s.k.Raw(), "", knownOfType(rv.Type().Elem())); err != nil {
			return err
		}
	}
	err := s.k.UnmarshalWithConf("", v, koanf.UnmarshalConf{
		Tag: "json",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				mapstructure.StringToTimeDurationHookFunc(),
				mapstructure.StringToSliceHookFunc(","),
				mapstructure.TextUnmarshallerHookFunc()),
			WeaklyTypedInput: true,
		},
	})
	if err != nil {
		return s.typeError(err)
	}
	return nil
}

// typeError names the key, the type wanted and the type found in a
// decoding error.
func (s *Snapshot) typeError(err error) error {
	var decodeErr *mapstructure.DecodeError
	if !errors.As(err, &decodeErr) {
		return fmt.Errorf("decode config: %w", err)
	}
	key := decodeErr.Name()
	var parseErr *mapstructure.ParseError
	var convertErr *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(err, &parseErr):
		return s.mismatch(key, parseErr.Expected.Type().String(), parseErr.Value)
	case errors.As(err, &convertErr):
		return s.mismatch(key, convertErr.Expected.Type().String(), convertErr.Value)
	}
	return &Error{Source: s.sources[key], Key: key, Err: decodeErr.Unwrap()}
}

// mismatch is the error for a value of the wrong type. It shows a string
// found, to tell "8080" from "eighty", unless its key is a secret.
func (s *Snapshot) mismatch(key, want string, got any) error {
	found := typeName(got)
	if _, isString := got.(string); isString && s.IsSecret(key) {
		found = "a string"
	}
	return &Error{Source: s.sourceOf(key), Key: key, Err: fmt.Errorf("want %s, got %s", want, found)}
}

// sourceOf is the source of key, or of the first value under it.
func (s *Snapshot) sourceOf(key string) string {
	if source, ok := s.sources[key]; ok {
		return source
	}
	for _, k := range s.keys {
		if strings.HasPrefix(k, key+".") {
			return s.sources[k]
		}
	}
	return ""
}

// typeName names the type of a decoded value as a config file would.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", truncate(v))
	case bool:
		return "bool"
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	if k := reflect.TypeOf(v).Kind(); k >= reflect.Int && k <= reflect.Float64 {
		return "number"
	}
	return reflect.TypeOf(v).String()
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// known is the set of keys a type accepts at one level: nil means any key
// (a map, an interface), and each known name leads to the next level.
type known map[string]func() known

// knownOfType is the keys a Go type accepts, as mapstructure matches them.
func knownOfType(t reflect.Type) known {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	out := known{}
	for i := range t.NumField() {
		field := t.Field(i)
		if !field.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(field.Name)
		}
		out[name] = func() known { return knownOfType(field.Type) }
	}
	return out
}

// checkKeys refuses the first key of m, at prefix, that k does not know,
// naming the nearest known one.
func (s *Snapshot) checkKeys(m map[string]any, prefix string, k known) error {
	if k == nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, key := range keys {
		next, ok := k[key]
		if !ok {
			next, ok = k[strings.ToLower(key)]
		}
		if !ok {
			err := errors.New("unknown key")
			if near := nearest(key, k); near != "" {
				err = fmt.Errorf("unknown key; did you mean %q?", prefix+near)
			}
			return &Error{Source: s.sourceOf(prefix + key), Key: prefix + key, Err: err}
		}
		if sub, isMap := m[key].(map[string]any); isMap {
			if err := s.checkKeys(sub, prefix+key+".", next()); err != nil {
				return err
			}
		}
	}
	return nil
}

// nearest returns the known name closest to key by edit distance, or ""
// when none is close.
func nearest(key string, k known) string {
	best, bestDistance := "", len(key)/2+2
	for _, name := range slices.Sorted(maps.Keys(k)) {
		if d := distance(strings.ToLower(key), name); d < bestDistance {
			best, bestDistance = name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// decodeProto fills m through protojson, after converting the values to
// what protojson wants for each field (strings from the environment to
// numbers and bools).
func (s *Snapshot) decodeProto(m proto.Message, strict bool) error {
	tree, err := s.protoMessage(s.k.Raw(), "", m.ProtoReflect().Descriptor(), strict)
	if err != nil {
		return err
	}
	data, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("decode config into %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	proto.Reset(m)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: !strict}).Unmarshal(data, m); err != nil {
		return fmt.Errorf("decode config into %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// protoMessage converts the values of in for message md.
func (s *Snapshot) protoMessage(in map[string]any, prefix string, md protoreflect.MessageDescriptor, strict bool) (map[string]any, error) {
	out := make(map[string]any, len(in))
	fields := md.Fields()
	for _, key := range slices.Sorted(maps.Keys(in)) {
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil {
			fd = fields.ByJSONName(key)
		}
		if fd == nil {
			if !strict {
				continue
			}
			k := known{}
			for i := range fields.Len() {
				k[string(fields.Get(i).Name())] = nil
			}
			err := errors.New("unknown field of " + string(md.FullName()))
			if near := nearest(key, k); near != "" {
				err = fmt.Errorf("unknown field of %s; did you mean %q?", md.FullName(), prefix+near)
			}
			return nil, &Error{Source: s.sourceOf(prefix + key), Key: prefix + key, Err: err}
		}
		v, err := s.protoField(in[key], prefix+key, fd, strict)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

// protoField converts v for field fd: the whole field, a list or a map.
func (s *Snapshot) protoField(v any, key string, fd protoreflect.FieldDescriptor, strict bool) (any, error) {
	switch {
	case fd.IsList():
		if str, ok := v.(string); ok { // from the environment: a,b,c
			v = toAnySlice(strings.Split(str, ","))
		}
		list, ok := v.([]any)
		if !ok {
			return nil, s.mismatch(key, "a list", v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			var err error
			if out[i], err = s.protoSingular(e, key+"."+strconv.Itoa(i), fd, strict); err != nil {
				return nil, err
			}
		}
		return out, nil
	case fd.IsMap():
		m, ok := v.(map[string]any)
		if !ok {
			return nil, s.mismatch(key, "a map", v)
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var err error
			if out[k], err = s.protoSingular(e, key+"."+k, fd.MapValue(), strict); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return s.protoSingular(v, key, fd, strict)
}

func toAnySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// protoSingular converts one value for a field of fd's kind.
func (s *Snapshot) protoSingular(v any, key string, fd protoreflect.FieldDescriptor, strict bool) (any, error) {
	str, isString := v.(string)
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
			return v, nil // a well-known type: protojson knows its forms ("1.5s")
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, s.mismatch(key, "a map for "+string(md.FullName()), v)
		}
		return s.protoMessage(m, key+".", md, strict)
	case protoreflect.BoolKind:
		if isString {
			b, err := strconv.ParseBool(str)
			if err != nil {
				return nil, s.mismatch(key, "bool", v)
			}
			return b, nil
		}
		if _, ok := v.(bool); !ok {
			return nil, s.mismatch(key, "bool", v)
		}
	case protoreflect.StringKind, protoreflect.BytesKind:
		switch v.(type) {
		case string:
		case bool, int, int64, uint64, float64:
			return fmt.Sprint(v), nil
		default:
			return nil, s.mismatch(key, "string", v)
		}
	case protoreflect.EnumKind:
		if !isString && typeName(v) != "number" {
			return nil, s.mismatch(key, "enum "+string(fd.Enum().FullName()), v)
		}
	default: // numbers
		if isString {
			if _, err := strconv.ParseFloat(str, 64); err != nil && !slices.Contains([]string{"NaN", "Infinity", "-Infinity"}, str) {
				return nil, s.mismatch(key, fd.Kind().String(), v)
			}
			return str, nil // protojson takes numbers in strings, exactly
		}
		if typeName(v) != "number" {
			return nil, s.mismatch(key, fd.Kind().String(), v)
		}
	}
	return v, nil
}
