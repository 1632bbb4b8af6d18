package bufgen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// protocGenGo is protoc-gen-go's package. protobuf-go exports no API that
// generates .pb.go files (its generator, internal_gengo, is internal to the
// module and may change in any release), so micro runs the command, through
// the Go toolchain: nothing else needs installing.
const protocGenGo = "google.golang.org/protobuf/cmd/protoc-gen-go"

// protobufVersion is the version of google.golang.org/protobuf in micro's
// go.mod (a test keeps them the same): the protoc-gen-go whose output the
// runtime is tested with, run for projects that do not pin their own. It is
// a constant rather than read from the binary's build information, which
// test binaries do not carry.
const protobufVersion = "v1.36.12"

// runGo runs protoc-gen-go on req for the project in dir, as protoc would run
// its binary: the one the project pins (go tool protoc-gen-go) when its
// go.mod declares the tool and go.sum resolves it, which is what buf
// generate runs for the buf.gen.yaml micro new writes; otherwise the version
// micro itself is built with (go run protoc-gen-go@version), which a project
// without that tool line or an untidied one gets, and which the Go command
// downloads once into its module cache.
func runGo(ctx context.Context, dir string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	args := []string{"tool", "protoc-gen-go"}
	if !declaresTool(dir, protocGenGo) {
		args = []string{"run", protocGenGo + "@" + protobufVersion}
	}
	return runCommand(ctx, dir, req, "go", args...)
}

// declaresTool reports whether the module in dir declares the tool pkg and
// has a go.sum, without which go tool cannot build it.
func declaresTool(dir, pkg string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err != nil {
		return false
	}
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return false
	}
	for _, tool := range mod.Tool {
		if tool.Path == pkg {
			return true
		}
	}
	return false
}

// runCommand runs a plugin binary in dir with req on its standard input and
// decodes the response from its standard output.
func runCommand(ctx context.Context, dir string, req *pluginpb.CodeGeneratorRequest, name string, args ...string) (*pluginpb.CodeGeneratorResponse, error) {
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("marshal request: %w", err)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	command := strings.Join(append([]string{name}, args...), " ")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", command, err, bytes.TrimSpace(stderr.Bytes()))
	}
	resp := new(pluginpb.CodeGeneratorResponse)
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, fmt.Errorf("%s: decode its response: %w", command, err)
	}
	return resp, nil
}
