package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
)

// benchModule is the module path of the benchmarks.
const benchModule = "github.com/protomicro/micro/bench"

// ModuleDir returns the directory of the bench module, which must be the
// main module of the current directory.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := output(ctx, "", "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	if err != nil {
		return "", err
	}
	path, dir, _ := strings.Cut(out, " ")
	if path != benchModule {
		return "", fmt.Errorf("run in the bench module's directory (%s), not in %s's", benchModule, path)
	}
	return dir, nil
}

// The markers around the part of BENCHMARKS.md that a run rewrites.
const (
	beginResults = "<!-- begin results: written by make bench (cmd/microbench); edit outside -->"
	endResults   = "<!-- end results -->"
)

// WriteMarkdownFile writes the report into the markdown file at path,
// between the results markers, keeping the text around them; it creates
// the file if there is none.
func (r *Report) WriteMarkdownFile(path string) error {
	block := beginResults + "\n\n" + r.Markdown() + "\n" + endResults + "\n"
	old, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return os.WriteFile(path, []byte("# Benchmarks\n\n"+block), 0o644)
	case err != nil:
		return err
	}
	before, rest, found := bytes.Cut(old, []byte(beginResults))
	_, after, foundEnd := bytes.Cut(rest, []byte(endResults+"\n"))
	if !found || !foundEnd {
		return fmt.Errorf("%s has no results block (%q ... %q) to replace", path, beginResults, endResults)
	}
	// before and after share old's array: build the file anew, or a block
	// longer than the one it replaces would overwrite the text after it.
	out := make([]byte, 0, len(before)+len(block)+len(after))
	return os.WriteFile(path, append(append(append(out, before...), block...), after...), 0o644)
}

// WriteJSONLinesFile writes the report's JSON lines to the file at path.
func (r *Report) WriteJSONLinesFile(path string) error {
	var b bytes.Buffer
	if err := r.WriteJSONLines(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
