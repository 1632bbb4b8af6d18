package generator_test

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/protomicro/micro/generator/bufgen"
)

var update = flag.Bool("update", false, "rewrite the goldens in testdata/golden from testdata/proto")

const (
	repoRoot   = ".."
	protoRoot  = "../testdata/proto"
	goldenRoot = "../testdata/golden"
	module     = "module=github.com/protomicro/micro"
)

// goldenCase is one directory of testdata/proto, generated into
// testdata/golden/<name>.
type goldenCase struct {
	name string
	// params are given to every plugin; microParams to protoc-gen-micro only.
	params, microParams string
	// outRoot is the directory output file names are relative to.
	outRoot string
	// grpc also runs protoc-gen-go-grpc, for the interoperability tests.
	grpc bool
}

var goldenCases = []goldenCase{
	{name: "unary", params: module},
	{name: "streaming", params: module},
	{name: "comments", params: module},
	{name: "commentbytes", params: module},
	{name: "deprecated", params: module},
	{name: "proto2", params: module},
	{name: "editions", params: module},
	{name: "noservice", params: module},
	{name: "multiservice", params: module},
	{name: "importmsg", params: module},
	{name: "keywords", params: module},
	{name: "collision", params: module},
	{name: "http", params: module},
	{name: "badhttp", params: module},
	{name: "access", params: module},
	{name: "badaccess", params: module},
	{name: "events", params: module},
	{name: "topiconly", params: module},
	{name: "topiccollision", params: module},
	{name: "badtopic", params: module},
	{name: "duptopic", params: module},
	{name: "pkgsuffix", params: module, microParams: "package_suffix=micro", grpc: true},
	{name: "sourcerel", params: "paths=source_relative", outRoot: goldenRoot},
	{name: "mparam", params: module + ",Mmparam/mparam.proto=github.com/protomicro/micro/testdata/golden/mparam;mparam"},
}

// TestGolden generates every case and compares the output with
// testdata/golden; go test ./generator -update rewrites the goldens. A case
// whose generation fails has its error in testdata/golden/<case>/error.txt.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.generate(t)
			dir := filepath.Join(goldenRoot, tc.name)
			if *update {
				writeTree(t, dir, got)
				return
			}
			want := readTree(t, dir)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("generated files differ from %s (-want +got); run go test ./generator -update if the change is intended:\n%s", dir, diff)
			}
		})
	}
}

// generate runs protoc-gen-go, protoc-gen-micro and, for grpc cases,
// protoc-gen-go-grpc on the case, and returns the files by their path
// relative to the case's golden directory.
func (tc goldenCase) generate(t *testing.T) map[string]string {
	t.Helper()
	req := compileRequest(t, tc.name, tc.params)
	files := make(map[string]string)
	add := func(resp *pluginpb.CodeGeneratorResponse) {
		outRoot := tc.outRoot
		if outRoot == "" {
			outRoot = repoRoot
		}
		for _, f := range resp.GetFile() {
			rel, err := filepath.Rel(filepath.Join(goldenRoot, tc.name), filepath.Join(outRoot, f.GetName()))
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("%s is written outside testdata/golden/%s", f.GetName(), tc.name)
			}
			files[filepath.ToSlash(rel)] = f.GetContent()
		}
	}
	add(runGo(t, req))
	if tc.grpc {
		add(runPlugin(t, req, "protoc-gen-go-grpc"))
	}
	microReq := proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
	microReq.Parameter = proto.String(strings.Trim(tc.params+","+tc.microParams, ","))
	resp := runMicro(t, microReq)
	if resp.Error != nil {
		return map[string]string{"error.txt": resp.GetError() + "\n"}
	}
	add(resp)
	return files
}

// compileRequest compiles every .proto file under testdata/proto/<name> with
// protocompile and returns the request protoc would send for them.
func compileRequest(t *testing.T, name, params string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(filepath.Join(protoRoot, name), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, _ := filepath.Rel(protoRoot, path)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := bufgen.Compile(context.Background(), protoRoot, []string{"."}, paths)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	req.Parameter = proto.String(params)
	return req
}

func runGo(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	resp, err := bufgen.RunPlugin(t.Context(), repoRoot, "protoc-gen-go", req)
	if err != nil || resp.Error != nil {
		t.Fatalf("protoc-gen-go: %v %s", err, resp.GetError())
	}
	return resp
}

func runMicro(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	resp, err := bufgen.RunPlugin(t.Context(), repoRoot, "protoc-gen-micro", req)
	if err != nil {
		return &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
	}
	return resp
}

// runPlugin runs a plugin that is a tool of this module (go tool name), the
// way protoc would.
func runPlugin(t *testing.T, req *pluginpb.CodeGeneratorRequest, name string) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", name)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool %s: %v\n%s", name, err, stderr.Bytes())
	}
	resp := new(pluginpb.CodeGeneratorResponse)
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if resp.Error != nil {
		t.Fatalf("%s: %s", name, resp.GetError())
	}
	return resp
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

// writeTree makes dir hold exactly files.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		// Keep the directory, so that an empty output is visible in the tree.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
