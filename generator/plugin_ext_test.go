package generator_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/testdata/testutil"
)

// The tests in this file run the real plugin binaries under protoc and buf
// and expect exactly the goldens that TestGolden makes in-process.

var plugins struct {
	once sync.Once
	dir  string
	err  error
}

// pluginDir builds protoc-gen-micro and protoc-gen-go into a directory shared
// by the tests of this run, and returns it.
func pluginDir(t *testing.T) string {
	t.Helper()
	plugins.once.Do(func() {
		plugins.dir, plugins.err = os.MkdirTemp("", "micro-plugins")
		if plugins.err != nil {
			return
		}
		for _, pkg := range []string{"github.com/protomicro/micro/protoc-gen-micro", "google.golang.org/protobuf/cmd/protoc-gen-go"} {
			out, err := exec.Command("go", "build", "-o", plugins.dir, pkg).CombinedOutput()
			if err != nil {
				plugins.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
				return
			}
		}
	})
	if plugins.err != nil {
		t.Fatal(plugins.err)
	}
	return plugins.dir
}

func TestMain(m *testing.M) {
	defer func() {
		if plugins.dir != "" {
			_ = os.RemoveAll(plugins.dir)
		}
	}()
	m.Run()
}

// protocVersionLine is the line protoc-gen-go writes with the compiler's
// version, which in-process generation cannot know.
var protocVersionLine = regexp.MustCompile(`(?m)^// \tprotoc +\S+$`)

// compareOutput checks the files a plugin run wrote under out against the
// case's goldens.
func compareOutput(t *testing.T, tc goldenCase, out string) {
	t.Helper()
	root := out // where paths=source_relative puts testdata/golden's cases
	if tc.outRoot != goldenRoot {
		root = filepath.Join(out, "testdata", "golden")
	}
	got := readTree(t, filepath.Join(root, tc.name))
	want := readTree(t, filepath.Join(goldenRoot, tc.name))
	delete(want, "pkgsuffix_grpc.pb.go") // made by protoc-gen-go-grpc, not run here
	for name, content := range got {
		got[name] = protocVersionLine.ReplaceAllString(content, "// \tprotoc        (unknown)")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output differs from testdata/golden/%s (-want +got):\n%s", tc.name, diff)
	}
}

// wantError checks that a failed plugin run reported the case's golden error.
func wantError(t *testing.T, tc goldenCase, err error, output []byte) {
	t.Helper()
	golden, readErr := os.ReadFile(filepath.Join(goldenRoot, tc.name, "error.txt"))
	if readErr != nil {
		if err != nil {
			t.Fatalf("%v\n%s", err, output)
		}
		return
	}
	if err == nil || !bytes.Contains(output, bytes.TrimSpace(golden)) {
		t.Errorf("run = %v, output:\n%s\nwant a failure reporting:\n%s", err, output, golden)
	}
}

func protoFiles(t *testing.T, name string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(protoRoot, name), func(path string, _ os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".proto") {
			rel, _ := filepath.Rel(protoRoot, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestProtoc runs protoc --go_out --micro_out on every case.
func TestProtoc(t *testing.T) {
	t.Parallel()
	protoc := testutil.Tool(t, "protoc")
	bin := pluginDir(t)
	version, err := exec.Command(protoc, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "editions" && !protocSupportsEditions(string(version)) {
				t.Skipf("%s does not support editions", strings.TrimSpace(string(version)))
			}
			out := t.TempDir()
			args := []string{
				"-I", protoRoot,
				"--plugin=protoc-gen-micro=" + filepath.Join(bin, "protoc-gen-micro"),
				"--plugin=protoc-gen-go=" + filepath.Join(bin, "protoc-gen-go"),
				"--go_out=" + out, "--go_opt=" + tc.params,
				"--micro_out=" + out, "--micro_opt=" + strings.Trim(tc.params+","+tc.microParams, ","),
			}
			output, err := exec.Command(protoc, append(args, protoFiles(t, tc.name)...)...).CombinedOutput()
			if wantError(t, tc, err, output); err != nil {
				return
			}
			compareOutput(t, tc, out)
		})
	}
}

// protocSupportsEditions reports whether protoc --version output names a
// protoc of version 27 or later, the first with editions.
func protocSupportsEditions(version string) bool {
	m := regexp.MustCompile(`libprotoc (\d+)\.`).FindStringSubmatch(version)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	return major >= 27
}

// TestBuf runs buf generate with protoc-gen-micro as a local plugin on every
// case.
func TestBuf(t *testing.T) {
	t.Parallel()
	buf := testutil.Tool(t, "buf")
	bin := pluginDir(t)
	protoDir, err := filepath.Abs(protoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			template := fmt.Sprintf(`version: v2
plugins:
  - local: %s
    out: out
    opt: %s
  - local: %s
    out: out
    opt: %s
`, filepath.Join(bin, "protoc-gen-go"), tc.params, filepath.Join(bin, "protoc-gen-micro"), strings.Trim(tc.params+","+tc.microParams, ","))
			if err := os.WriteFile(filepath.Join(dir, "buf.gen.yaml"), []byte(template), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(buf, "generate", protoDir, "--template", "buf.gen.yaml", "--path", filepath.Join(protoDir, tc.name))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "BUF_CACHE_DIR="+filepath.Join(dir, "cache"))
			output, err := cmd.CombinedOutput()
			if wantError(t, tc, err, output); err != nil {
				return
			}
			compareOutput(t, tc, filepath.Join(dir, "out"))
		})
	}
}

// TestPluginCommandLine runs the plugin binary the way people poke at it.
func TestPluginCommandLine(t *testing.T) {
	t.Parallel()
	plugin := filepath.Join(pluginDir(t), "protoc-gen-micro")
	req, err := proto.Marshal(compileRequest(t, "unary", module))
	if err != nil {
		t.Fatal(err)
	}
	badParam := func(param string) []byte {
		r := compileRequest(t, "unary", module+","+param)
		b, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name   string
		args   []string
		stdin  []byte
		status int
		output string
	}{
		{name: "version", args: []string{"--version"}, output: "protoc-gen-micro (devel)"},
		{name: "help", args: []string{"--help"}, output: "package_suffix=<suffix>"},
		{name: "run by hand", args: []string{"greeter.proto"}, status: 1, output: "should be run by protoc"},
		{name: "request", stdin: req},
		{name: "unknown parameter", stdin: badParam("colour=blue"), status: 1, output: `unknown parameter "colour"`},
		{name: "bad suffix", stdin: badParam("package_suffix=no-dash"), status: 1, output: `parameter package_suffix="no-dash"`},
		{name: "empty suffix", stdin: badParam("package_suffix="), status: 1, output: `parameter package_suffix=""`},
	} {
		cmd := exec.Command(plugin, tt.args...)
		cmd.Stdin = bytes.NewReader(tt.stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			status = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		output := stdout.String() + stderr.String()
		if status != tt.status || !strings.Contains(output, tt.output) {
			t.Errorf("%s: exit status %d, output:\n%s\nwant %d and output containing %q", tt.name, status, output, tt.status, tt.output)
		}
	}
}
