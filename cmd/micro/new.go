package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/protomicro/micro/generator/bufgen"
	"github.com/protomicro/micro/templates"
)

// bufVersion is the buf the projects micro new makes run through Go.
const bufVersion = "v1.75.0"

// The images a new service's Dockerfile builds on and runs on, pinned by
// digest so that its builds do not change under it. goImage's Go must be
// this micro's Go release line, the go directive of the projects it makes
// (TestImages checks). To update, choose the tags and read each digest with
// docker buildx imagetools inspect IMAGE:TAG.
const (
	goImage      = "golang:1.26.8-bookworm@sha256:dc9ad6c05acc7a88e5b71bde60a5fe3bd4b9f0db209011711b464107438a8107"
	runtimeImage = "gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab"
)

// templateData is what project templates see. Everything in it is derived
// from the command line and the micro binary itself.
type templateData struct {
	// Name is the service's name: what it registers as, what its binary and
	// directory are called, "greeter" or "user-service".
	Name string
	// Module is the Go module path, --module or Name.
	Module string
	// ProtoName is Name in snake case, "user_service": the proto package's
	// first part and the proto file's name.
	ProtoName string
	// ProtoPackage is the proto package, "user_service.v1".
	ProtoPackage string
	// GoPackage is the Go package of the generated code, "userservicev1".
	GoPackage string
	// Service is the proto service, "UserService".
	Service string
	// MicroVersion is the version of github.com/protomicro/micro go.mod
	// requires: this binary's own, or v0.0.0 with Replace.
	MicroVersion string
	// Replace is the micro checkout that go.mod replaces the runtime with,
	// for projects made by a development build, or "".
	Replace string
	// GoVersion is the go directive of go.mod, "1.26.0"; GoMinor is the Go
	// release of the Docker build image, "1.26".
	GoVersion, GoMinor string
	// BufVersion is the buf that Makefile and CI run through Go.
	BufVersion string
	// GoImage and RuntimeImage are the Dockerfile's build and run images,
	// pinned by digest.
	GoImage, RuntimeImage string
}

type newOptions struct {
	module, dir, template, replace    string
	dryRun, force, noGenerate, noTidy bool
	// writeFile writes one file of the project, [os.WriteFile] when nil;
	// tests make it fail.
	writeFile func(name string, data []byte, perm fs.FileMode) error
}

func newNewCommand() *cobra.Command {
	var o newOptions
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Lay out a new service, code generated and ready to run",
		Long: `Lay out a new micro service in a directory named NAME: go.mod, main.go, a
handler with its test, proto/NAME/v1/NAME.proto with REST routes for micro api
and the code generated from it, the google/api protos it imports under
third_party, buf.yaml and buf.gen.yaml, a Makefile, a Dockerfile, Kubernetes
manifests, a CI workflow and a README. It then runs go mod tidy, so that
go run . works at once.

NAME is lower-cased; it may hold letters, digits, '-' and '_', starting with a
letter. The kinds of project are "service" (the default) and "client", a
program that calls the service NAME through its generated client.

--template can also name a directory laid over the built-in service
templates. Its files are matched to the built-in ones by the path they render
to: a file ending in .tmpl is a text/template whose name and content are
rendered (with .Name, .Module, .ProtoName, .ProtoPackage, .GoPackage,
.Service) and lose the suffix, and any other file is copied as it is. A file
of the directory replaces the built-in file that renders to the same path,
whichever of the two ends in .tmpl (README.md replaces README.md.tmpl);
the directory's other files are added.

The project requires the runtime at this binary's version. A development build
of micro (go build ./cmd/micro in a checkout) instead makes go.mod replace the
runtime with that checkout, found without flags; --replace names another.`,
		Example: `  micro new greeter
  micro new greeter --module github.com/acme/greeter
  micro new greeter --template client --dir greeter-client
  micro new greeter --dry-run`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), cmd.ErrOrStderr(), args[0])
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.module, "module", "", "Go module path (default NAME)")
	flags.StringVar(&o.dir, "dir", "", "directory to create (default NAME)")
	flags.StringVar(&o.template, "template", "service", `kind of project ("service", "client") or a directory of templates`)
	flags.BoolVar(&o.dryRun, "dry-run", false, "list the files that would be written, and write nothing")
	flags.BoolVar(&o.force, "force", false, "write into a directory that exists and is not empty, replacing its files of the same paths (listed as replaced)")
	flags.BoolVar(&o.noGenerate, "no-generate", false, "do not generate code from the proto")
	flags.BoolVar(&o.noTidy, "no-tidy", false, "do not run go mod tidy (the project needs it before it builds)")
	flags.StringVar(&o.replace, "replace", "", "micro checkout to replace the runtime with (default: the checkout of a development build)")
	return cmd
}

