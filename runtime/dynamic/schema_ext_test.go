package dynamic_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serveGRPC serves health checking on a loopback port with grpc-go, and
// whatever register adds; it returns the address.
func serveGRPC(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestResolve(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		register func(*grpc.Server)
		want     string // a service the schema has, or "" for an error
	}{
		{name: "v1 and v1alpha", register: func(s *grpc.Server) { reflection.Register(s) }, want: "grpc.health.v1.Health"},
		{name: "v1alpha only", register: func(s *grpc.Server) {
			rpbalpha.RegisterServerReflectionServer(s, reflection.NewServer(reflection.ServerOptions{Services: s}))
		}, want: "grpc.health.v1.Health"},
		{name: "none", register: func(*grpc.Server) {}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			address := serveGRPC(t, tt.register)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			c := client.New()
			defer func() { _ = c.Close() }()
			s, err := dynamic.Resolve(ctx, c, "svc", address)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "serves no gRPC server reflection") {
					t.Errorf("Resolve() = %v, want an error saying there is no reflection", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if _, err := s.Files().FindDescriptorByName(protoreflect.FullName(tt.want)); err != nil {
				t.Errorf("Resolve().Files() lacks %s: %v", tt.want, err)
			}
		})
	}
}

// TestResolveByName checks that without addresses Resolve asks a node that
// the client finds in its registry.
func TestResolveByName(t *testing.T) {
	t.Parallel()
	address := serveGRPC(t, func(s *grpc.Server) { reflection.Register(s) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	reg := memory.New()
	if err := reg.Register(ctx, &registry.Service{Name: "svc", Version: "v1", Nodes: []*registry.Node{{ID: "svc-1", Address: address}}}); err != nil {
		t.Fatal(err)
	}
	c := client.New(client.WithRegistry(reg))
	defer func() { _ = c.Close() }()
	s, err := dynamic.Resolve(ctx, c, "svc")
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if _, err := s.Files().FindDescriptorByName("grpc.health.v1.Health"); err != nil {
		t.Errorf("Resolve().Files() lacks grpc.health.v1.Health: %v", err)
	}
}
