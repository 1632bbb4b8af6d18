package testutil

import (
	"context"
	"testing"

	"github.com/protomicro/micro/runtime/registry"
)

// RunService runs a service, run being its Run method (micro.Service.Run),
// until the test ends or stop is called, and waits until it is registered
// as name in reg. stop waits for run to return and fails the test if it
// returned an error; it is safe to call more than once.
func RunService(t testing.TB, reg registry.Registry, name string, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	WaitFor(t, "registration of "+name, func() bool {
		_, err := reg.GetService(t.Context(), name)
		return err == nil
	})
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(%s) = %v", name, err)
		}
	}
	t.Cleanup(stop)
	return stop
}
