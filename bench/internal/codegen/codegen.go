// Package codegen compiles .proto files into the request protoc sends its
// plugins, and runs plugins on it: protoc-gen-micro in-process, any other
// plugin (protoc-gen-go among them) as a program, the way protoc runs it. The
// benchmarks generate their code with it (cmd/benchgen), and time the
// generators with it, so that neither needs protoc.
package codegen

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/protomicro/micro/generator/bufgen"
)

// Request compiles files (paths relative to root, "echo/v1/echo.proto") with
// the well-known types available, and returns the request protoc would send
// a plugin asked to generate them with params.
func Request(ctx context.Context, root string, files []string, params string) (*pluginpb.CodeGeneratorRequest, error) {
	req, err := bufgen.Compile(ctx, root, []string{"."}, files)
	if err != nil {
		return nil, fmt.Errorf("compile protos in %s: %w", root, err)
	}
	req.Parameter = proto.String(params)
	return req, nil
}

// Plugin generates code for a request.
type Plugin interface {
	// Name is the plugin's program name, "protoc-gen-go".
	Name() string
	// Generate answers req. A failure of the plugin itself is returned as an
	// error, never left in the response.
	Generate(ctx context.Context, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error)
}

// Micro is protoc-gen-micro, run in-process from the micro module beside
// the benchmarks.
type Micro struct{}

// Name returns "protoc-gen-micro".
func (Micro) Name() string { return "protoc-gen-micro" }

// Generate runs micro's generator on req.
func (p Micro) Generate(ctx context.Context, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	resp, err := bufgen.RunPlugin(ctx, ".", p.Name(), req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name(), err)
	}
	return response(p, resp)
}

// Program is a plugin run as a program: Command (and Args) is started in Dir
// with the request on its standard input, as protoc would.
type Program struct {
	// Label names the plugin in errors and reports, "protoc-gen-go-grpc".
	Label   string
	Command string
	Args    []string
	// Dir is the directory the command runs in; empty means the current one.
	Dir string
}

// Name returns p.Label.
func (p Program) Name() string { return p.Label }

// Generate runs the program on req.
func (p Program) Generate(ctx context.Context, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: marshal request: %w", p.Label, err)
	}
	resp, _, err := p.Run(ctx, in)
	return resp, err
}

// Cost is what running a program took.
type Cost struct {
	// Wall is the time from starting the program to its exit.
	Wall time.Duration
	// CPU is the CPU time (user plus system) the program used.
	CPU time.Duration
}

// Run runs the program on a marshaled request and returns its response and
// what running it cost.
func (p Program) Run(ctx context.Context, req []byte) (*pluginpb.CodeGeneratorResponse, Cost, error) {
	cmd := exec.CommandContext(ctx, p.Command, p.Args...)
	cmd.Dir = p.Dir
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, Cost{}, fmt.Errorf("%s: run %s: %w\n%s", p.Label, cmd, err, stderr.Bytes())
	}
	cost := Cost{Wall: time.Since(start), CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	resp := new(pluginpb.CodeGeneratorResponse)
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, Cost{}, fmt.Errorf("%s: unmarshal response: %w", p.Label, err)
	}
	resp, err := response(p, resp)
	return resp, cost, err
}

// response returns resp, or the error it reports.
func response(p Plugin, resp *pluginpb.CodeGeneratorResponse) (*pluginpb.CodeGeneratorResponse, error) {
	if resp.Error != nil {
		return nil, fmt.Errorf("%s: %s", p.Name(), resp.GetError())
	}
	return resp, nil
}

// WithParams returns a copy of req that asks for params instead.
func WithParams(req *pluginpb.CodeGeneratorRequest, params string) *pluginpb.CodeGeneratorRequest {
	out := proto.CloneOf(req)
	out.Parameter = proto.String(params)
	return out
}
