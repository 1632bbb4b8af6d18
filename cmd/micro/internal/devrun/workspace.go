package devrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RuntimePackage is the package a main package imports to be a micro
// service: micro run runs the main packages that import it.
const RuntimePackage = "github.com/protomicro/micro/runtime/micro"

// ConfigFile is the name of the file, in the workspace's directory, that
// lists the services to run instead of finding them.
const ConfigFile = "micro.yaml"

// Spec says how to run one service of a workspace.
type Spec struct {
	// Name prefixes the service's log lines and names it in depends.
	Name string `yaml:"name"`
	// Dir is the service's main package, relative to the workspace.
	Dir string `yaml:"dir"`
	// Env holds environment variables added to the service's.
	Env map[string]string `yaml:"env"`
	// Args are the service's command-line arguments.
	Args []string `yaml:"args"`
	// Depends names the services that must be serving (grpc.health.v1)
	// before this one starts.
	Depends []string `yaml:"depends"`
}

// config is the content of micro.yaml.
type config struct {
	Services []Spec `yaml:"services"`
}

// readConfig returns the services micro.yaml in dir lists, or nil when there
// is no micro.yaml.
func readConfig(dir string) ([]Spec, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Services) == 0 {
		return nil, fmt.Errorf("%s lists no services: want services: [{name: ..., dir: ...}]", path)
	}
	names := map[string]bool{}
	for i := range c.Services {
		s := &c.Services[i]
		if s.Dir == "" {
			return nil, fmt.Errorf("%s: service %d (%q) has no dir", path, i+1, s.Name)
		}
		if s.Name == "" {
			s.Name = filepath.Base(filepath.Clean(s.Dir))
		}
		if names[s.Name] {
			return nil, fmt.Errorf("%s: two services are called %q", path, s.Name)
		}
		names[s.Name] = true
	}
	for _, s := range c.Services {
		for _, d := range s.Depends {
			if !names[d] {
				return nil, fmt.Errorf("%s: service %q depends on %q, which is not listed", path, s.Name, d)
			}
		}
	}
	return c.Services, nil
}

// startOrder returns specs ordered so that every service comes after the
// services it depends on, keeping the given order otherwise.
func startOrder(specs []Spec) ([]Spec, error) {
	byName := map[string]Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []Spec
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("services depend on each other in a cycle: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		for _, d := range byName[name].Depends {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, byName[name])
		return nil
	}
	for _, s := range specs {
		if err := visit(s.Name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// goPackage is what go list -json says of a package.
type goPackage struct {
	ImportPath string
	Dir        string
	Name       string
	Deps       []string
	Standard   bool
	DepOnly    bool
}

// graph is the packages of a workspace's modules and what they import.
type graph struct {
	packages map[string]*goPackage // by import path
	byDir    map[string]*goPackage // the packages of the modules listed, by directory
}

// dirs returns the directories of pkg and of every non-standard package it
// depends on: a change to a file in one of them changes pkg's binary.
func (g *graph) dirs(pkg *goPackage) map[string]bool {
	dirs := map[string]bool{pkg.Dir: true}
	for _, d := range pkg.Deps {
		if p := g.packages[d]; p != nil && !p.Standard && p.Dir != "" {
			dirs[p.Dir] = true
		}
	}
	return dirs
}

// moduleRoots returns the directories under dir holding a go.mod, skipping
// hidden directories, vendor, testdata and node_modules; or, when there are
// none, dir itself (which may be inside a module).
func moduleRoots(dir string) ([]string, error) {
	var roots []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "go.mod" {
			roots = append(roots, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		roots = []string{dir}
	}
	return roots, nil
}

// skipDir reports whether micro run neither looks for services in nor
// watches a directory of this name.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "vendor" || name == "testdata" || name == "node_modules"
}

// listPackages runs go list on the packages under each root (each a
// module's, or a directory in one), with their dependencies. It tolerates
// packages that do not compile, so that the graph stays known while a file
// is being edited.
func listPackages(ctx context.Context, roots []string, env []string) (*graph, error) {
	g := &graph{packages: map[string]*goPackage{}, byDir: map[string]*goPackage{}}
	for _, root := range roots {
		cmd := exec.CommandContext(ctx, "go", "list", "-e", "-deps", "-json=ImportPath,Dir,Name,Deps,Standard,DepOnly", "./...")
		cmd.Dir, cmd.Env = root, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list in %s: %w\n%s", root, err, stderr.Bytes())
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			p := new(goPackage)
			if err := dec.Decode(p); err != nil {
				return nil, fmt.Errorf("go list in %s: %w", root, err)
			}
			g.packages[p.ImportPath] = p
			if !p.DepOnly && p.Dir != "" {
				g.byDir[p.Dir] = p
			}
		}
	}
	return g, nil
}

// services returns the main packages of g that import [RuntimePackage],
// by directory, sorted.
func (g *graph) services() []*goPackage {
	var mains []*goPackage
	for _, p := range g.byDir {
		if p.Name == "main" && slices.Contains(p.Deps, RuntimePackage) {
			mains = append(mains, p)
		}
	}
	slices.SortFunc(mains, func(a, b *goPackage) int { return strings.Compare(a.Dir, b.Dir) })
	return mains
}

// discover returns a spec for every service of g, named after its
// directory (its path under dir when two share a base name).
func discover(dir string, g *graph) []Spec {
	mains := g.services()
	count := map[string]int{}
	for _, p := range mains {
		count[filepath.Base(p.Dir)]++
	}
	specs := make([]Spec, 0, len(mains))
	for _, p := range mains {
		rel, err := filepath.Rel(dir, p.Dir)
		if err != nil {
			rel = p.Dir
		}
		name := filepath.Base(p.Dir)
		if count[name] > 1 && rel != "." {
			name = filepath.ToSlash(rel)
		}
		specs = append(specs, Spec{Name: name, Dir: rel})
	}
	return specs
}