func (o *newOptions) run(ctx context.Context, log io.Writer, arg string) error {
	data, err := newTemplateData(arg, o.module, o.replace)
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		dir = data.Name
	}
	if err := checkDestination(dir, o.force); err != nil {
		return err
	}
	layers, err := templateLayers(o.template)
	if err != nil {
		return err
	}
	files, err := render(layers, data)
	if err != nil {
		return err
	}
	if files, err = addThirdParty(files); err != nil {
		return err
	}
	if !o.noGenerate {
		generated, err := generateInStaging(ctx, files)
		if err != nil {
			return fmt.Errorf("generate code for the new project: %w", err)
		}
		files = append(files, generated...)
	}
	slices.SortFunc(files, func(a, b bufgen.File) int { return strings.Compare(a.Path, b.Path) })
	if o.dryRun {
		for _, f := range files {
			verb := "would create"
			if exists(filepath.Join(dir, filepath.FromSlash(f.Path))) {
				verb = "would overwrite"
			}
			logf(log, "%s %s\n", verb, path.Join(filepath.ToSlash(dir), f.Path))
		}
		return nil
	}
	write := o.writeFile
	if write == nil {
		write = os.WriteFile
	}
	replaced, err := writeProject(dir, files, write)
	if err != nil {
		return err
	}
	for i, f := range files {
		verb := "created"
		if replaced[i] {
			verb = "replaced"
		}
		logf(log, "%s %s\n", verb, path.Join(filepath.ToSlash(dir), f.Path))
	}
	if !o.noTidy {
		logf(log, "running go mod tidy (this fetches the modules the project needs)\n")
		tidy := exec.CommandContext(ctx, "go", "mod", "tidy")
		tidy.Dir = dir
		tidy.Stdout, tidy.Stderr = log, log
		if err := tidy.Run(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w (the project is written; run go mod tidy there when the module proxy can be reached)", dir, err)
		}
		logf(log, "created %s\n", path.Join(filepath.ToSlash(dir), "go.sum"))
	}
	logf(log, "\nnext: cd %s && go run .\n", filepath.ToSlash(dir))
	return nil
}

