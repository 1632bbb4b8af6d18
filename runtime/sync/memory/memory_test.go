package memory_test

import (
	stdsync "sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/memory"
	"github.com/protomicro/micro/runtime/sync/synctest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	// A memory sync is shared only by whoever holds it, so the suite's
	// "syncs of one test" are one sync.
	var (
		mu    stdsync.Mutex
		syncs = make(map[*testing.T]*memory.Sync)
	)
	synctest.Run(t, func(t *testing.T) sync.Sync {
		mu.Lock()
		defer mu.Unlock()
		if s := syncs[t]; s != nil {
			return s
		}
		s := memory.New()
		syncs[t] = s
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
