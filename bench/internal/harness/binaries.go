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

// helloProgram is a program under hello/, named in the report.
type helloProgram struct{ name, dir string }

// The hello-world programs, under hello/: services, then two programs that
// only call the service, which the client-size goal compares.
var helloPrograms = []helloProgram{
	{"micro", "micro"},
	{"grpc-go", "grpc"},
	{"connect-go", "connect"},
	{"go-micro", "gomicro"},
	{microClient, "microclient"},
	{grpcClient, "grpcclient"},
}

// The client-only programs and the goal on their sizes: a program that only
// calls services through micro's generated client is at most this much
// bigger than the same program written with grpc-go.
const (
	microClient  = "micro client"
	grpcClient   = "grpc-go client"
	maxSizeRatio = 1.15
	goalSize     = "micro client binary / grpc-go's"
	sizeWorkload = "client only, go build"
)

// sizeVerdict compares the client-only programs' sizes.
func sizeVerdict(binaries []Binary) Verdict {
	var micro, grpc int64
	for _, b := range binaries {
		switch b.Name {
		case microClient:
			micro = b.Size
		case grpcClient:
			grpc = b.Size
		}
	}
	ratio := 0.0
	if grpc > 0 {
		ratio = float64(micro) / float64(grpc)
	}
	return newVerdict(goalSize, sizeWorkload, ratio, maxSizeRatio, true, micro > 0 && grpc > 0)
}

// measureBinaries builds the programs with default flags and returns their
// sizes and the number of modules each links in.
func measureBinaries(ctx context.Context, moduleDir string, programs []helloProgram) ([]Binary, error) {
	dir, err := os.MkdirTemp("", "microbench-hello-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory left behind is harmless
	var out []Binary
	for _, h := range programs {
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
