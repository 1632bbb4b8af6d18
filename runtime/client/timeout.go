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
// A cancelable context and a timer of its own for every call would cost a
// small call six allocations, and a timer's start and stop. Instead, the
// calls that start within the same window (a thirty-second of the timeout)
// share one epoch and its timer, which fires when the last of them has had
// the whole timeout: each call is bounded by at least the timeout and at
// most a window more. Within an epoch, the calls whose contexts are canceled
// by the same channel (context.Background and values on it: none; a
// process's signal.NotifyContext, a handler's context) share one cancelable
// context, derived from the first of them, which the epoch cancels when it
// fires; the last call out releases it. A call sees its own context's values,
// and the shared context's cancellation: a [netContext].
type safetyNet struct {
	timeout time.Duration
	window  time.Duration
	current atomic.Pointer[epoch]
	mu      sync.Mutex // held to start an epoch
}

// epoch is what the calls that started in one window of a [safetyNet]
// share.
type epoch struct {
	start time.Time
	cause error // defaultTimeout

	mu     sync.Mutex
	fired  bool
	shared map[<-chan struct{}]*sharedCancel // by the Done channel of the callers' contexts
}

// sharedCancel is the cancelable context shared by the calls of an epoch
// whose contexts are canceled by the same channel.
type sharedCancel struct {
	key    <-chan struct{} // its key in epoch.shared
	ctx    context.Context
	cancel context.CancelCauseFunc
	calls  int // in flight
}

func newSafetyNet(timeout time.Duration) *safetyNet {
	return &safetyNet{timeout: timeout, window: max(timeout/32, time.Millisecond)}
}

// netCall is a call's place under the safety net. A call's request holds
// it, so that the net costs a call no allocation of its own.
type netCall struct {
	ctx    netContext
	epoch  *epoch
	shared *sharedCancel // the context ctx is canceled by
	own    sharedCancel  // backs shared when this call was the first
	// Without cancelCtxKey, a call times itself.
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// bound returns ctx, which has no deadline, canceled once the timeout has
// passed, until n.release(call).
func (n *safetyNet) bound(ctx context.Context, call *netCall) context.Context {
	if cancelCtxKey == nil { // not found: see findCancelCtxKey
		timeout := n.timeout
		var cctx context.Context
		cctx, call.cancel = context.WithCancelCause(ctx)
		cancel := call.cancel
		call.timer = time.AfterFunc(timeout, func() { cancel(defaultTimeout(timeout)) })
		return cctx
	}
	e := n.epoch()
	done := ctx.Done()
	e.mu.Lock()
	sc := e.shared[done]
	if sc == nil {
		sc = &call.own
		sc.key = done
		if done == nil { // values are the call's own: derive from none
			sc.ctx, sc.cancel = context.WithCancelCause(context.Background())
		} else {
			sc.ctx, sc.cancel = context.WithCancelCause(ctx)
		}
		if e.fired { // only when the call waited longer than the timeout to get here
			sc.cancel(e.cause)
		}
		e.shared[done] = sc
	}
	sc.calls++
	e.mu.Unlock()
	call.epoch, call.shared = e, sc
	call.ctx = netContext{Context: ctx, cancel: sc.ctx}
	return &call.ctx
}

// release ends call's place under the net.
func (n *safetyNet) release(call *netCall) {
	if call.timer != nil {
		call.timer.Stop()
		call.cancel(nil)
		return
	}
	e, sc := call.epoch, call.shared
	e.mu.Lock()
	defer e.mu.Unlock()
	if sc.calls--; sc.calls == 0 {
		delete(e.shared, sc.key)
		sc.cancel(nil)
	}
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
	e := &epoch{start: now, cause: defaultTimeout(n.timeout), shared: make(map[<-chan struct{}]*sharedCancel)}
	// The last call of the window, started just before it closes, has had
	// the timeout when this fires.
	time.AfterFunc(n.timeout+n.window, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.fired = true
		for _, sc := range e.shared {
			sc.cancel(e.cause)
		}
	})
	n.current.Store(e)
	return e
}

// netContext is a call's context under the safety net: the values (and
// deadline: none) of the caller's context, and the cancellation of a shared
// context. Asked for the context package's own key, it answers with the
// shared context, so that the context package finds it as the parent of the
// contexts derived from this one (grpc-go derives one for every call) and
// [context.Cause] finds why it was canceled: deriving from it costs no
// goroutine, and no allocation beyond the child.
type netContext struct {
	context.Context                 // the caller's
	cancel          context.Context // shared; canceled by the caller's and by the net
}

func (c *netContext) Done() <-chan struct{} { return c.cancel.Done() }
func (c *netContext) Err() error            { return c.cancel.Err() }

func (c *netContext) Value(key any) any {
	if key == cancelCtxKey {
		return c.cancel.Value(key)
	}
	return c.Context.Value(key)
}

// cancelCtxKey is the key under which a cancelable context of the context
// package returns itself from Value, which is how the package finds the
// cancelable parent of a context it derives, and the cause of its
// cancellation (context.Cause asks for it). It is unexported, so it is
// found by asking context.Cause about a context that records what it is
// asked, and checked; nil if not found, and calls then time themselves.
var cancelCtxKey = findCancelCtxKey()

func findCancelCtxKey() any {
	var asked []any
	_ = context.Cause(recorder{Context: context.Background(), asked: &asked})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, key := range asked {
		if v, ok := ctx.Value(key).(context.Context); ok && v == ctx {
			return key
		}
	}
	return nil
}

// recorder is a canceled context that records the keys it is asked for.
type recorder struct {
	context.Context
	asked *[]any
}

func (r recorder) Err() error { return context.Canceled } // else Cause asks nothing

func (r recorder) Value(key any) any {
	*r.asked = append(*r.asked, key)
	return r.Context.Value(key)
}

// defaultTimeout is why a call that outlived the client's default timeout was
// canceled.
type defaultTimeout time.Duration

func (d defaultTimeout) Error() string {
	return fmt.Sprintf("no answer within the client's default timeout of %v", time.Duration(d))
}

func (d defaultTimeout) Unwrap() error { return context.DeadlineExceeded }
