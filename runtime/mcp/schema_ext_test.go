package mcp_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
	"github.com/google/jsonschema-go/jsonschema"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/mcp"
	"github.com/protomicro/micro/testdata/testutil"
)

var update = flag.Bool("update", false, "rewrite the schema goldens in testdata/kinds")

// kinds compiles testdata/kinds.proto and returns its files as a node's
// reflection answers would give them: descriptors marshaled and read back,
// their options' extensions parsed by the types linked into the program.
// google/api/field_behavior.proto and buf/validate/validate.proto, which micro
// generate does not build in, come from the Go packages that declare them.
func kinds(t *testing.T) *protoregistry.Files {
	t.Helper()
	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
		&protocompile.SourceResolver{ImportPaths: []string{"testdata"}},
		protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
			if err != nil {
				return protocompile.SearchResult{}, err
			}
			return protocompile.SearchResult{Desc: fd}, nil
		}),
	})}
	compiled, err := compiler.Compile(testutil.Context(t), "kinds.proto")
	if err != nil {
		t.Fatal(err)
	}
	set := new(descriptorpb.FileDescriptorSet)
	seen := make(map[string]bool)
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		raw, err := proto.Marshal(protodesc.ToFileDescriptorProto(fd))
		if err != nil {
			t.Fatal(err)
		}
		file := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(raw, file); err != nil {
			t.Fatal(err)
		}
		set.File = append(set.File, file)
	}
	add(compiled[0])
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func kindsMethod(t *testing.T, files *protoregistry.Files, name string) protoreflect.MethodDescriptor {
	t.Helper()
	d, err := files.FindDescriptorByName(protoreflect.FullName("kinds.v1.Kinds." + name))
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MethodDescriptor)
}

// TestSchemaGolden pins the input and output schemas of each method of
// testdata/kinds.proto, with the request fields' docs the registry would
// carry; go test -update (make generate) rewrites them.
func TestSchemaGolden(t *testing.T) {
	files := kinds(t)
	docs := map[string]string{"name": "The name, in lower case.", "tree.label": "What the root node says."}
	for _, method := range []string{"Everything", "Shapes", "Known"} {
		t.Run(method, func(t *testing.T) {
			m := kindsMethod(t, files, method)
			got, err := json.MarshalIndent(map[string]*jsonschema.Schema{
				"input":  mcp.InputSchema(m.Input(), docs),
				"output": mcp.OutputSchema(m.Output()),
			}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "kinds", method+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("schemas of %s differ from %s (-want +got):\n%s", method, path, diff)
			}
		})
	}
}

