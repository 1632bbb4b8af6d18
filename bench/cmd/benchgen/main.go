// Benchgen regenerates the benchmarks' generated code from the protos in
// proto/, with the generator of every framework compared:
//
//	cd bench && go run ./cmd/benchgen
//
// (make generate at the top of the repository runs it.)
//
// proto/echo/v1/echo.proto becomes gen/echo/v1: protoc-gen-go's messages,
// protoc-gen-go-grpc's stubs and go-micro's (echo.pb.micro.go, which go-micro
// can only put beside the messages), micro's in echov1micro, connect-go's
// in echov1connect and grpc-gateway's mux handlers (echo.pb.gw.go, its
// functions named Register...Gateway, as go-micro's already take
// Register...Handler), for the gateway benchmarks. proto/books/v1/books.proto becomes gen/books/v1:
// protoc-gen-go's messages, protoc-gen-go-grpc's stubs, grpc-gateway's
// generated mux handlers (books.pb.gw.go) and micro's in booksv1micro, for
// the gateway oracle test; proto/rest/v1/rest.proto becomes gen/rest/v1 with
// the same plugins, for the same test. proto/greeter/v1/greeter.proto becomes one copy per
// hello-world program, hello/<framework>/greeterv1, so that no program links
// another framework's stubs.
//
// protoc-gen-go and protoc-gen-micro run in-process; protoc-gen-go-grpc,
// protoc-gen-connect-go, protoc-gen-grpc-gateway and go-micro's protoc-gen-micro run as the tools of
// this module (go tool <package>), at the versions go.mod pins. go-micro's
// plugin is named by its package path, so it is never confused with micro's
// plugin of the same name. protoc is not needed.
//
// Flags:
//
//	-root dir   the bench module's directory (default ".")
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/protomicro/micro/bench/internal/codegen"
)

// module is the bench module's path; every output file name is relative to
// the module's root.
const module = "github.com/protomicro/micro/bench"

