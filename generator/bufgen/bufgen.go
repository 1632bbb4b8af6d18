// Package bufgen does what `buf generate` does for a project whose
// buf.gen.yaml runs protoc-gen-go and protoc-gen-micro, with neither buf,
// protoc nor any plugin installed: it compiles the project's protos with
// protocompile, runs protoc-gen-micro in-process and protoc-gen-go through the
// Go toolchain, and writes the same bytes buf would. micro generate and micro
// new use it.
//
// Imports resolve from the project's module roots (buf.yaml), then from the
// well-known types, google/api's annotations.proto and http.proto, and
// micro's own micro/v1/options.proto, which are built in. Code is generated for the protos of every module, or of the
// directories buf.gen.yaml lists as inputs; other kinds of input (a BSR
// module, a git repository) and input filters are buf generate's alone.
package bufgen

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"
)

// googleAPIs holds google/api/annotations.proto and http.proto, so that
// protos using google.api.http compile without a download, and
// micro/v1/options.proto.
//
//go:embed include
var googleAPIs embed.FS

// File is one generated file.
type File struct {
	// Path is where the file goes, relative to the project directory.
	Path    string
	Content []byte
}

// CompileError is a project whose protos do not compile. Each entry reads
// "path/to/file.proto:line:col: message", the path relative to the project.
type CompileError struct {
	Errors []string
}

func (e *CompileError) Error() string {
	return strings.Join(e.Errors, "\n")
}

// Imports returns the protos that imports resolve to besides the project's
// own and the well-known types, by import path: google/api/annotations.proto,
// google/api/http.proto and micro/v1/options.proto. micro proto export writes
// them out for protoc and buf.
func Imports() fs.FS {
	builtIn, err := fs.Sub(googleAPIs, "include")
	if err != nil {
		panic(err) // a constant, valid path into the embedded files
	}
	return builtIn
}

// Compile compiles files (import paths, "greeter/v1/greeter.proto") found in
// the roots, directories relative to dir, and returns the request protoc would
// send plugins for them, without parameters. A proto that does not compile
// gives a [*CompileError].
func Compile(ctx context.Context, dir string, roots, files []string) (*pluginpb.CodeGeneratorRequest, error) {
	var importPaths []string
	for _, root := range roots {
		importPaths = append(importPaths, filepath.Join(dir, root))
	}
	builtIn := Imports()
	var problems []string
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{ImportPaths: importPaths},
			&protocompile.SourceResolver{Accessor: func(path string) (io.ReadCloser, error) { return builtIn.Open(path) }},
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			problems = append(problems, describe(dir, roots, err))
			return nil // report every error, not only the first
		}, nil),
	}
	compiled, err := compiler.Compile(ctx, files...)
	var posErr reporter.ErrorWithPos
	if len(problems) == 0 && errors.As(err, &posErr) {
		// A missing import is returned, not reported: it is an error in
		// the protos all the same.
		problems = append(problems, describe(dir, roots, posErr))
	}
	if len(problems) > 0 {
		return nil, &CompileError{Errors: problems}
	}
	if err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files}
	seen := make(map[string]bool)
	var visit func(protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			visit(fd.Imports().Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range compiled {
		visit(fd)
	}
	return req, nil
}

// describe formats a compile error with the file's path relative to the
// project, where the user finds it.
func describe(dir string, roots []string, err reporter.ErrorWithPos) string {
	pos := err.GetPosition()
	name := pos.Filename
	for _, root := range roots {
		if _, statErr := os.Stat(filepath.Join(dir, root, name)); statErr == nil {
			name = filepath.ToSlash(filepath.Join(root, name))
			break
		}
	}
	msg := errors.Unwrap(err)
	var missing *fs.PathError
	if errors.As(err, &missing) && errors.Is(missing, fs.ErrNotExist) {
		imported := missing.Path // as the first root resolved it
		if len(roots) > 0 {
			if rel, err := filepath.Rel(filepath.Join(dir, roots[0]), imported); err == nil {
				imported = filepath.ToSlash(rel)
			}
		}
		msg = fmt.Errorf("import %q not found: it is in no module of the project (%s) and is not built in (the well-known types, google/api/annotations.proto, google/api/http.proto, micro/v1/options.proto)", imported, strings.Join(roots, ", "))
	}
	return fmt.Sprintf("%s:%d:%d: %v", name, pos.Line, pos.Col, msg)
}

// Generate compiles the project in dir and runs the plugins of its
// buf.gen.yaml on it. paths, relative to dir, limit generation to the protos
// under them; none means every proto of the project. Nothing is written: see
// [Write].
func Generate(ctx context.Context, dir string, paths ...string) ([]File, error) {
	w, err := load(dir)
	if err != nil {
		return nil, err
	}
	files, err := w.protos(paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .proto files under %s", strings.Join(append([]string(nil), w.roots...), ", "))
	}
	req, err := Compile(ctx, dir, w.roots, files)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, p := range w.plugins {
		pluginReq := proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
		pluginReq.Parameter = proto.String(p.opt)
		res, err := p.run(ctx, dir, pluginReq)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", p.name, err)
		}
		if res.Error != nil {
			return nil, fmt.Errorf("plugin %s: %s", p.name, res.GetError())
		}
		for _, f := range res.GetFile() {
			if f.GetInsertionPoint() != "" {
				return nil, fmt.Errorf("plugin %s: insertion points are not supported", p.name)
			}
			out = append(out, File{Path: filepath.ToSlash(filepath.Join(p.out, f.GetName())), Content: []byte(f.GetContent())})
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Write writes files under dir, creating directories as needed and leaving
// alone the files whose content is already right. It returns the paths it
// wrote.
func Write(dir string, files []File) ([]string, error) {
	var written []string
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Content) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(path, f.Content, 0o644); err != nil {
			return written, err
		}
		written = append(written, f.Path)
	}
	return written, nil
}
