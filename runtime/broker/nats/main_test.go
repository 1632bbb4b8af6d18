package nats_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind: a closed broker
// must have stopped every subscription and retry. Run with nodeEnv set, the
// test binary is instead one node of the service TestAcrossProcesses runs.
func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) != "" {
		os.Exit(runNode()) //nolint:forbidigo // a node process of TestAcrossProcesses: its exit status is its answer
	}
	goleak.VerifyTestMain(m)
}
