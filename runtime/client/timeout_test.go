package client

import (
	"context"
	stderrors "errors"
	"sync"
	"testing"
	"time"
)

// TestSafetyNetContexts checks what the calls under a safety net see: their
// own values, their caller's cancellation, the net's cause once it fires, and
// contexts derived from theirs (as grpc-go derives one per call) that the
// context package links to the shared context without a goroutine.
func TestSafetyNetContexts(t *testing.T) {
	if cancelCtxKey == nil {
		t.Fatal("the context package's key for cancelable contexts was not found: every call under the safety net would start a timer")
	}
	type key struct{}
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	n := newSafetyNet(time.Hour)
	var calls [3]netCall
	ctxs := [3]context.Context{
		n.bound(context.WithValue(parent, key{}, "a"), &calls[0]),
		n.bound(context.WithValue(parent, key{}, "b"), &calls[1]),
		n.bound(context.WithValue(context.Background(), key{}, "c"), &calls[2]),
	}
	for i, want := range []string{"a", "b", "c"} {
		if got := ctxs[i].Value(key{}); got != want {
			t.Errorf("call %d sees value %v, want %s", i, got, want)
		}
		if _, ok := ctxs[i].Deadline(); ok {
			t.Errorf("call %d has a deadline", i)
		}
	}
	if calls[0].shared != calls[1].shared || calls[0].shared == calls[2].shared {
		t.Error("calls canceled by the same channel do not share one context, or calls canceled by different ones do")
	}
	// A context derived from a call's costs what one derived from a
	// cancelable context of the context package does: no goroutine.
	if allocs := testing.AllocsPerRun(100, func() {
		_, cancel := context.WithCancel(ctxs[0])
		cancel()
	}); allocs > 2 {
		t.Errorf("deriving a cancelable context from a call's costs %v allocations, want at most 2", allocs)
	}
	derived, cancelDerived := context.WithCancel(ctxs[2])
	defer cancelDerived()

	cancelParent()
	for i, want := range []error{context.Canceled, context.Canceled, nil} {
		if err := ctxs[i].Err(); !stderrors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("after the caller's context was canceled, call %d: %v, want %v", i, err, want)
		}
	}

	// The net fires: what is still in flight is canceled with its cause.
	e := calls[2].epoch
	e.mu.Lock()
	e.fired = true
	for _, sc := range e.shared {
		sc.cancel(e.cause)
	}
	e.mu.Unlock()
	<-derived.Done()
	var timeout defaultTimeout
	if !stderrors.As(context.Cause(derived), &timeout) || !stderrors.As(context.Cause(ctxs[2]), &timeout) {
		t.Errorf("cause after the net fired = %v, %v; want the default timeout", context.Cause(derived), context.Cause(ctxs[2]))
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() { n.release(&calls[i]) })
	}
	wg.Wait()
	if len(e.shared) != 0 {
		t.Errorf("%d shared contexts left after every call was released", len(e.shared))
	}
}
