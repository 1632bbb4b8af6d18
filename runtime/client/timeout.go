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
// A timer of its own for every call would cost a small call two
// allocations and a timer's start and stop. Instead, the calls that start
// within the same window (a thirty-second of the timeout) share one epoch
// and its timer, which fires when the last of them has had the whole
// timeout: each call is bounded by at least the timeout and at most a window
// more.
//
// A call whose context cannot be canceled (context.Background and values on
// it) uses the epoch's cancelable context through a [netContext]: no
// allocation at all. A call whose context can be canceled needs a cancelable
// context of its own, which listens to its caller's, and is listed in its
// epoch until it ends, to be canceled if the epoch fires first.
type safetyNet struct {
	timeout time.Duration
	window  time.Duration
	current atomic.Pointer[epoch]
	mu      sync.Mutex // held to start an epoch
}

// epoch is what the calls that started in one window of a [safetyNet]
// share.
type epoch struct {
	ctx   context.Context // canceled when the epoch fires; no deadline, no values
	start time.Time

	mu    sync.Mutex
	fired bool
	calls *netCall // the calls with contexts of their own, in flight
	cause error    // defaultTimeout
}

func newSafetyNet(timeout time.Duration) *safetyNet {
	return &safetyNet{timeout: timeout, window: max(timeout/32, time.Millisecond)}
}

// bound returns ctx, which has no deadline and cannot be canceled, canceled
// once the timeout has passed. into backs it (a call's request holds one, so
// that the bound costs no allocation).
func (n *safetyNet) bound(ctx context.Context, into *netContext) context.Context {
	*into = netContext{Context: ctx, epoch: n.epoch().ctx}
	return into
}

// watch lists call, whose context cancel cancels, in the current epoch, until
// call.release.
func (n *safetyNet) watch(call *netCall, cancel context.CancelCauseFunc) {
	e := n.epoch()
	*call = netCall{epoch: e, cancel: cancel}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fired { // only when the call waited longer than the timeout to get here
		cancel(e.cause)
		return
	}
	call.next = e.calls
	if e.calls != nil {
		e.calls.prev = call
	}
	e.calls = call
}

// epoch returns the current window's epoch, starting one when the last has
// closed.
func (n *safetyNet) epoch() *epoch {
	now := time.Now()
	if e := n.current.Load(); e != nil && now.Sub(e.start) < n.window {
		return e
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.current.Load(); e != nil && now.Sub(e.start) < n.window {
		return e
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	e := &epoch{ctx: ctx, start: now, cause: defaultTimeout(n.timeout)}
	// The last call of the window, started just before it closes, has had
	// the timeout when this fires.
	time.AfterFunc(n.timeout+n.window, func() {
		cancel(e.cause)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.fired = true
		for call := e.calls; call != nil; call = call.next {
			call.cancel(e.cause)
		}
		e.calls = nil
	})
	n.current.Store(e)
	return e
}

// netCall is a call with a cancelable context of its own, listed in its
// epoch while it runs. A call's request holds it.
type netCall struct {
	epoch      *epoch
	cancel     context.CancelCauseFunc
	prev, next *netCall
}

// release takes the call off its epoch's list.
func (c *netCall) release() {
	e := c.epoch
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fired {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		e.calls = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
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