func main() {
	root := flag.String("root", ".", "the bench module's `directory`")
	flag.Parse()
	if err := run(context.Background(), *root); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

// job generates one proto file with several plugins into outDir.
type job struct {
	file string // relative to proto/
	// goPackage is the Go package of the file's messages, when it is not the
	// file's own go_package.
	goPackage string
	plugins   []codegen.Plugin
	// params are the plugins' extra parameters, by plugin name.
	params map[string]string
	// goDir is the directory (relative to the module) of the messages' Go
	// package.
	goDir string
	// outDir is the directory (relative to the module) that holds exactly
	// what the job generates; it is emptied first.
	outDir string
}

func run(ctx context.Context, root string) error {
	if _, err := os.Stat(filepath.Join(root, "proto")); err != nil {
		return fmt.Errorf("run in the bench module's directory, or give -root: %w", err)
	}
	tool := func(label, pkg string) codegen.Program {
		return codegen.Program{Label: label, Command: "go", Args: []string{"tool", pkg}, Dir: root}
	}
	var (
		goPlugin = tool("protoc-gen-go", "google.golang.org/protobuf/cmd/protoc-gen-go")
		micro    = codegen.Micro{}
		grpc     = tool("protoc-gen-go-grpc", "google.golang.org/grpc/cmd/protoc-gen-go-grpc")
		connect  = tool("protoc-gen-connect-go", "connectrpc.com/connect/cmd/protoc-gen-connect-go")
		gateway  = tool("protoc-gen-grpc-gateway", "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway")
		// go-micro's plugin strips module= from the proto file's path instead
		// of from the Go import path, so it runs with paths=source_relative
		// and its file is moved beside the messages.
		goMicro = sourceRelative{tool("go-micro protoc-gen-micro", "go-micro.dev/v5/cmd/protoc-gen-micro")}
	)
	jobs := []job{{
		file:    "echo/v1/echo.proto",
		plugins: []codegen.Plugin{goPlugin, grpc, connect, gateway, micro, goMicro},
		// go-micro's stubs, beside grpc-gateway's, declare
		// RegisterEchoServiceHandler too.
		params: map[string]string{micro.Name(): "package_suffix=micro", gateway.Name(): "register_func_suffix=Gateway"},
		goDir:  "gen/echo/v1",
		outDir: "gen/echo",
	}, {
		file:    "books/v1/books.proto",
		plugins: []codegen.Plugin{goPlugin, grpc, gateway, micro},
		params:  map[string]string{micro.Name(): "package_suffix=micro"},
		goDir:   "gen/books/v1",
		outDir:  "gen/books",
	}, {
		file:    "rest/v1/rest.proto",
		plugins: []codegen.Plugin{goPlugin, grpc, gateway, micro},
		params:  map[string]string{micro.Name(): "package_suffix=micro"},
		goDir:   "gen/rest/v1",
		outDir:  "gen/rest",
	}}
	for _, h := range []struct {
		dir     string
		plugins []codegen.Plugin
	}{
		{"micro", []codegen.Plugin{goPlugin, micro}},
		{"grpc", []codegen.Plugin{goPlugin, grpc}},
		{"connect", []codegen.Plugin{goPlugin, connect}},
		{"gomicro", []codegen.Plugin{goPlugin, goMicro}},
	} {
		outDir := "hello/" + h.dir + "/greeterv1"
		jobs = append(jobs, job{
			file:      "greeter/v1/greeter.proto",
			goPackage: module + "/" + outDir + ";greeterv1",
			plugins:   h.plugins,
			goDir:     outDir,
			outDir:    outDir,
		})
	}
	for _, j := range jobs {
		fmt.Fprintf(os.Stderr, "benchgen: %s into %s\n", j.file, j.outDir)
		if err := j.run(ctx, root); err != nil {
			return fmt.Errorf("generate %s into %s: %w", j.file, j.outDir, err)
		}
	}
	return nil
}

// run generates the job's file with each of its plugins and replaces the
// contents of its output directory with the result.
func (j job) run(ctx context.Context, root string) error {
	params := "module=" + module
	if j.goPackage != "" {
		params += ",M" + j.file + "=" + j.goPackage
	}
	req, err := codegen.Request(ctx, filepath.Join(root, "proto"), []string{j.file}, params)
	if err != nil {
		return err
	}
	files := make(map[string]string)
	for _, p := range j.plugins {
		preq := req
		if extra := j.params[p.Name()]; extra != "" {
			preq = codegen.WithParams(req, params+","+extra)
		}
		_, relative := p.(sourceRelative)
		if relative {
			preq = codegen.WithParams(req, strings.Replace(preq.GetParameter(), "module="+module, "paths=source_relative", 1))
		}
		resp, err := p.Generate(ctx, preq)
		if err != nil {
			return err
		}
		for _, f := range resp.GetFile() {
			name := filepath.ToSlash(filepath.Clean(f.GetName()))
			if relative {
				name = path.Join(j.goDir, path.Base(name))
			}
			if !strings.HasPrefix(name, j.outDir+"/") {
				return fmt.Errorf("%s wrote %s, outside %s", p.Name(), name, j.outDir)
			}
			if _, dup := files[name]; dup {
				return fmt.Errorf("%s wrote %s, which another plugin wrote too", p.Name(), name)
			}
			files[name] = spellAny(f.GetContent())
		}
	}
	return writeDir(filepath.Join(root, filepath.FromSlash(j.outDir)), root, files)
}

// emptyInterface is the old spelling of any, which the peers' plugins
// (go-micro's, protoc-gen-go-grpc's) still write.
var emptyInterface = regexp.MustCompile(`interface\{\}`)

// spellAny writes the empty interface type as any, as gofmt's rewrite rule
// from it to any would, and as this repository does everywhere. Generated
// code holds it only as a type, never in a string or comment.
func spellAny(code string) string {
	return emptyInterface.ReplaceAllString(code, "any")
}

// sourceRelative marks a plugin that is run with paths=source_relative
// instead of module=, and whose files are moved into the directory of the
// messages' Go package.
type sourceRelative struct{ codegen.Program }

// writeDir makes dir hold exactly files, whose names are relative to root.
func writeDir(dir, root string, files map[string]string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		errs = append(errs, os.WriteFile(path, []byte(files[name]), 0o644))
	}
	return errors.Join(errs...)
}
