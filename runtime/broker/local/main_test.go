package local_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind: a closed broker
// must have stopped every subscription.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
