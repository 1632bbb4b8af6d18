// Package e2e runs the generated code in testdata/golden against the runtime:
// each generated client against its generated handler in memory, both sides
// across two processes, and micro services against gRPC tools and clients
// that micro did not write (grpc-go's generated code, grpcurl,
// grpc_health_probe).
package e2e

import (
	"context"
	stderrors "errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/server"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// inMemory serves what register adds on an in-memory listener and returns a
// client connected to it.
func inMemory(t *testing.T, register func(server.Server) error) client.Client {
	t.Helper()
	srv := server.New()
	if err := register(srv); err != nil {
		t.Fatalf("register: %v", err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	c := client.New(
		client.WithAddress("bufconn"),
		client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	)
	t.Cleanup(func() {
		_ = c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return c
}

// wantUnimplemented checks that err is the Unimplemented answer of procedure.
func wantUnimplemented(t *testing.T, err error, procedure string) {
	t.Helper()
	e, ok := stderrors.AsType[*errors.Error](err)
	if !ok || e.Code() != errors.CodeUnimplemented || !strings.Contains(e.Message(), procedure) {
		t.Errorf("call to %s = %v, want unimplemented naming it", procedure, err)
	}
}
