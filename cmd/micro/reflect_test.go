package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// testSchema is the schema of grpc.health.v1.Health, streaming.v1.Echo and
// pkgsuffix.v1.Echo, built
// from their descriptors as reflection sends them.
func testSchema(t testing.TB) *schema {
	t.Helper()
	var files []*descriptorpb.FileDescriptorProto
	for _, fd := range []protoreflect.FileDescriptor{
		healthpb.File_grpc_health_v1_health_proto, streaming.File_streaming_streaming_proto, pkgsuffix.File_pkgsuffix_pkgsuffix_proto,
	} {
		files = append(files, protodesc.ToFileDescriptorProto(fd))
	}
	s, err := newSchema(files, []string{"grpc.health.v1.Health", "pkgsuffix.v1.Echo", "streaming.v1.Echo"})
	if err != nil {
		t.Fatal(err)
	}
	return s
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

func TestReflectNode(t *testing.T) {
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
			s, err := reflectNode(ctx, c, address)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "serves no gRPC server reflection") {
					t.Errorf("reflectNode() = %v, want an error saying there is no reflection", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("reflectNode() = %v", err)
			}
			var names []string
			for _, sd := range s.services {
				names = append(names, string(sd.FullName()))
			}
			if !strings.Contains(strings.Join(names, " "), tt.want) {
				t.Errorf("reflectNode() services = %q, want %s among them", names, tt.want)
			}
		})
	}
}

func TestFindMethod(t *testing.T) {
	t.Parallel()
	s := testSchema(t)
	for _, tt := range []struct {
		arg, want, wantErr string
	}{
		{arg: "/streaming.v1.Echo/Count", want: "/streaming.v1.Echo/Count"},
		{arg: "streaming.v1.Echo/Count", want: "/streaming.v1.Echo/Count"},
		{arg: "streaming.v1.Echo.Count", want: "/streaming.v1.Echo/Count"},
		{arg: "/grpc.health.v1.Health/Check", want: "/grpc.health.v1.Health/Check"},
		{arg: "Echo", wantErr: "ambiguous"},
		{arg: "Echo.Echo", wantErr: "ambiguous"},
		{arg: "Health.Check", wantErr: "has no method"}, // short names skip infrastructure
		{arg: "Check", wantErr: "has no method"},
		{arg: "", wantErr: "has no method"},
		{arg: "/", wantErr: "has no method"},
		{arg: "//", wantErr: "has no method"},
		{arg: "streaming.v1.Echo/", wantErr: "has no method"},
	} {
		m, err := s.findMethod("svc", tt.arg)
		got := ""
		if m != nil {
			got = procedure(m)
		}
		if got != tt.want || (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("findMethod(%q) = %q, %v, want %q, error containing %q", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
}
