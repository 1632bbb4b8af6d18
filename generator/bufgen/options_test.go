package bufgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/types/pluginpb"
)

var update = flag.Bool("update", false, "rewrite the Go code of the built-in micro/v1/options.proto")

// optionsGo is where the Go code of the built-in micro/v1/options.proto
// lives, the package its go_package names.
var optionsGo = filepath.Join("..", "..", "runtime", "proto", "micro", "v1", "options.pb.go")

// TestOptionsGoCode keeps runtime/proto/micro/v1 the code protoc-gen-go
// makes of the built-in options.proto: go test ./generator/bufgen -update
// (make generate) rewrites it.
func TestOptionsGoCode(t *testing.T) {
	req, err := Compile(t.Context(), t.TempDir(), nil, []string{"micro/v1/options.proto"})
	if err != nil {
		t.Fatal(err)
	}
	req.Parameter = new("paths=source_relative")
	resp, err := RunPlugin(t.Context(), filepath.Join("..", ".."), "protoc-gen-go", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetError() != "" {
		t.Fatalf("protoc-gen-go: %s", resp.GetError())
	}
	got := generatedFile(t, resp, "micro/v1/options.pb.go")
	if *update {
		if err := os.MkdirAll(filepath.Dir(optionsGo), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(optionsGo, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(optionsGo)
	if err != nil {
		t.Fatalf("%v: run make generate", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what protoc-gen-go makes of include/micro/v1/options.proto: run make generate", optionsGo)
	}
}

func generatedFile(t *testing.T, resp *pluginpb.CodeGeneratorResponse, name string) []byte {
	t.Helper()
	for _, f := range resp.GetFile() {
		if f.GetName() == name {
			return []byte(f.GetContent())
		}
	}
	t.Fatalf("protoc-gen-go made no %s", name)
	return nil
}