// TestSchemaValidates checks each schema is valid JSON Schema (it resolves,
// after a round trip through its JSON, as a client reads it), that the
// protojson of a sample message passes it, and that wrong values fail it.
func TestSchemaValidates(t *testing.T) {
	files := kinds(t)
	types := dynamicpb.NewTypes(files)
	for _, tt := range []struct {
		method string
		sample string
		wrong  map[string]string // why -> the request
	}{
		{
			method: "Everything",
			sample: `{"aDouble": 1.5, "aFloat": "NaN", "anInt32": -3, "anInt64": "-9007199254740993", "aUint32": 4000000000,
				"aUint64": "18446744073709551615", "aSint32": -1, "aSint64": "-2", "aFixed32": 7, "aFixed64": "8", "anSfixed32": -9,
				"anSfixed64": "-10", "aBool": true, "aString": "héllo", "someBytes": "aGk=", "maybe": ""}`,
			wrong: map[string]string{
				"int32 as a string of letters": `{"anInt32": "three"}`,
				"int32 out of range":           `{"anInt32": 3000000000}`,
				"int64 not decimal":            `{"anInt64": "0x10"}`,
				"uint64 negative":              `{"aUint64": "-1"}`,
				"bool as a string":             `{"aBool": "yes"}`,
				"string as a number":           `{"aString": 5}`,
				"double as a word":             `{"aDouble": "lots"}`,
			},
		},
		{
			method: "Shapes",
			sample: `{"name": "ada", "id": "x", "count": 3, "ratio": 0.5, "color": "COLOR_RED", "colors": ["COLOR_GREEN"],
				"tags": ["a"], "tree": {"label": "root", "children": [{"label": "kid", "leaf": {"color": "COLOR_RED"}}]},
				"forest": [{"label": "t"}], "counts": {"a": "1"}, "nodesById": {"-4": {"label": "n"}}, "flags": {"true": "yes"},
				"node": {"label": "chosen"}, "next": {"name": "bob", "id": "y", "tags": ["b"], "text": "deep"}}`,
			wrong: map[string]string{
				"required name missing":   `{"id": "x"}`,
				"buf.validate required":   `{"name": "ada"}`,
				"name too short":          `{"name": "a", "id": "x"}`,
				"name not lower case":     `{"name": "Ada", "id": "x"}`,
				"count above lte":         `{"name": "ada", "id": "x", "count": 11}`,
				"ratio at gt bound":       `{"name": "ada", "id": "x", "ratio": 0}`,
				"unknown enum name":       `{"name": "ada", "id": "x", "color": "COLOR_BLUE"}`,
				"too many tags":           `{"name": "ada", "id": "x", "tags": ["a", "b", "c", "d"]}`,
				"repeated as an object":   `{"name": "ada", "id": "x", "forest": {"label": "t"}}`,
				"nested message a string": `{"name": "ada", "id": "x", "tree": "root"}`,
				"recursive field wrong":   `{"name": "ada", "id": "x", "tree": {"children": [{"label": 1}]}}`,
				"map key not an integer":  `{"name": "ada", "id": "x", "nodesById": {"four": {}}}`,
				"map value wrong":         `{"name": "ada", "id": "x", "counts": {"a": 1.5}}`,
				"two fields of a oneof":   `{"name": "ada", "id": "x", "text": "t", "number": "1"}`,
				"self reference wrong":    `{"name": "ada", "id": "x", "next": {"name": 5}}`,
			},
		},
		{
			method: "Known",
			sample: `{"at": "2026-12-01T22:24:51.5Z", "took": "1.500s", "object": {"a": [1, {"b": null}]}, "value": "anything",
				"list": [1, "two"], "mask": "aDouble,anInt32", "doubleValue": 1.5, "floatValue": "Infinity", "int64Value": "5",
				"uint64Value": "6", "int32Value": 7, "uint32Value": 8, "boolValue": false, "stringValue": "s", "bytesValue": "AA==",
				"any": {"@type": "type.googleapis.com/kinds.v1.Node", "label": "in an any"}, "empty": {}, "null": null}`,
			wrong: map[string]string{
				"timestamp as a number":    `{"at": 1764627891}`,
				"duration without unit":    `{"took": "1.5"}`,
				"struct as a list":         `{"object": [1]}`,
				"list value as an object":  `{"list": {}}`,
				"int64 wrapper as a float": `{"int64Value": "1.5"}`,
				"bool wrapper as a string": `{"boolValue": "true"}`,
				"any without @type":        `{"any": {"label": "x"}}`,
				"empty with a field":       `{"empty": {"x": 1}}`,
				"null as a string":         `{"null": "NULL_VALUE"}`,
			},
		},
	} {
		t.Run(tt.method, func(t *testing.T) {
			m := kindsMethod(t, files, tt.method)
			input := resolve(t, mcp.InputSchema(m.Input(), nil))
			output := resolve(t, mcp.OutputSchema(m.Output()))

			// The sample as protojson reads it and writes it back.
			msg := dynamicpb.NewMessage(m.Input())
			if err := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(tt.sample), msg); err != nil {
				t.Fatalf("protojson rejects the sample: %v", err)
			}
			written, err := protojson.MarshalOptions{Resolver: types}.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			for _, data := range [][]byte{[]byte(tt.sample), written} {
				if err := validate(input, data); err != nil {
					t.Errorf("input schema rejects %s: %v", data, err)
				}
			}
			if m.Output().FullName() == m.Input().FullName() {
				if err := validate(output, written); err != nil {
					t.Errorf("output schema rejects %s: %v", written, err)
				}
			}
			for why, data := range tt.wrong {
				if err := validate(input, []byte(data)); err == nil {
					t.Errorf("input schema accepts %s (%s)", data, why)
				}
			}
		})
	}
	// Empty, a response, is an object with no fields.
	empty := resolve(t, mcp.OutputSchema(kindsMethod(t, files, "Known").Output()))
	if err := validate(empty, []byte(`{}`)); err != nil {
		t.Errorf("Empty's schema rejects {}: %v", err)
	}
	if err := validate(empty, []byte(`{"a": 1}`)); err == nil {
		t.Errorf(`Empty's schema accepts {"a": 1}`)
	}
}

