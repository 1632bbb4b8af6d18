package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/bench/internal/codegen"
)

// Generator is how long one code generator took over the synthetic tree.
type Generator struct {
	Name     string `json:"name"`
	Package  string `json:"package"`
	Files    int    `json:"files"`
	Services int    `json:"services"`
	Methods  int    `json:"methods"`
	Messages int    `json:"messages"`
	Runs     int    `json:"runs"`
	// Medians over the runs of the time from start to exit and of the CPU
	// time used, in milliseconds.
	WallMS float64 `json:"wall_ms"`
	CPUMS  float64 `json:"cpu_ms"`
	// OutputBytes is the size of all the files generated.
	OutputBytes int `json:"output_bytes"`
	// CPURatio compares CPUMS with protoc-gen-go-grpc's.
	CPURatio float64 `json:"cpu_ratio"`
}

// The generators timed: micro's and the peers' service generators, and
// protoc-gen-go (messages) for scale, each built from the version the bench
// module pins. go-micro's is missing: it rejects a request whose files are
// in more than one Go package ("inconsistent package import paths"), so it
// cannot be timed on the same request.
var generators = []struct{ name, pkg string }{
	{"protoc-gen-micro", "github.com/protomicro/micro/protoc-gen-micro"},
	{"protoc-gen-go-grpc", "google.golang.org/grpc/cmd/protoc-gen-go-grpc"},
	{"protoc-gen-connect-go", "connectrpc.com/connect/cmd/protoc-gen-connect-go"},
	{"protoc-gen-go", "google.golang.org/protobuf/cmd/protoc-gen-go"},
}

const baselineGenerator = "protoc-gen-go-grpc"

// Per file of the synthetic tree.
const (
	servicesPerFile   = 2
	methodsPerService = 10
)

// timeGenerators builds every generator, writes a synthetic proto tree of
// cfg.GeneratorFiles files, compiles it into one request, and runs the
// generators on it in turn, cfg.GeneratorRuns times each.
func timeGenerators(ctx context.Context, cfg Config) ([]Generator, error) {
	dir, err := os.MkdirTemp("", "microbench-generators-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory left behind is harmless
	programs := make([]codegen.Program, len(generators))
	for i, g := range generators {
		bin := filepath.Join(dir, "bin", g.name)
		if _, err := output(ctx, cfg.ModuleDir, "go", "build", "-o", bin, g.pkg); err != nil {
			return nil, fmt.Errorf("build %s: %w", g.name, err)
		}
		programs[i] = codegen.Program{Label: g.name, Command: bin}
	}
	root := filepath.Join(dir, "proto")
	files, err := writeTree(root, cfg.GeneratorFiles)
	if err != nil {
		return nil, err
	}
	req, err := codegen.Request(ctx, root, files, "paths=source_relative")
	if err != nil {
		return nil, err
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	walls := make([][]float64, len(programs))
	cpus := make([][]float64, len(programs))
	out := make([]Generator, len(programs))
	for run := range cfg.GeneratorRuns {
		for i, p := range programs {
			resp, cost, err := p.Run(ctx, data)
			if err != nil {
				return nil, err
			}
			if len(resp.GetFile()) == 0 {
				return nil, fmt.Errorf("%s generated nothing", p.Label)
			}
			walls[i] = append(walls[i], float64(cost.Wall.Milliseconds()))
			cpus[i] = append(cpus[i], float64(cost.CPU.Milliseconds()))
			if run == 0 {
				for _, f := range resp.GetFile() {
					out[i].OutputBytes += len(f.GetContent())
				}
			}
		}
	}
	for i, g := range generators {
		out[i].Name, out[i].Package = g.name, g.pkg
		out[i].Files = len(files)
		out[i].Services = cfg.GeneratorFiles * servicesPerFile
		out[i].Methods = cfg.GeneratorFiles * servicesPerFile * methodsPerService
		out[i].Messages = 2*out[i].Methods + 1
		out[i].Runs = cfg.GeneratorRuns
		out[i].WallMS = middle(walls[i])
		out[i].CPUMS = middle(cpus[i])
	}
	base := slices.IndexFunc(out, func(g Generator) bool { return g.Name == baselineGenerator })
	for i := range out {
		out[i].CPURatio = out[i].CPUMS / out[base].CPUMS
	}
	return out, nil
}

func middle(values []float64) float64 {
	values = slices.Clone(values)
	slices.Sort(values)
	return values[len(values)/2]
}

// writeTree writes n proto files under root, plus one they all import, and
// returns their paths relative to root. Each file has two services of ten
// methods, of all four kinds, with comments, and a request and response
// message per method using scalars, repeated fields, maps, a well-known
// type and an imported message.
func writeTree(root string, n int) ([]string, error) {
	files := map[string]string{
		"big/common/v1/common.proto": `syntax = "proto3";

package big.common.v1;

option go_package = "example.com/big/common/v1;commonv1";

// Page asks for one page of a list.
message Page {
  int32 size = 1;
  string token = 2;
}
`,
	}
	kinds := [][2]string{{"", ""}, {"", "stream "}, {"stream ", ""}, {"stream ", "stream "}}
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "syntax = \"proto3\";\n\npackage big.s%03d.v1;\n\n", i)
		fmt.Fprintf(&b, "import \"big/common/v1/common.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\n")
		fmt.Fprintf(&b, "option go_package = \"example.com/big/s%03d/v1;s%03dv1\";\n", i, i)
		for s := range servicesPerFile {
			service := fmt.Sprintf("Service%c", 'A'+s)
			fmt.Fprintf(&b, "\n// %s is service %d of file %d.\nservice %s {\n", service, s, i, service)
			for m := range methodsPerService {
				method := fmt.Sprintf("%sMethod%d", service, m)
				k := kinds[m%len(kinds)]
				fmt.Fprintf(&b, "  // %s is method %d of %s.\n  rpc %s(%s%sRequest) returns (%s%sResponse);\n", method, m, service, method, k[0], method, k[1], method)
			}
			b.WriteString("}\n")
			for m := range methodsPerService {
				for _, suffix := range []string{"Request", "Response"} {
					fmt.Fprintf(&b, "\nmessage %sMethod%d%s {\n  string id = 1;\n  int64 count = 2;\n  repeated string tags = 3;\n  map<string, string> labels = 4;\n  google.protobuf.Timestamp at = 5;\n  big.common.v1.Page page = 6;\n  bytes data = 7;\n}\n", service, m, suffix)
				}
			}
		}
		files[fmt.Sprintf("big/s%03d/v1/s%03d.proto", i, i)] = b.String()
	}
	var paths []string
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, name)
	}
	slices.Sort(paths)
	return paths, nil
}