// newTemplateData checks NAME and derives every name the templates use.
func newTemplateData(arg, modulePath, replace string) (*templateData, error) {
	name := strings.ToLower(arg)
	switch {
	case name == "":
		return nil, &usageError{errors.New("the name is empty")}
	case strings.ContainsAny(name, `/\`) || strings.Contains(name, ".."):
		return nil, &usageError{fmt.Errorf("name %q contains a path; give a plain name, and --dir to choose where the project goes", arg)}
	case !isName(name):
		return nil, &usageError{fmt.Errorf("name %q is not usable: use letters, digits, '-' and '_', starting with a letter (it becomes the proto package and Go identifiers)", arg)}
	}
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' })
	service := ""
	for _, w := range words {
		service += strings.ToUpper(w[:1]) + w[1:]
	}
	if !strings.HasSuffix(service, "Service") {
		service += "Service"
	}
	if modulePath == "" {
		if err := checkModulePath(name); err != nil {
			return nil, &usageError{fmt.Errorf("name %q is not usable as the module path: %w; choose another name, or give --module a path such as example.com/%s", arg, err, name)}
		}
		modulePath = name
	}
	if err := checkModulePath(modulePath); err != nil {
		return nil, &usageError{fmt.Errorf("--module %q: %w", modulePath, err)}
	}
	version, replace, err := runtimeRequirement(replace)
	if err != nil {
		return nil, err
	}
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	goMinor := strings.Join(strings.SplitN(goVersion, ".", 3)[:2], ".")
	snake := strings.Join(words, "_")
	return &templateData{
		Name:         name,
		Module:       modulePath,
		ProtoName:    snake,
		ProtoPackage: snake + ".v1",
		GoPackage:    strings.Join(words, "") + "v1",
		Service:      service,
		MicroVersion: version,
		Replace:      replace,
		GoVersion:    goMinor + ".0",
		GoMinor:      goMinor,
		BufVersion:   bufVersion,
		GoImage:      goImage,
		RuntimeImage: runtimeImage,
	}, nil
}

// reservedPaths are the first path elements the go command keeps for
// itself: its package patterns ("go help packages") and the modules of the
// Go toolchain.
var reservedPaths = map[string]string{
	"main":      "the name of every program's top-level package",
	"all":       "a package pattern of the go command",
	"std":       "a package pattern of the go command",
	"cmd":       "a package pattern of the go command",
	"tool":      "a package pattern of the go command",
	"work":      "a package pattern of the go command",
	"go":        "the module path of the Go toolchain",
	"toolchain": "the module path of the Go toolchain",
}

// checkModulePath reports why the go command could not build a module at
// path: a malformed path, a name the go command reserves, or a first
// element that is a standard library package, which the module's packages
// would clash with. Paths whose first element has a dot are held to the
// rules of published modules ([module.CheckPath]); others, which go mod init
// also accepts, to those of import paths.
func checkModulePath(path string) error {
	first, _, _ := strings.Cut(path, "/")
	if strings.Contains(first, ".") {
		return module.CheckPath(path)
	}
	if err := module.CheckImportPath(path); err != nil {
		return err
	}
	if why, ok := reservedPaths[first]; ok {
		return fmt.Errorf("%q is reserved: it is %s", first, why)
	}
	if goroot := build.Default.GOROOT; goroot != "" {
		if info, err := os.Stat(filepath.Join(goroot, "src", first)); err == nil && info.IsDir() {
			return fmt.Errorf("%q is a package of the standard library, which the module's packages would clash with", first)
		}
	}
	return nil
}

func isName(name string) bool {
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_'):
		default:
			return false
		}
	}
	return !strings.HasSuffix(name, "-") && !strings.HasSuffix(name, "_")
}

// runtimeRequirement returns the micro version the new project requires and
// the checkout it replaces the runtime with: the one given, none for a
// released build of micro, and the checkout this binary was built from for a
// development build.
func runtimeRequirement(replace string) (version, dir string, err error) {
	if replace != "" {
		dir, err := microCheckout(replace)
		return "v0.0.0", dir, err
	}
	if info, ok := debug.ReadBuildInfo(); ok && released(info.Main.Version) {
		return info.Main.Version, "", nil
	}
	// A development build: its own source path leads to the checkout.
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", "", errors.New("this development build of micro does not know the checkout it was built from (built with -trimpath?); pass --replace with the checkout's directory")
	}
	dir, err = microCheckout(filepath.Dir(filepath.Dir(filepath.Dir(file))))
	if err != nil {
		return "", "", fmt.Errorf("find the checkout of this development build: %w; pass --replace with the checkout's directory", err)
	}
	return "v0.0.0", dir, nil
}

// released reports whether version is a tagged release, which the module
// proxy serves.
func released(version string) bool {
	return semver.IsValid(version) && !module.IsPseudoVersion(version) && semver.Build(version) == ""
}

// microCheckout returns the absolute path of dir after checking that it is a
// checkout of the micro module.
func microCheckout(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("%s is not a micro checkout: %w", abs, err)
	}
	if modfile.ModulePath(data) != "github.com/protomicro/micro" {
		return "", fmt.Errorf("%s is not a micro checkout: its go.mod is module %q", abs, modfile.ModulePath(data))
	}
	return abs, nil
}

// checkDestination refuses a directory that exists and is not empty, unless
// forced, and anything at dir that is not a directory.
func checkDestination(dir string, force bool) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("directory %s exists and is not empty; choose another with --dir, or write into it with --force", dir)
	}
	return nil
}

// templateLayers returns the templates of a kind, or those of a directory
// and, under them, the service templates it overrides: the first layer wins.
func templateLayers(kind string) ([]fs.FS, error) {
	if info, err := os.Stat(kind); err == nil && info.IsDir() && (strings.ContainsAny(kind, `/\`) || strings.HasPrefix(kind, ".") || !slices.Contains(templates.Kinds(), kind)) {
		base, err := templates.FS("service")
		if err != nil {
			return nil, err
		}
		return []fs.FS{os.DirFS(kind), base}, nil
	}
	tmpl, err := templates.FS(kind)
	if err != nil {
		return nil, err
	}
	return []fs.FS{tmpl}, nil
}

// render renders every template of the layers with data: names and contents
// of files ending in .tmpl are templates and lose the suffix; other files are
// copied. A file of a layer replaces the files of the layers after it that
// render to the same path, whichever of them are templates.
func render(layers []fs.FS, data *templateData) ([]bufgen.File, error) {
	var out []bufgen.File
	for _, layer := range layers {
		files, err := renderLayer(layer, data)
		if err != nil {
			return nil, err
		}
		out = addMissing(out, files)
	}
	return out, nil
}

// addMissing adds to files those of more whose paths files does not have.
func addMissing(files, more []bufgen.File) []bufgen.File {
	for _, m := range more {
		if !slices.ContainsFunc(files, func(f bufgen.File) bool { return f.Path == m.Path }) {
			files = append(files, m)
		}
	}
	return files
}

// renderLayer renders the files of one layer of templates.
func renderLayer(layer fs.FS, data *templateData) ([]bufgen.File, error) {
	var out []bufgen.File
	sources := map[string]string{} // target path -> template it came from
	err := fs.WalkDir(layer, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(layer, name)
		if err != nil {
			return err
		}
		target := name
		if strings.HasSuffix(name, ".tmpl") {
			if target, err = execute(name, strings.TrimSuffix(name, ".tmpl"), data); err != nil {
				return err
			}
			rendered, err := execute(name, string(content), data)
			if err != nil {
				return err
			}
			content = []byte(rendered)
		}
		if other, ok := sources[target]; ok {
			return fmt.Errorf("templates %s and %s both render to %s; keep one", other, name, target)
		}
		sources[target] = name
		out = append(out, bufgen.File{Path: target, Content: content})
		return nil
	})
	return out, err
}

// thirdPartyDir is where a new project keeps the protos its protos import
// from elsewhere; its buf.yaml lists it as a module.
const thirdPartyDir = "third_party"

// addThirdParty adds the protos micro generate has built in (google/api, for
// google.api.http) under third_party, unless the templates wrote those paths:
// buf and protoc find the imports there as micro generate does. They are not
// templates, so that they are the very bytes micro proto export writes.
func addThirdParty(files []bufgen.File) ([]bufgen.File, error) {
	protos, err := builtInProtos(thirdPartyDir)
	if err != nil {
		return nil, err
	}
	return addMissing(files, protos), nil
}

func execute(name, text string, data *templateData) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(sprig.HermeticTxtFuncMap()).Parse(text)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}

// writeProject writes files into dir through a staging directory beside
// it, so that a failure to write them (a full disk) leaves dir as it was: a
// dir that is not there or is empty becomes the staging directory by one
// rename, and a dir with files in it (--force) receives each file by rename
// once all are written. It returns which files replaced one that was there.
func writeProject(dir string, files []bufgen.File, write func(string, []byte, fs.FileMode) error) ([]bool, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".micro-new-")
	if err != nil {
		return nil, fmt.Errorf("write the project: %w", err)
	}
	defer func() { _ = os.RemoveAll(staging) }() // gone already when renamed whole
	for _, f := range files {
		staged := filepath.Join(staging, filepath.FromSlash(f.Path))
		err := os.MkdirAll(filepath.Dir(staged), 0o755)
		if err == nil {
			err = write(staged, f.Content, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("write the project: %w; nothing was written to %s", err, dir)
		}
	}
	replaced := make([]bool, len(files))
	if err := os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
		if err := os.Chmod(staging, 0o755); err != nil { // MkdirTemp's is 0700
			return nil, err
		}
		return replaced, os.Rename(staging, dir)
	}
	for i, f := range files {
		target := filepath.Join(dir, filepath.FromSlash(f.Path))
		replaced[i] = exists(target)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(staging, filepath.FromSlash(f.Path)), target); err != nil {
			return nil, err
		}
	}
	return replaced, nil
}

// exists reports whether there is a file (of any kind) at name.
func exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// generateInStaging writes files to a temporary directory and generates
// their code there, so that nothing reaches the project's directory unless
// generation succeeds.
func generateInStaging(ctx context.Context, files []bufgen.File) ([]bufgen.File, error) {
	staging, err := os.MkdirTemp("", "micro-new-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(staging) }()
	if _, err := bufgen.Write(staging, files); err != nil {
		return nil, err
	}
	return bufgen.Generate(ctx, staging)
}
