package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protomicro/micro/testdata/testutil"
)

// annotatedProto uses google.api.http, so it imports
// google/api/annotations.proto.
const annotatedProto = `syntax = "proto3";

package greeter.v1;

import "google/api/annotations.proto";

option go_package = "example.com/greeter/proto/greeter/v1;greeterv1";

service GreeterService {
  rpc SayHello(SayHelloRequest) returns (SayHelloResponse) {
    option (google.api.http) = {get: "/v1/hello/{name}"};
  }
}

message SayHelloRequest {
  string name = 1;
}

message SayHelloResponse {
  string message = 1;
}
`

// TestGeneratingCode runs what README.md's "Generating code" section shows
// for protoc and for buf on a proto that uses google.api.http, with the
// protos micro proto export writes, and checks that both write the
// protoc-gen-micro output micro generate writes. The go install lines are
// replaced by building the plugins (and micro) onto PATH. protoc and buf
// must be on PATH, or the subtests skip (fail under MICRO_REQUIRE_TOOLS=1).
func TestGeneratingCode(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := bytes.Cut(readme, []byte("\n## Generating code\n"))
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	blocks := fencedBlocks(section)
	if len(blocks["sh"]) < 2 || len(blocks["yaml"]) < 2 {
		t.Fatalf("README.md's Generating code has %d sh and %d yaml blocks, want the plugins' install, protoc, buf.yaml and buf.gen.yaml", len(blocks["sh"]), len(blocks["yaml"]))
	}
	protocScript := blocks["sh"][1]

	// What micro generate writes, from the proto alone.
	want := project(t, nil)
	if status := run(t.Context(), []string{"generate", "--dir", want}, noEnv, nil, &bytes.Buffer{}, &bytes.Buffer{}); status != 0 {
		t.Fatalf("micro generate = %d", status)
	}
	wantCode := readGenerated(t, want)["greeter.pb.micro.go"]

	bin := t.TempDir()
	testutil.Go(t, "", nil, "build", "-o", bin+string(filepath.Separator),
		"github.com/protomicro/micro/cmd/micro", "github.com/protomicro/micro/protoc-gen-micro", "google.golang.org/protobuf/cmd/protoc-gen-go")
	env := append(os.Environ(), "PATH="+bin+string(filepath.ListSeparator)+os.Getenv("PATH"), "TMPDIR="+t.TempDir())

	t.Run("protoc", func(t *testing.T) {
		t.Parallel()
		testutil.Tool(t, "protoc")
		dir := project(t, nil)
		runShell(t.Context(), t, dir, env, "set -euxo pipefail\n"+protocScript)
		if got := readGenerated(t, dir)["greeter.pb.micro.go"]; got != wantCode {
			t.Errorf("protoc wrote another greeter.pb.micro.go than micro generate:\n%s\nwant:\n%s", got, wantCode)
		}
	})
	t.Run("buf", func(t *testing.T) {
		t.Parallel()
		testutil.Tool(t, "buf")
		dir := project(t, blocks["yaml"])
		env := append(env, "BUF_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"))
		ctx, cancel := context.WithTimeout(t.Context(), testutil.BuildTimeout)
		defer cancel()
		runShell(ctx, t, dir, env, "set -euxo pipefail\nmicro proto export third_party\nbuf generate")
		if got := readGenerated(t, dir)["greeter.pb.micro.go"]; got != wantCode {
			t.Errorf("buf wrote another greeter.pb.micro.go than micro generate:\n%s\nwant:\n%s", got, wantCode)
		}
		if _, err := os.Stat(filepath.Join(dir, "proto", "google")); err == nil {
			t.Error("buf generate wrote code for google/api")
		}
	})
}

// project lays out a project with the annotated proto under proto/ and the
// files of yamlBlocks, each named by its first line ("# buf.yaml").
func project(t *testing.T, yamlBlocks []string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"proto/greeter/v1/greeter.proto": annotatedProto}
	if yamlBlocks == nil {
		files["buf.yaml"] = "version: v2\nmodules:\n  - path: proto\n"
		files["buf.gen.yaml"] = "version: v2\nplugins:\n  - local: protoc-gen-go\n    out: proto\n    opt: paths=source_relative\n  - local: protoc-gen-micro\n    out: proto\n    opt: paths=source_relative\n"
	}
	for _, block := range yamlBlocks {
		name, _, _ := strings.Cut(block, "\n")
		files[strings.TrimSpace(strings.TrimPrefix(name, "#"))] = block
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fencedBlocks returns the contents of the fenced code blocks of markdown,
// by language, in order.
func fencedBlocks(markdown []byte) map[string][]string {
	blocks := map[string][]string{}
	rest := string(markdown)
	for {
		_, after, ok := strings.Cut(rest, "```")
		if !ok {
			return blocks
		}
		lang, after, _ := strings.Cut(after, "\n")
		body, after, ok := strings.Cut(after, "```")
		if !ok {
			return blocks
		}
		blocks[lang] = append(blocks[lang], body)
		rest = after
	}
}
