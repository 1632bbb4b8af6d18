package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// safetyNet enforces a client's default timeout on unary calls whose context
// has no deadline, without sending one: a deadline on the wire would cost a
// timer and a header at both ends of every call.
//
// A timer and a cancelable context of its own for every call would cost a
// small call about six allocations. Instead, the calls that start within the
// same window (a thirty-second of the timeout) share one cancelable context,
// an epoch, which is canceled when the last of them has had the whole
// timeout: each call is bounded by at least the timeout and at most a
// window more. A call whose context can be canceled (by its caller) needs a
// context of its own that listens to both, and a timer: invoke makes them.
type safetyNet struct {
	timeout time.Duration
	window  time.Duration
	current atomic.Pointer[epoch]
	mu      sync.Mutex // held to start an epoch
}

// epoch is the cancelable context shared by the calls that started in one
// window of a [safetyNet].
type epoch struct {
	ctx   context.Context // canceled with a defaultTimeout cause; no deadline, no values
	start time.Time
}

func newSafetyNet(timeout time.Duration) *safetyNet {
	return &safetyNet{timeout: timeout, window: max(timeout/32, time.Millisecond)}
}

// bound returns ctx, which has no deadline and cannot be canceled, canceled
// once the timeout has passed, in into (a call's request holds one, so that
// the bound costs no allocation). A context that can be canceled needs one
// of its own, and a timer.
func (n *safetyNet) bound(ctx context.Context, into *netContext) context.Context {
	*into = netContext{Context: ctx, epoch: n.epoch()}
	return into
}

// epoch returns the context of the current window, starting one when the
// last has closed.
func (n *safetyNet) epoch() context.Context {
	now := time.Now()
	if e := n.current.Load(); e != nil && now.Sub(e.start) < n.window {
		return e.ctx
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.current.Load(); e != nil && now.Sub(e.start) < n.window {
		return e.ctx
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	timeout := n.timeout
	// The last call of the window, started just before it closes, has had
	// the timeout when this fires.
	time.AfterFunc(timeout+n.window, func() { cancel(defaultTimeout(timeout)) })
	n.current.Store(&epoch{ctx: ctx, start: now})
	return ctx
}

// netContext is a call's context under a shared epoch: the values of the
// caller's context, which cannot be canceled, and the epoch's cancellation.
// Its Value falls back to the epoch's, so that the context package finds the
// epoch as the parent of the contexts derived from this one (grpc-go derives
// one for every call), and [context.Cause] finds why it was canceled:
// deriving from it costs no goroutine and no allocation beyond the child.
type netContext struct {
	context.Context // the caller's; its Done is nil
	epoch           context.Context
}

func (c *netContext) Done() <-chan struct{} { return c.epoch.Done() }
func (c *netContext) Err() error            { return c.epoch.Err() }

func (c *netContext) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.epoch.Value(key)
}

// defaultTimeout is why a call that outlived the client's default timeout was
// canceled.
type defaultTimeout time.Duration

func (d defaultTimeout) Error() string {
	return fmt.Sprintf("no answer within the client's default timeout of %v", time.Duration(d))
}

func (d defaultTimeout) Unwrap() error { return context.DeadlineExceeded }
