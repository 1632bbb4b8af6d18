package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNewWriteFailure checks that micro new leaves nothing behind when it
// cannot write the project (a full disk), so that running it again works,
// and that with --force it leaves the directory's files as they were.
func TestNewWriteFailure(t *testing.T) {
	t.Parallel()
	checkout := checkoutDir(t)
	fullDisk := func() func(string, []byte, fs.FileMode) error {
		written := 0
		return func(name string, data []byte, perm fs.FileMode) error {
			if written++; written > 3 {
				return &fs.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
			}
			return os.WriteFile(name, data, perm)
		}
	}
	for _, tt := range []struct {
		name  string
		files map[string]string // in the directory before micro new
	}{
		{name: "new", files: nil},
		{name: "force", files: map[string]string{"notes.txt": "mine\n", "README.md": "my readme\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dir := filepath.Join(parent, "greeter")
			for name, content := range tt.files {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			o := newOptions{dir: dir, template: "service", replace: checkout, force: true, noGenerate: true, noTidy: true, writeFile: fullDisk()}
			err := o.run(t.Context(), io.Discard, "greeter")
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("micro new on a full disk = %v, want an error wrapping %v", err, syscall.ENOSPC)
			}
			if diff := cmp.Diff(tt.files, tree(t, parent)); diff != "" {
				t.Errorf("micro new on a full disk left files behind (-want +got):\n%s", diff)
			}
			if entries, err := os.ReadDir(parent); err != nil || len(entries) != min(len(tt.files), 1) {
				t.Errorf("micro new on a full disk left %v in %s (%v)", entries, parent, err)
			}
			o.writeFile = nil
			if err := o.run(t.Context(), io.Discard, "greeter"); err != nil {
				t.Fatalf("micro new after a failed one: %v", err)
			}
			if got := tree(t, parent); got["go.mod"] == "" {
				t.Errorf("micro new after a failed one wrote no go.mod; files: %v", got)
			}
		})
	}
}

// tree returns the content of every file under dir/greeter, and anything
// else under dir, by path relative to dir/greeter.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	var files map[string]string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(filepath.Join(dir, "greeter"), path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if files == nil {
			files = map[string]string{}
		}
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestImages checks that the Dockerfile's Go image is of the Go release line
// that the projects' go directive names (this micro's own), since the image
// does not download another toolchain, and that both images are pinned.
func TestImages(t *testing.T) {
	t.Parallel()
	data, err := newTemplateData("greeter", "", filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if want := "golang:" + data.GoMinor + "."; !strings.HasPrefix(data.GoImage, want) {
		t.Errorf("goImage = %q, want an image of Go %s (%s), the go directive of new projects; see its comment", data.GoImage, data.GoMinor, want)
	}
	for _, image := range []string{data.GoImage, data.RuntimeImage} {
		if !strings.Contains(image, "@sha256:") {
			t.Errorf("image %q is not pinned by digest", image)
		}
	}
}
