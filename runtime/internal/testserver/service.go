package testserver

import (
	"log/slog"
	"testing"

	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/testutil"
)

// Service runs a micro service called name on a loopback port, registered
// in reg, with register adding its handlers, and waits until reg lists it.
// It runs until the test ends or stop is called, which waits for it to
// deregister and stop (see [testutil.RunService], which runs it).
func Service(t testing.TB, reg registry.Registry, name string, register func(server.Server) error) (stop func()) {
	t.Helper()
	svc, err := micro.NewService(name, micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := register(svc.Server()); err != nil {
		t.Fatal(err)
	}
	return testutil.RunService(t, reg, name, svc.Run)
}
