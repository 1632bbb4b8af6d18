// Package testserver runs micro servers on loopback ports for the runtime's
// own tests.
package testserver

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/server"
)

// Start returns a server with opts, lets register add services to it, serves
// it on a free loopback port and returns it with its address. The server is
// shut down when the test ends.
func Start(t testing.TB, register func(server.Server) error, opts ...server.Option) (server.Server, string) {
	t.Helper()
	srv := server.New(opts...)
	if register != nil {
		if err := register(srv); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, lis.Addr().String()
}
