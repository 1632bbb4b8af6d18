// Package testutil holds what the tests of several packages share.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of an external program a test needs, looking for
// each name on PATH. It skips the test when none is found, unless
// MICRO_REQUIRE_TOOLS is set (as CI sets it), where it fails instead.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("MICRO_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s not found on PATH, and MICRO_REQUIRE_TOOLS is set", names[0])
	}
	t.Skipf("%s not found on PATH; make test-tools installs it", names[0])
	return ""
}
