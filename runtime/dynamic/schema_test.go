package dynamic

import (
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protomicro/micro/testdata/golden/pkgsuffix"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// testSchema is the schema of grpc.health.v1.Health, streaming.v1.Echo and
// pkgsuffix.v1.Echo, built from their descriptors as reflection sends them.
func testSchema(t testing.TB) *Schema {
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
