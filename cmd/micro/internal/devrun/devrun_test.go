package devrun

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIgnored(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"/w/greeter/handler/handler.go":       false,
		"/w/greeter/proto/greeter/v1/g.proto": false,
		"/w/greeter/handler/handler.go~":      true,
		"/w/greeter/handler/.handler.go.swp":  true,
		"/w/greeter/handler/4913":             true,
		"/w/greeter/handler/.#handler.go":     true,
		"/w/greeter/handler/#handler.go#":     true,
		"/w/.git":                             true,
		"/w/greeter/node_modules":             true,
	} {
		if got := ignored(path); got != want {
			t.Errorf("ignored(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestStartOrder(t *testing.T) {
	t.Parallel()
	specs := []Spec{{Name: "front", Depends: []string{"greeter", "users"}}, {Name: "greeter", Depends: []string{"users"}}, {Name: "users"}, {Name: "jobs"}}
	got, err := startOrder(specs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"users", "greeter", "front", "jobs"}, names); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
	_, err = startOrder([]Spec{{Name: "a", Depends: []string{"b"}}, {Name: "b", Depends: []string{"a"}}})
	if err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Errorf("startOrder of a cycle = %v, want an error naming it", err)
	}
}

// TestReadConfig reads the micro.yaml of the README, and checks that
// mistakes are named.
func TestReadConfig(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := bytes.Cut(readme, []byte("\n## Running a workspace\n"))
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(section)
	if m == nil {
		t.Fatal("README.md's Running a workspace has no yaml block")
	}
	got, err := readConfig(writeConfig(t, string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{
		{Name: "greeter", Dir: "greeter"},
		{Name: "front", Dir: "front", Env: map[string]string{"GREETING": "Hi"}, Args: []string{"--verbose"}, Depends: []string{"greeter"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the README's micro.yaml (-want +got):\n%s", diff)
	}

	for config, want := range map[string]string{
		"services: []\n":                            "lists no services",
		"services:\n  - name: a\n":                  `service 1 ("a") has no dir`,
		"services:\n  - dir: x/a\n  - dir: y/a\n":   `two services are called "a"`,
		"services:\n  - dir: a\n    depends: [b]\n": `"a" depends on "b", which is not listed`,
		"services:\n  - dir: a\n    depend: [b]\n":  "field depend not found",
	} {
		if _, err := readConfig(writeConfig(t, config)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("micro.yaml %q: error %v, want %q", config, err, want)
		}
	}
	if specs, err := readConfig(t.TempDir()); specs != nil || err != nil {
		t.Errorf("no micro.yaml: %v, %v; want nothing", specs, err)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDiscover finds the main packages that import the runtime, named after
// their directories, and the directories a change to which rebuilds them.
func TestDiscover(t *testing.T) {
	t.Parallel()
	pkgs := []*goPackage{
		{ImportPath: "ws/a/cmd/greeter", Dir: "/ws/a/cmd/greeter", Name: "main", Deps: []string{RuntimePackage, "fmt", "ws/a/handler"}},
		{ImportPath: "ws/b/cmd/greeter", Dir: "/ws/b/cmd/greeter", Name: "main", Deps: []string{RuntimePackage}},
		{ImportPath: "ws/tool", Dir: "/ws/tool", Name: "main", Deps: []string{"fmt"}},
		{ImportPath: "ws/a/handler", Dir: "/ws/a/handler", Name: "handler"},
		{ImportPath: "fmt", Dir: "/go/src/fmt", Name: "fmt", Standard: true, DepOnly: true},
		{ImportPath: RuntimePackage, Dir: "/micro/runtime/micro", Name: "micro", DepOnly: true},
	}
	g := &graph{packages: map[string]*goPackage{}, byDir: map[string]*goPackage{}}
	for _, p := range pkgs {
		g.packages[p.ImportPath] = p
		if !p.DepOnly {
			g.byDir[p.Dir] = p
		}
	}
	got := discover("/ws", g)
	want := []Spec{{Name: "a/cmd/greeter", Dir: "a/cmd/greeter"}, {Name: "b/cmd/greeter", Dir: "b/cmd/greeter"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discover (-want +got):\n%s", diff)
	}
	dirs := g.dirs(pkgs[0])
	wantDirs := map[string]bool{"/ws/a/cmd/greeter": true, "/ws/a/handler": true, "/micro/runtime/micro": true}
	if diff := cmp.Diff(wantDirs, dirs); diff != "" {
		t.Errorf("the directories greeter is built from (-want +got):\n%s", diff)
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := NewStream(&out, false)
	a, b := s.writer("greeter"), s.writer("api")
	_, _ = a.Write([]byte("one\ntw"))
	_, _ = b.Write([]byte("routed\n"))
	_, _ = a.Write([]byte("o\n"))
	_, _ = a.Write([]byte("partial"))
	_ = a.Close()
	want := "greeter | one\napi     | routed\ngreeter | two\ngreeter | partial\n"
	if out.String() != want {
		t.Errorf("stream wrote %q, want %q", out.String(), want)
	}
	out.Reset()
	colored := NewStream(&out, true)
	colored.writer("x").printf("hi")
	if want := "\x1b[36mx |\x1b[0m hi\n"; out.String() != want {
		t.Errorf("coloured stream wrote %q, want %q", out.String(), want)
	}
}
