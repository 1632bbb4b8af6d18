package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// The files of a golden case that the command writes; every other file is
// input: "stdin" is the command's standard input, and the rest are written to
// the directory $WORK.
var outputFiles = []string{"stdout", "stderr", "status"}

// TestGolden runs the command line of each testdata/toolkit/COMMAND/*.txtar
// against the services of a [world] and compares what it writes with the
// archive's stdout, stderr and status (the exit status, when not 0).
// go test ./cmd/micro -update rewrites them.
//
// The archive's comment holds the command line, "micro ARGS", after lines of
// notes starting with "#". Arguments are split at spaces, and may be quoted
// with '...' (taken as they are) or "..." ($NAME expanded); $NAME is one of
// the world's variables ($REGISTRY, $ECHO_ADDRESS, ...) or $WORK. Addresses,
// node IDs, the host name and directories are normalized in the output.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/toolkit/*/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases in testdata/toolkit: %v", err)
	}
	w := newWorld(t)
	for _, file := range files {
		name, _ := filepath.Rel("testdata/toolkit", strings.TrimSuffix(file, ".txtar"))
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			t.Parallel()
			archive, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := w.runCase(t, archive)
			if *update {
				if err := os.WriteFile(file, txtar.Format(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, name := range outputFiles {
				if diff := cmp.Diff(fileOf(archive, name), fileOf(got, name)); diff != "" {
					t.Errorf("%s: %s differs from %s (-want +got):\n%s\n(go test ./cmd/micro -update rewrites it)", file, name, commandLine(archive), diff)
				}
			}
		})
	}
}

// runCase runs the command of archive and returns archive with the outputs
// it got instead of those it had.
func (w *world) runCase(t *testing.T, archive *txtar.Archive) *txtar.Archive {
	t.Helper()
	work := t.TempDir()
	vars := map[string]string{"WORK": work}
	for name, value := range w.vars {
		vars[name] = value
	}
	got := &txtar.Archive{Comment: archive.Comment}
	var stdin []byte
	for _, f := range archive.Files {
		if slices.Contains(outputFiles, f.Name) {
			continue
		}
		got.Files = append(got.Files, f)
		if f.Name == "stdin" {
			stdin = f.Data
			continue
		}
		if err := os.WriteFile(filepath.Join(work, f.Name), f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	line := commandLine(archive)
	args, err := splitArgs(strings.TrimPrefix(line, "micro "), vars)
	if err != nil || !strings.HasPrefix(line, "micro ") {
		t.Fatalf("command line %q: want micro ARGS (%v)", line, err)
	}

	// A bound without a deadline, which the calls would carry and Echo report.
	ctx, cancel := context.WithCancel(t.Context())
	defer time.AfterFunc(60*time.Second, cancel).Stop()
	defer cancel()
	var stdout, stderr bytes.Buffer
	status := run(ctx, args, w.env, bytes.NewReader(stdin), &stdout, &stderr)
	normalize := func(out string) string {
		return strings.ReplaceAll(w.normalize(out), work, "$WORK")
	}
	outputs := []string{normalize(stdout.String()), normalize(stderr.String()), ""}
	if status != 0 {
		outputs[2] = strconv.Itoa(status) + "\n"
	}
	for i, out := range outputs {
		if out != "" {
			got.Files = append(got.Files, txtar.File{Name: outputFiles[i], Data: []byte(out)})
		}
	}
	return got
}

// commandLine returns the first line of archive's comment that is not a note.
func commandLine(archive *txtar.Archive) string {
	for line := range strings.Lines(string(archive.Comment)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// fileOf returns the content of the named file of archive, or "".
func fileOf(archive *txtar.Archive, name string) string {
	for _, f := range archive.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

// splitArgs splits a command line at spaces, with '...' and "..." quoting
// and $NAME expanded from vars outside single quotes.
func splitArgs(line string, vars map[string]string) ([]string, error) {
	var (
		args    []string
		arg     strings.Builder
		inArg   bool
		quote   rune
		pending string // a $NAME being read
		reading bool
	)
	expand := func() error {
		if !reading {
			return nil
		}
		value, ok := vars[pending]
		if !ok {
			return fmt.Errorf("unknown variable $%s", pending)
		}
		arg.WriteString(value)
		pending, reading = "", false
		return nil
	}
	for _, r := range line + " " {
		if reading {
			if r == '_' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				pending += string(r)
				continue
			}
			if err := expand(); err != nil {
				return nil, err
			}
		}
		switch {
		case quote == '\'' && r != '\'', quote == '"' && r != '"' && r != '$':
			arg.WriteRune(r)
		case r == quote:
			quote = 0
		case r == '$' && quote != '\'':
			reading, inArg = true, true
		case quote == 0 && (r == '\'' || r == '"'):
			quote, inArg = r, true
		case quote == 0 && r == ' ':
			if inArg {
				args = append(args, arg.String())
				arg.Reset()
				inArg = false
			}
		default:
			arg.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c", quote)
	}
	return args, nil
}
