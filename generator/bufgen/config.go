package bufgen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/protomicro/micro/generator"
)

// workspace is a project's buf.yaml and buf.gen.yaml.
type workspace struct {
	dir      string
	roots    []string // module directories, relative to dir
	excludes []string // directories under the roots to leave out, relative to dir
	inputs   []string // buf.gen.yaml's input directories, relative to dir; none means all
	plugins  []plugin
}

// plugin is one built-in plugin run as buf.gen.yaml says.
type plugin struct {
	name string // "protoc-gen-go" or "protoc-gen-micro"
	out  string // relative to the project directory
	opt  string
	run  runFunc
}

// runFunc runs a plugin on a request for the project in dir.
type runFunc func(ctx context.Context, dir string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error)

// bufYAML is the part of buf.yaml (v1 or v2) that locates protos.
type bufYAML struct {
	Version string `yaml:"version"`
	Modules []struct {
		Path     string   `yaml:"path"`
		Excludes []string `yaml:"excludes"`
	} `yaml:"modules"`
	Build struct { // v1
		Excludes []string `yaml:"excludes"`
	} `yaml:"build"`
}

// bufGenYAML is the part of buf.gen.yaml (v1 or v2) that lists inputs and
// plugins.
type bufGenYAML struct {
	Version string `yaml:"version"`
	// Inputs are v2's: each entry is one kind of input (directory,
	// module, git_repo, ...) with filters; micro generate reads only
	// directories, and any other key lands in Other.
	Inputs []struct {
		Directory string         `yaml:"directory"`
		Other     map[string]any `yaml:",inline"`
	} `yaml:"inputs"`
	Plugins []struct {
		Local  stringList `yaml:"local"`  // v2
		Remote string     `yaml:"remote"` // v2
		Plugin string     `yaml:"plugin"` // v1
		Name   string     `yaml:"name"`   // v1
		Out    string     `yaml:"out"`
		Opt    stringList `yaml:"opt"`
	} `yaml:"plugins"`
}

// stringList is a YAML string or list of strings.
type stringList []string

func (l *stringList) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		*l = []string{node.Value}
		return nil
	}
	var list []string
	if err := node.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// load reads the workspace in dir.
func load(dir string) (*workspace, error) {
	w := &workspace{dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "buf.yaml"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.roots = []string{"."}
	case err != nil:
		return nil, err
	default:
		var cfg bufYAML
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("buf.yaml: %w", err)
		}
		for _, m := range cfg.Modules {
			w.roots = append(w.roots, path.Clean(m.Path))
			for _, exclude := range m.Excludes {
				w.excludes = append(w.excludes, path.Clean(exclude))
			}
		}
		for _, exclude := range cfg.Build.Excludes {
			w.excludes = append(w.excludes, path.Clean(exclude))
		}
		if len(w.roots) == 0 {
			w.roots = []string{"."}
		}
	}
	data, err = os.ReadFile(filepath.Join(dir, "buf.gen.yaml"))
	if err != nil {
		return nil, fmt.Errorf("no buf.gen.yaml in %s (run in the project's root; micro new makes one): %w", dir, err)
	}
	var gen bufGenYAML
	if err := yaml.Unmarshal(data, &gen); err != nil {
		return nil, fmt.Errorf("buf.gen.yaml: %w", err)
	}
	for i, in := range gen.Inputs {
		if len(in.Other) > 0 || in.Directory == "" {
			keys := slices.Sorted(maps.Keys(in.Other))
			if in.Directory != "" {
				keys = append([]string{"directory"}, keys...)
			}
			return nil, fmt.Errorf("buf.gen.yaml input %d (%s) is not one micro generate reads: it reads a directory of the project, without filters; use buf generate for it", i+1, strings.Join(keys, ", "))
		}
		w.inputs = append(w.inputs, path.Clean(filepath.ToSlash(in.Directory)))
	}
	if len(gen.Plugins) == 0 {
		return nil, errors.New("buf.gen.yaml lists no plugins")
	}
	for i, p := range gen.Plugins {
		name := builtIn(p.Local, p.Remote, p.Plugin, p.Name)
		run, ok := plugins[name]
		if !ok {
			spec := strings.Join(slices.Concat([]string(p.Local), []string{p.Remote, p.Plugin, p.Name}), " ")
			return nil, fmt.Errorf("buf.gen.yaml plugin %d (%s) is not built into micro generate, which runs protoc-gen-go and protoc-gen-micro; use buf generate for it", i+1, strings.TrimSpace(spec))
		}
		if p.Out == "" {
			return nil, fmt.Errorf("buf.gen.yaml plugin %d (%s) has no out directory", i+1, name)
		}
		w.plugins = append(w.plugins, plugin{name: name, out: path.Clean(p.Out), opt: strings.Join(p.Opt, ","), run: run})
	}
	return w, nil
}

