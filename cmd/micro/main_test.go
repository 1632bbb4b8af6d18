package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/testdata/testutil"
)

// update makes the golden tests (TestScripts, TestGolden) rewrite their
// expected outputs under testdata/ from what the commands do: go test
// ./cmd/micro -update, which make generate runs.
var update = flag.Bool("update", false, "rewrite the expected outputs of the txtar cases under testdata/")

func TestRun(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args           []string
		status         int
		stdout, stderr string
	}{
		{args: []string{"version"}, stdout: "micro (devel) (runtime ", stderr: "micro has no release yet"},
		{args: []string{"version", "extra"}, status: 2, stderr: `micro: unknown command "extra" for "micro version"`},
		{args: []string{"--bogus"}, status: 2, stderr: "micro: unknown flag: --bogus"},
		{args: []string{"nosuch"}, status: 2, stderr: `micro: unknown command "nosuch" for "micro"`},
		{args: []string{"--help"}, stdout: "micro [command]"},
	} {
		var stdout, stderr bytes.Buffer
		status := run(t.Context(), tt.args, noEnv, strings.NewReader(""), &stdout, &stderr)
		if status != tt.status || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("micro %s = %d\nstdout: %s\nstderr: %s\nwant %d, stdout containing %q, stderr containing %q",
				strings.Join(tt.args, " "), status, stdout.String(), stderr.String(), tt.status, tt.stdout, tt.stderr)
		}
	}
}

// noEnv is an empty environment.
func noEnv(string) (string, bool) { return "", false }

// TestInterrupt checks that a command interrupted while it waits (here a
// bidi stream waiting for more input) exits with status 130 and says so,
// rather than failing with "canceled".
func TestInterrupt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	stdin, input := io.Pipe()
	defer func() { _ = input.Close() }()
	var stdout, stderr testutil.Buffer
	status := make(chan int, 1)
	go func() { status <- run(ctx, []string{"stream", "echo", "Chat"}, w.env, stdin, &stdout, &stderr) }()
	if _, err := io.WriteString(input, `{"text": "a"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the stream is open and answering.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "echo: a") {
		if time.Now().After(deadline) {
			t.Fatalf("no response to the first request; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	interrupt()
	select {
	case got := <-status:
		if got != 130 || stderr.String() != "micro: interrupted\n" {
			t.Errorf("micro stream echo Chat, interrupted = %d, stderr %q; want 130, %q", got, stderr.String(), "micro: interrupted\n")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("micro stream did not return after the interrupt")
	}
}

// checkoutDir returns the absolute path of this checkout.
func checkoutDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}
