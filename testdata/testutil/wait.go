package testutil

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/rpc"
)

// Context returns a context that ends with the test or after 30 seconds,
// whichever is first: long enough for a slow shared machine, short enough
// that a hung call fails the test instead of the whole run.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond every 10ms until it holds, and fails the test, saying
// what it waited for, if that takes over 20 seconds.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Calls is a server interceptor that counts the calls that have reached it,
// by procedure, so a test can wait for a call to be in flight instead of
// sleeping and hoping. The zero value is ready to use; give it with
// server.WithInterceptors.
type Calls struct {
	mu      sync.Mutex
	started map[string]int
	changed chan struct{} // closed and replaced on every call
}

var _ rpc.Interceptor = (*Calls)(nil)

// WaitStarted waits until n calls of procedure have reached the interceptor
// in all, and fails the test after 20 seconds.
func (c *Calls) WaitStarted(t testing.TB, procedure string, n int) {
	t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		got, changed := c.started[procedure], c.wait()
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %d calls of %s to start; %d did", n, procedure, got)
		}
	}
}

// wait returns the channel closed on the next call; c.mu is held.
func (c *Calls) wait() chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

func (c *Calls) start(procedure string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		c.started = make(map[string]int)
	}
	c.started[procedure]++
	close(c.wait())
	c.changed = nil
}

// WrapUnary counts a unary call, then runs it.
func (c *Calls) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		c.start(req.Spec().Procedure)
		return next(ctx, req)
	}
}

// WrapStreamingClient returns next: Calls counts on servers.
func (c *Calls) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

// WrapStreamingHandler counts a streaming call, then runs it.
func (c *Calls) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return func(ctx context.Context, conn rpc.HandlerConn) error {
		c.start(conn.Spec().Procedure)
		return next(ctx, conn)
	}
}