// builtIn names the built-in plugin a buf.gen.yaml entry runs, whatever way
// it is written: "protoc-gen-go", [go, tool, protoc-gen-go],
// [go, run, google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12],
// buf.build/protocolbuffers/go, or v1's "go".
func builtIn(local []string, remote, v1Plugin, v1Name string) string {
	var last string
	switch {
	case len(local) > 0:
		last = local[len(local)-1]
	case remote != "":
		if strings.HasPrefix(remote, "buf.build/protocolbuffers/go") {
			return "protoc-gen-go"
		}
		return ""
	default:
		last = "protoc-gen-" + v1Plugin + v1Name
	}
	last, _, _ = strings.Cut(path.Base(last), "@")
	return last
}

// RunPlugin runs the built-in plugin named name, "protoc-gen-go" or
// "protoc-gen-micro", on req for the Go module in dir, as protoc would run its
// binary. protoc-gen-micro runs in-process; protoc-gen-go runs through the Go
// toolchain, at the version the module in dir pins as a tool, or else at the
// version this program is built with. Malformed parameters are an error;
// mistakes in the protos are reported in the response, as plugins report
// them.
func RunPlugin(ctx context.Context, dir, name string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	run, ok := plugins[name]
	if !ok {
		return nil, fmt.Errorf("no built-in plugin %q: there are protoc-gen-go and protoc-gen-micro", name)
	}
	return run(ctx, dir, req)
}

// plugins are the plugins built in, by their command name.
var plugins = map[string]runFunc{
	"protoc-gen-go":    runGo,
	"protoc-gen-micro": runMicro,
}

// runMicro is protoc-gen-micro.
func runMicro(_ context.Context, _ string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	var opts generator.Options
	gen, err := protogen.Options{ParamFunc: opts.Set}.New(req)
	if err != nil {
		return nil, err
	}
	if err := opts.Generate(gen); err != nil {
		gen.Error(err)
	}
	return gen.Response(), nil
}

// protos returns the import paths of the protos to generate: every proto
// under the module roots, less the excluded directories, limited to those
// under buf.gen.yaml's input directories when it names any (as buf generate
// without an input argument does: a project keeps third-party protos it
// imports in a module of their own and generates code for its own module
// alone), and to those under paths when there are any.
func (w *workspace) protos(paths []string) ([]string, error) {
	var files, rels []string // rels: every proto of the inputs, relative to dir
	for _, root := range w.roots {
		base := filepath.Join(w.dir, root)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(w.dir, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if slices.Contains(w.excludes, rel) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".proto") || !selected(rel, w.inputs) {
				return nil
			}
			rels = append(rels, rel)
			if selected(rel, paths) {
				importPath, _ := filepath.Rel(base, p)
				files = append(files, filepath.ToSlash(importPath))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find protos in %s: %w", root, err)
		}
	}
	for _, in := range w.inputs {
		if !slices.ContainsFunc(rels, func(rel string) bool { return selected(rel, []string{in}) }) {
			return nil, fmt.Errorf("buf.gen.yaml input %q holds no .proto files of the modules of buf.yaml (%s)", in, strings.Join(w.roots, ", "))
		}
	}
	for _, p := range paths {
		if !slices.ContainsFunc(rels, func(rel string) bool { return selected(rel, []string{p}) }) {
			return nil, fmt.Errorf("no .proto files of the project under %q", p)
		}
	}
	return files, nil
}

// selected reports whether the file at rel (relative to the project) is
// under one of paths, or whether there are no paths.
func selected(rel string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		p = path.Clean(filepath.ToSlash(p))
		if p == "." || rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}
