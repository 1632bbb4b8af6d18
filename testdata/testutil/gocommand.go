package testutil

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// BuildTimeout bounds one go command that compiles (go build, go test, go
// run, go mod tidy, go tool). It is generous on purpose: on a new machine the
// build cache is empty, and grpc, protobuf and the runtime compile from
// nothing while other packages' tests compete for the same cores. Deadlines
// that measure behaviour (a call, a registration) belong after the build, on
// contexts of their own.
const BuildTimeout = 10 * time.Minute

// Go runs the go command with args in dir (the current directory when dir is
// empty) with env (the test's own environment when env is nil), bounded by
// [BuildTimeout] and the test's context, and returns its standard output. It
// fails the test with the command's standard error if the command fails.
func Go(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), BuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s in %s (after %s): %v\n%s", strings.Join(args, " "), dir, time.Since(start).Round(time.Second), err, stderr.String())
	}
	return stdout.String()
}
