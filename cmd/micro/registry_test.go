package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingRegistryDir checks that the commands that only read the
// registry report a local registry directory that does not exist, naming
// it, instead of creating it and finding no services.
func TestMissingRegistryDir(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"services", []string{"services"}},
		{"describe", []string{"describe", "greeter"}},
		{"health", []string{"health"}},
		{"call", []string{"call", "greeter", "Hello", "{}"}},
		{"stream", []string{"stream", "greeter", "Chat", "{}"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "nosuch")
			args := append(tt.args, "--registry", "local", "--registry_address", dir)
			var stdout, stderr bytes.Buffer
			status := run(t.Context(), args, noEnv, strings.NewReader(""), &stdout, &stderr)
			if want := "micro: local registry directory " + dir + " does not exist"; status != 1 || !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("micro %s = %d, stderr %q; want 1, stderr starting with %q", strings.Join(args, " "), status, stderr.String(), want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("micro %s created %s (stat: %v)", strings.Join(args, " "), dir, err)
			}
		})
	}
}
