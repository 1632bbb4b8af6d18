package bufgen

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"

	"github.com/protomicro/micro/generator"
)

// project writes files (path to content) into a new directory and returns it.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const bufYAMLv2 = `version: v2
modules:
  - path: proto
`

const bufGenYAMLv2 = `version: v2
plugins:
  - local: ["go", "tool", "protoc-gen-go"]
    out: proto
    opt: paths=source_relative
  - local: [go, run, github.com/protomicro/micro/protoc-gen-micro@v0.1.0]
    out: proto
    opt:
      - paths=source_relative
`

const greeterProto = `syntax = "proto3";

package greeter.v1;

import "google/api/annotations.proto";
import "google/protobuf/empty.proto";

option go_package = "example.com/greeter/proto/greeter/v1;greeterv1";

service GreeterService {
  rpc Hello(google.protobuf.Empty) returns (google.protobuf.Empty) {
    option (google.api.http) = {get: "/v1/hello"};
  }
}
`

func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := project(t, map[string]string{
		"buf.yaml":                       bufYAMLv2,
		"buf.gen.yaml":                   bufGenYAMLv2,
		"proto/greeter/v1/greeter.proto": greeterProto,
	})
	files, err := Generate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(greeterOutputs, paths(files)); diff != "" {
		t.Fatalf("generated files mismatch (-want +got):\n%s", diff)
	}
	if micro := string(files[1].Content); !strings.Contains(micro, `Path: "/v1/hello"`) {
		t.Errorf("the google.api.http rule did not reach the generated code:\n%s", micro)
	}

	written, err := Write(dir, files)
	if err != nil || len(written) != 2 {
		t.Fatalf("Write = %v, %v, want both files written", written, err)
	}
	past := time.Now().Add(-time.Hour)
	for _, p := range written {
		if err := os.Chtimes(filepath.Join(dir, p), past, past); err != nil {
			t.Fatal(err)
		}
	}
	if written, err := Write(dir, files); err != nil || len(written) != 0 {
		t.Errorf("Write of unchanged files = %v, %v, want nothing written", written, err)
	}
}

func TestGeneratePaths(t *testing.T) {
	t.Parallel()
	dir := project(t, map[string]string{
		"buf.yaml":                       bufYAMLv2,
		"buf.gen.yaml":                   bufGenYAMLv2,
		"proto/greeter/v1/greeter.proto": greeterProto,
		"proto/other/v1/other.proto":     "syntax = \"proto3\";\npackage other.v1;\noption go_package = \"example.com/other/v1;otherv1\";\nmessage M {}\n",
	})
	files, err := Generate(context.Background(), dir, "proto/other")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "proto/other/v1/other.pb.go" {
		t.Errorf("Generate(proto/other) = %v, want only other.pb.go", files)
	}
	if _, err := Generate(context.Background(), dir, "proto/nowhere"); err == nil || !strings.Contains(err.Error(), `"proto/nowhere"`) {
		t.Errorf("Generate of a path without protos: %v, want an error naming it", err)
	}
}

// TestGenerateInputs generates the code of buf.gen.yaml's input alone: a
// project that keeps google/api in a module of its own (as micro new lays it
// out) compiles against it and generates no code for it, as buf generate.
func TestGenerateInputs(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"buf.yaml":                       "version: v2\nmodules:\n  - path: proto\n  - path: third_party\n",
		"buf.gen.yaml":                   "version: v2\ninputs:\n  - directory: proto\n" + strings.TrimPrefix(bufGenYAMLv2, "version: v2\n"),
		"proto/greeter/v1/greeter.proto": greeterProto,
	}
	for _, name := range []string{"google/api/annotations.proto", "google/api/http.proto"} {
		content, err := fs.ReadFile(Imports(), name)
		if err != nil {
			t.Fatal(err)
		}
		files["third_party/"+name] = string(content)
	}
	dir := project(t, files)
	generated, err := Generate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(greeterOutputs, paths(generated)); diff != "" {
		t.Errorf("generated files mismatch (-want +got):\n%s", diff)
	}
}

// greeterOutputs are the files generated from greeterProto.
var greeterOutputs = []string{"proto/greeter/v1/greeter.pb.go", "proto/greeter/v1/greeter.pb.micro.go"}

// paths returns the paths of files.
func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	dir := project(t, map[string]string{
		"buf.yaml":     bufYAMLv2,
		"buf.gen.yaml": bufGenYAMLv2,
		"proto/bad/v1/bad.proto": `syntax = "proto3";