// resolve returns s, as a client reads it from its JSON, resolved.
func resolve(t *testing.T, s *jsonschema.Schema) *jsonschema.Resolved {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	read := new(jsonschema.Schema)
	if err := json.Unmarshal(data, read); err != nil {
		t.Fatalf("read the schema back: %v\n%s", err, data)
	}
	r, err := read.Resolve(nil)
	if err != nil {
		t.Fatalf("not a valid JSON Schema: %v\n%s", err, data)
	}
	return r
}

func validate(r *jsonschema.Resolved, data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return r.Validate(v)
}

// TestSchemaStrictness compares each input schema with what protojson, which
// decodes a tool's arguments, reads: a value both accept or both reject has
// no note; every difference is listed with why, so that this table is the
// documentation of where the schemas deviate. Schemas are stricter where
// protojson reads more than the canonical form it writes (the schema gives
// the model one way to say a thing); they are looser only where JSON Schema
// cannot say the rule cheaply, and the call then fails with protojson's
// error as an isError result.
func TestSchemaStrictness(t *testing.T) {
	files := kinds(t)
	types := dynamicpb.NewTypes(files)
	const (
		canonical = "stricter: the schema asks for the canonical form protojson writes"
		null      = "stricter: protojson reads null as an unset field; the schema asks to leave it out"
		protoName = "stricter: protojson reads proto field names too; the schema asks for the JSON names"
		looser    = "looser: a range or rule JSON Schema does not say; the service's protojson refuses it"
	)
	for _, tt := range []struct {
		method, input     string
		protojson, schema bool   // whether each accepts input
		note              string // why they differ
	}{
		{"Everything", `{"bogus": 1}`, false, false, ""},
		{"Everything", `{"a_bool": "yes"}`, false, false, ""},
		{"Everything", `{"aDouble": 1, "a_double": 2}`, false, false, ""},
		{"Everything", `{"a_bool": true}`, true, false, protoName},
		{"Everything", `{"aString": null}`, true, false, null},
		{"Everything", `{"anInt32": 3.0}`, true, true, ""},
		{"Everything", `{"anInt32": 1e2}`, true, true, ""},
		{"Everything", `{"anInt32": 3.5}`, false, false, ""},
		{"Everything", `{"anInt32": "3"}`, true, false, canonical},
		{"Everything", `{"anInt32": "05"}`, false, false, ""},
		{"Everything", `{"anInt64": "-0"}`, true, true, ""},
		{"Everything", `{"anInt64": "05"}`, false, false, ""},
		{"Everything", `{"anInt64": "+5"}`, false, false, ""},
		{"Everything", `{"anInt64": 5}`, true, false, canonical},
		{"Everything", `{"anInt64": "1e2"}`, true, false, canonical},
		{"Everything", `{"anInt64": "5.0"}`, true, false, canonical},
		{"Everything", `{"anInt64": "99999999999999999999"}`, false, true, looser},
		{"Everything", `{"aUint64": "18446744073709551616"}`, false, true, looser},
		{"Everything", `{"aUint64": "+5"}`, false, false, ""},
		{"Everything", `{"aDouble": "1.5"}`, true, false, canonical},
		{"Everything", `{"aDouble": "-Infinity"}`, true, true, ""},
		{"Everything", `{"aFloat": 1e39}`, false, false, ""},
		{"Everything", `{"someBytes": ""}`, true, true, ""},
		{"Everything", `{"someBytes": "AA=="}`, true, true, ""},
		{"Everything", `{"someBytes": "AAA"}`, true, true, ""},
		{"Everything", `{"someBytes": "_-=="}`, true, true, ""},
		{"Everything", `{"someBytes": "!!"}`, false, false, ""},
		{"Everything", `{"someBytes": "A"}`, false, false, ""},
		{"Everything", `{"someBytes": "AA="}`, false, false, ""},
		{"Everything", `{"someBytes": "a+_A"}`, false, false, ""},
		{"Everything", `{"someBytes": "AA\nAA"}`, true, false, canonical},
		{"Shapes", `{"name": "ada", "id": "x", "color": 1}`, true, false, canonical},
		{"Shapes", `{"name": "ada", "id": "x", "color": 7}`, true, false, canonical},
		{"Shapes", `{"name": "ada", "id": "x", "colors": [null]}`, false, false, ""},
		{"Shapes", `{"name": "ada", "id": "x", "tags": ["a", null]}`, false, false, ""},
		{"Shapes", `{"name": "ada", "id": "x", "tags": null}`, true, false, null},
		{"Shapes", `{"name": "ada", "id": "x", "tree": null}`, true, false, null},
		{"Shapes", `{"name": "ada", "id": "x", "text": "a", "node": null}`, true, false, null},
		{"Shapes", `{"name": "ada", "id": "x", "nodes_by_id": {"x": 1}}`, false, false, ""},
		{"Shapes", `{"name": "ada", "id": "x", "nodesById": {"+4": {}}}`, true, false, canonical},
		{"Shapes", `{"name": "ada", "id": "x", "nodesById": {"99999999999": {}}}`, false, true, looser},
		{"Known", `{"at": "2026-12-01T22:24:51.5+01:00"}`, true, true, ""},
		{"Known", `{"at": "2026-12-01t22:24:51Z"}`, false, false, ""},
		{"Known", `{"at": "2026-12-01T22:24:51.1234567890Z"}`, false, false, ""},
		{"Known", `{"at": "10000-12-01T22:24:51Z"}`, false, false, ""},
		{"Known", `{"at": "2026-13-01T00:00:00Z"}`, false, false, ""},
		{"Known", `{"at": "2026-02-30T00:00:00Z"}`, false, true, looser},
		{"Known", `{"took": "-0.5s"}`, true, true, ""},
		{"Known", `{"took": "+1s"}`, true, false, canonical},
		{"Known", `{"took": ".5s"}`, true, false, canonical},
		{"Known", `{"took": "315576000001s"}`, false, true, looser},
		{"Known", `{"mask": ""}`, true, true, ""},
		{"Known", `{"mask": "a1b.cD,aDouble"}`, true, true, ""},
		{"Known", `{"mask": "a_double"}`, false, false, ""},
		{"Known", `{"mask": "aDouble, anInt32"}`, false, false, ""},
		{"Known", `{"int64Value": 5}`, true, false, canonical},
		{"Known", `{"int32Value": "5"}`, true, false, canonical},
		{"Known", `{"any": {"@type": "type.googleapis.com/kinds.v1.Nope"}}`, false, true, looser},
		{"Known", `{"value": null}`, true, true, ""},
		{"Known", `{"null": 0}`, true, false, canonical},
		{"Known", `{"object": null}`, true, false, null},
	} {
		m := kindsMethod(t, files, tt.method)
		msg := dynamicpb.NewMessage(m.Input())
		perr := (protojson.UnmarshalOptions{Resolver: types}).Unmarshal([]byte(tt.input), msg)
		serr := validate(resolve(t, mcp.InputSchema(m.Input(), nil)), []byte(tt.input))
		if (perr == nil) != tt.protojson || (serr == nil) != tt.schema {
			t.Errorf("%s %s: protojson accepts %v (%v), schema %v (%v); want %v and %v", tt.method, tt.input, perr == nil, perr, serr == nil, serr, tt.protojson, tt.schema)
		}
		if (tt.protojson != tt.schema) != (tt.note != "") {
			t.Errorf("%s %s: a difference needs a note, and only a difference has one", tt.method, tt.input)
		}
	}
}
