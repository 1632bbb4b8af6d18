package harness

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
)

// Binary is the size of one hello-world program.
type Binary struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	// Size is the size of the executable in bytes.
	Size int64 `json:"size"`
	// Modules is how many modules are linked in, besides the main one.
	Modules int `json:"modules"`
}

// The hello-world programs, under hello/.
var helloPrograms = []struct{ name, dir string }{
	{"micro", "micro"},
	{"grpc-go", "grpc"},
	{"connect-go", "connect"},
	{"go-micro", "gomicro"},
}

// measureBinaries builds every hello-world program with default flags and
// returns its size and the number of modules linked in.
func measureBinaries(ctx context.Context, moduleDir string) ([]Binary, error) {
	dir, err := os.MkdirTemp("", "microbench-hello-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory left behind is harmless
	var out []Binary
	for _, h := range helloPrograms {
		bin := filepath.Join(dir, h.dir)
		pkg := "./hello/" + h.dir
		if _, err := output(ctx, moduleDir, "go", "build", "-o", bin, pkg); err != nil {
			return nil, fmt.Errorf("build %s: %w", pkg, err)
		}
		info, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		build, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("read build info of %s: %w", pkg, err)
		}
		out = append(out, Binary{Name: h.name, Package: pkg, Size: info.Size(), Modules: len(build.Deps)})
	}
	return out, nil
}
