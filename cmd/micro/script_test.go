package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestScripts runs the txtar cases under testdata/new and testdata/generate.
// The first line of a case's comment is the command line, where $CHECKOUT
// stands for this checkout; files under in/ are laid out before it runs. The
// case expects the exit status, what the command wrote to standard error
// (and output, if any), and the resulting directory tree under out/.
// go test ./cmd/micro -update rewrites the expectations.
func TestScripts(t *testing.T) {
	checkout := checkoutDir(t)
	cases, err := filepath.Glob("testdata/*/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(file, ".txtar"), func(t *testing.T) {
			runScript(t, file, checkout)
		})
	}
}

func runScript(t *testing.T, file, checkout string) {
	archive, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	commandLine, _, _ := strings.Cut(strings.TrimSpace(string(archive.Comment)), "\n")
	args := strings.Fields(strings.ReplaceAll(commandLine, "$CHECKOUT", checkout))
	if len(args) == 0 || args[0] != "micro" {
		t.Fatalf("%s: the comment's first line must be a micro command line, not %q", file, commandLine)
	}
	dir := t.TempDir()
	var inputs []txtar.File
	for _, f := range archive.Files {
		if name, ok := strings.CutPrefix(f.Name, "in/"); ok {
			inputs = append(inputs, f)
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), args[1:], os.LookupEnv, nil, &stdout, &stderr)
	normalize := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(checkout), []byte("$CHECKOUT")) }

	got := &txtar.Archive{Comment: []byte(commandLine + "\n")}
	got.Files = append(got.Files, txtar.File{Name: "status", Data: []byte(strconv.Itoa(status) + "\n")})
	if stdout.Len() > 0 {
		got.Files = append(got.Files, txtar.File{Name: "stdout", Data: normalize(stdout.Bytes())})
	}
	got.Files = append(got.Files, txtar.File{Name: "stderr", Data: normalize(stderr.Bytes())})
	got.Files = append(got.Files, inputs...)
	var tree []txtar.File
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		tree = append(tree, txtar.File{Name: "out/" + filepath.ToSlash(rel), Data: normalize(data)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(tree, func(a, b txtar.File) int { return strings.Compare(a.Name, b.Name) })
	got.Files = append(got.Files, tree...)

	if *update {
		if err := os.WriteFile(filepath.Join(checkout, "cmd", "micro", file), txtar.Format(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := txtar.Format(archive)
	if gotText := txtar.Format(got); !bytes.Equal(want, gotText) {
		t.Errorf("%s does not match what the command did; run go test ./cmd/micro -update if the change is intended:\n%s", file, lineDiff(want, gotText))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n-want %q\n+got  %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}