package bad.v1;
message Broken {
  string name = 1
}
`,
	})
	_, err := Generate(context.Background(), dir)
	var compileErr *CompileError
	if !errors.As(err, &compileErr) {
		t.Fatalf("Generate = %v, want a *CompileError", err)
	}
	if got := compileErr.Errors[0]; !strings.HasPrefix(got, "proto/bad/v1/bad.proto:5:1: ") {
		t.Errorf("error = %q, want it to start with the file, line and column, proto/bad/v1/bad.proto:5:1", got)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		bufGen string
		want   string
	}{
		{"none", "", "no buf.gen.yaml"},
		{"unknown plugin", "version: v2\nplugins:\n  - local: protoc-gen-validate\n    out: .\n", "plugin 1 (protoc-gen-validate) is not built into micro generate"},
		{"no out", "version: v2\nplugins:\n  - local: protoc-gen-go\n", "plugin 1 (protoc-gen-go) has no out directory"},
		{"not yaml", "plugins: [", "buf.gen.yaml: "},
		{"module input", "version: v2\ninputs:\n  - module: buf.build/acme/weather\n", "input 1 (module) is not one micro generate reads"},
		{"filtered input", "version: v2\ninputs:\n  - directory: proto\n    exclude_paths: [proto/a.proto]\n", "input 1 (directory, exclude_paths) is not one micro generate reads"},
		{"empty input", "version: v2\ninputs:\n  - directory: nowhere\nplugins:\n  - local: protoc-gen-go\n    out: .\n", `input "nowhere" holds no .proto files`},
	} {
		files := map[string]string{"proto/a.proto": "syntax = \"proto3\";\n"}
		if tt.bufGen != "" {
			files["buf.gen.yaml"] = tt.bufGen
		}
		_, err := Generate(context.Background(), project(t, files))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Generate error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestBuiltIn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		local                []string
		remote, plugin, name string
		want                 string
	}{
		{local: []string{"protoc-gen-go"}, want: "protoc-gen-go"},
		{local: []string{"/usr/local/bin/protoc-gen-micro"}, want: "protoc-gen-micro"},
		{local: []string{"go", "tool", "protoc-gen-micro"}, want: "protoc-gen-micro"},
		{local: []string{"go", "run", "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"}, want: "protoc-gen-go"},
		{remote: "buf.build/protocolbuffers/go:v1.36.12", want: "protoc-gen-go"},
		{remote: "buf.build/grpc/go", want: ""},
		{plugin: "go", want: "protoc-gen-go"},
		{name: "micro", want: "protoc-gen-micro"},
	} {
		if got := builtIn(tt.local, tt.remote, tt.plugin, tt.name); got != tt.want {
			t.Errorf("builtIn(%q, %q, %q, %q) = %q, want %q", tt.local, tt.remote, tt.plugin, tt.name, got, tt.want)
		}
	}
}

// TestBuiltInMatchesTestdata keeps the built-in protos and the copies the
// generator's tests compile with protoc and buf the same.
func TestBuiltInMatchesTestdata(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"google/api/annotations.proto", "google/api/http.proto", "micro/v1/options.proto"} {
		builtIn, err := googleAPIs.ReadFile("include/" + name)
		if err != nil {
			t.Fatal(err)
		}
		copied, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proto", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(builtIn, copied) {
			t.Errorf("generator/bufgen/include/%s and testdata/proto/%s differ; keep them the same", name, name)
		}
	}
}

// TestEditionsMatchProtocGenGo keeps the editions protoc-gen-micro declares
// the same as protoc-gen-go's, which protobuf-go does not export: the
// generator refers to messages protoc-gen-go generates.
func TestEditionsMatchProtocGenGo(t *testing.T) {
	t.Parallel()
	dir := project(t, map[string]string{"a/a.proto": "edition = \"2023\";\npackage a;\noption go_package = \"example.com/a\";\nmessage M {}\n"})
	req, err := Compile(t.Context(), dir, []string{"."}, []string{"a/a.proto"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := RunPlugin(t.Context(), filepath.Join("..", ".."), "protoc-gen-go", req)
	if err != nil || resp.Error != nil {
		t.Fatalf("protoc-gen-go: %v %s", err, resp.GetError())
	}
	if got, want := resp.GetMinimumEdition(), int32(generator.SupportedEditionsMinimum); got != want {
		t.Errorf("protoc-gen-go's minimum edition = %v, generator.SupportedEditionsMinimum = %v; make them the same", got, want)
	}
	if got, want := resp.GetMaximumEdition(), int32(generator.SupportedEditionsMaximum); got != want {
		t.Errorf("protoc-gen-go's maximum edition = %v, generator.SupportedEditionsMaximum = %v; make them the same", got, want)
	}
}

func TestDeclaresTool(t *testing.T) {
	t.Parallel()
	const mod = "module example.com/m\n\ngo 1.26\n\ntool " + protocGenGo + "\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"tool and go.sum", map[string]string{"go.mod": mod, "go.sum": ""}, true},
		{"no go.sum", map[string]string{"go.mod": mod}, false},
		{"no tool", map[string]string{"go.mod": "module example.com/m\n", "go.sum": ""}, false},
		{"no go.mod", map[string]string{"a.proto": ""}, false},
	} {
		if got := declaresTool(project(t, tt.files), protocGenGo); got != tt.want {
			t.Errorf("%s: declaresTool = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestProtobufVersionMatchesGoMod keeps the protoc-gen-go run for projects
// that pin none at the protobuf version micro is built and tested with.
func TestProtobufVersionMatchesGoMod(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range mod.Require {
		if req.Mod.Path == "google.golang.org/protobuf" && req.Mod.Version != protobufVersion {
			t.Errorf("go.mod requires google.golang.org/protobuf %s, but protobufVersion is %s; make them the same", req.Mod.Version, protobufVersion)
		}
	}
}
