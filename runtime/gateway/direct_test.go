package gateway

import (
	"encoding/json"
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestVariableValue checks that a simple variable's value the gateway
// reads itself is read as the transcoder reads it (encoding/json into the
// field's Go type), and that the values it may read otherwise, or refuse,
// are left to the transcoder.
func TestVariableValue(t *testing.T) {
	t.Parallel()
	field := func(m interface{ ProtoReflect() protoreflect.Message }) protoreflect.FieldDescriptor {
		return m.ProtoReflect().Descriptor().Fields().ByName("value")
	}
	kinds := []struct {
		fd    protoreflect.FieldDescriptor
		value func(string) (any, error)
	}{
		{field(wrapperspb.Int32(0)), decodeAs[int32]},
		{field(wrapperspb.Int64(0)), decodeAs[int64]},
		{field(wrapperspb.UInt32(0)), decodeAs[uint32]},
		{field(wrapperspb.UInt64(0)), decodeAs[uint64]},
	}
	read := []string{"0", "7", "-7", "2147483647", "-2147483648", "4294967295", "9223372036854775807", "-9223372036854775808", "18446744073709551615"}
	left := []string{"", "007", "+7", "1e3", "7.0", "0x10", "-", "--7", " 7", "7 ", "-0", "18446744073709551616", "%37", "七"}
	for _, k := range kinds {
		for _, s := range append(read, left...) {
			got, ok := variableValue(k.fd, s)
			want, err := k.value(s)
			if ok && (err != nil || got.Interface() != want) {
				t.Errorf("%s %q read as %v, want %v (%v) as the transcoder reads it", k.fd.Kind(), s, got.Interface(), want, err)
			}
			if !ok && err == nil && !slices.Contains(left, s) {
				t.Errorf("%s %q left to the transcoder, want read as %v", k.fd.Kind(), s, want)
			}
		}
	}
	for _, s := range []string{"a", "A-z_0.9~"} {
		if got, ok := variableValue(field(wrapperspb.String("")), s); !ok || got.String() != s {
			t.Errorf("string %q read as %v, %v, want itself", s, got, ok)
		}
	}
	for _, s := range []string{"", ".", "..", "a b", "a:b", "a%2F", "é", "a/b"} {
		if _, ok := variableValue(field(wrapperspb.String("")), s); ok {
			t.Errorf("string %q read by the gateway, want it left to the transcoder", s)
		}
	}
}

func decodeAs[T any](s string) (any, error) {
	var v T
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// TestRivals checks that the templates a route with variables is checked
// against on each request include every template that matches a path it
// matches (tried on every path of up to five segments from a small
// vocabulary), and leave out those that cannot.
func TestRivals(t *testing.T) {
	t.Parallel()
	compile := func(method, path string) template {
		tmpl, ok := compileTemplate(Route{Method: method, Path: path})
		if !ok {
			t.Fatalf("compileTemplate(%s %s) failed", method, path)
		}
		return tmpl
	}
	own := compile("GET", "/v1/books/{name}")
	templates := []template{
		compile("GET", "/v1/shelves/{shelf}"),
		own,
		compile("GET", "/v1/books/{name}"), // the same again: ambiguous
		compile("GET", "/v1/{name=books/*}"),
		compile("GET", "/v1/books/special"),
		compile("GET", "/v1/books/{name}/pages"),
		compile("GET", "/v1/{path=**}"),
		compile("GET", "/v1/books/{name}:read"),
		compile("POST", "/v1/books/{name}"),
		compile("GET", "/v2/books/{name}"),
	}
	got := rivals(own, templates)
	vocabulary := []string{"v1", "v2", "books", "shelves", "special", "pages", "x", "x:read"}
	var paths [][]string
	var grow func(prefix []string)
	grow = func(prefix []string) {
		if len(prefix) > 0 {
			paths = append(paths, prefix)
		}
		if len(prefix) == 5 {
			return
		}
		for _, s := range vocabulary {
			grow(append(prefix[:len(prefix):len(prefix)], s))
		}
	}
	grow(nil)
	for i, tmpl := range templates {
		if i == 1 {
			continue // own
		}
		overlaps := false
		for _, p := range paths {
			if own.match("GET", p) && tmpl.match("GET", p) {
				overlaps = true
				break
			}
		}
		kept := slices.ContainsFunc(got, func(r template) bool { return r.method == tmpl.method && r.path == tmpl.path })
		if overlaps && !kept {
			t.Errorf("rivals left out %s %s, which matches a path %s %s matches", tmpl.method, tmpl.path, own.method, own.path)
		}
		if !overlaps && kept && tmpl.verb == "" {
			t.Errorf("rivals kept %s %s, which matches no path %s %s matches", tmpl.method, tmpl.path, own.method, own.path)
		}
	}
	if n := len(got); n != 5 {
		t.Errorf("rivals = %d templates, want 5: the same template again, {name=books/*}, books/special, ** and the verb", n)
	}
}
