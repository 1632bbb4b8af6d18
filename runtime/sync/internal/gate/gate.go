// Package gate excludes, inside one process, the holders of one key: the
// backends pass it before asking the host or the cluster, so that goroutines
// of one process queue in memory (which the race detector sees) and the
// backend sees at most one of them per key.
package gate

import (
	"context"
	stdsync "sync"

	"github.com/protomicro/micro/runtime/sync"
)

// Gates is a gate per key. The zero value is ready to use; it is safe for
// concurrent use.
type Gates struct {
	mu    stdsync.Mutex
	gates map[string]*gate
}

type gate struct {
	token chan struct{} // holds a value while someone is past the gate
	refs  int           // holders and waiters
}

// Enter waits until no one else is past key's gate, or ctx is done; with try
// it fails at once with [sync.ErrLocked] instead of waiting. Call leave to let
// the next one in.
func (g *Gates) Enter(ctx context.Context, key string, try bool) (leave func(), err error) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = make(map[string]*gate)
	}
	gt := g.gates[key]
	if gt == nil {
		gt = &gate{token: make(chan struct{}, 1)}
		g.gates[key] = gt
	}
	gt.refs++
	g.mu.Unlock()
	if try {
		select {
		case gt.token <- struct{}{}:
		default:
			g.drop(key, gt)
			return nil, sync.ErrLocked
		}
	} else {
		select {
		case gt.token <- struct{}{}:
		case <-ctx.Done():
			g.drop(key, gt)
			return nil, ctx.Err()
		}
	}
	var once stdsync.Once
	return func() {
		once.Do(func() {
			<-gt.token
			g.drop(key, gt)
		})
	}, nil
}

// drop forgets one holder or waiter of gt, and gt itself with the last.
func (g *Gates) drop(key string, gt *gate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gt.refs--; gt.refs == 0 {
		delete(g.gates, key)
	}
}
