package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Environment is where and with what a run happened.
type Environment struct {
	Date    time.Time `json:"date"`
	CPUs    int       `json:"cpus"`
	CPU     string    `json:"cpu"`
	Kernel  string    `json:"kernel"`
	Go      string    `json:"go"`
	Pinning string    `json:"pinning"`
	// Modules are the versions of micro and of every peer, "module version".
	Modules []string `json:"modules"`
}

// The modules whose versions a report names, besides micro.
var peerModules = []string{
	"google.golang.org/grpc",
	"google.golang.org/grpc/cmd/protoc-gen-go-grpc",
	"google.golang.org/protobuf",
	"connectrpc.com/connect",
	"go-micro.dev/v5",
}

func environment(ctx context.Context, moduleDir string, p pinning) (Environment, error) {
	env := Environment{
		Date:    time.Now().UTC(),
		CPUs:    runtime.NumCPU(),
		CPU:     cpuModel(),
		Kernel:  runtime.GOOS + "/" + runtime.GOARCH,
		Go:      runtime.Version(),
		Pinning: p.String(),
	}
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.Kernel = "Linux " + strings.TrimSpace(string(release)) + " " + runtime.GOARCH
	}
	micro := "github.com/protomicro/micro (this checkout)"
	if commit, err := output(ctx, moduleDir, "git", "describe", "--always", "--dirty"); err == nil {
		micro = "github.com/protomicro/micro " + commit
	}
	env.Modules = append(env.Modules, micro)
	args := append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, peerModules...)
	versions, err := output(ctx, moduleDir, "go", args...)
	if err != nil {
		return env, err
	}
	env.Modules = append(env.Modules, strings.Split(versions, "\n")...)
	return env, nil
}

// cpuModel returns the processor's name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(data)) {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

// detectPinning pins the server and the load generator to one CPU each,
// the first two this process may run on, when taskset exists.
func detectPinning() pinning {
	path, err := exec.LookPath("taskset")
	if err != nil {
		return pinning{}
	}
	cpus := allowedCPUs()
	if len(cpus) < 2 {
		return pinning{}
	}
	return pinning{taskset: path, server: cpus[0], load: cpus[1]}
}

// allowedCPUs returns the CPUs this process may run on, from
// /proc/self/status ("Cpus_allowed_list: 0-3,6").
func allowedCPUs() []int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	var cpus []int
	for line := range strings.Lines(string(data)) {
		list, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
			first, last, isRange := strings.Cut(part, "-")
			if !isRange {
				last = first
			}
			lo, err1 := strconv.Atoi(first)
			hi, err2 := strconv.Atoi(last)
			if err1 != nil || err2 != nil {
				return nil
			}
			for cpu := lo; cpu <= hi; cpu++ {
				cpus = append(cpus, cpu)
			}
		}
	}
	return cpus
}

// output runs a command in dir and returns its trimmed standard output.
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", cmd, err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}
