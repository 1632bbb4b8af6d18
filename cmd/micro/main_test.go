package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
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
		{args: []string{"version"}, stdout: "micro (devel) (runtime "},
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
