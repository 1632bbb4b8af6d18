package e2e

import (
	"strings"
	"testing"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestClientOnlyDependencies checks that a program that only calls services
// through generated code links none of the backends a service brings in:
// generated code refers to the runtime's version marker in runtime/rpc, not
// in runtime/micro, for this.
func TestClientOnlyDependencies(t *testing.T) {
	t.Parallel()
	deps := testutil.Go(t, "", nil, "list", "-deps", "github.com/protomicro/micro/testdata/clientonly")
	for _, pkg := range strings.Fields(deps) {
		for _, backend := range []string{"go.etcd.io/", "github.com/hashicorp/mdns", "go.uber.org/zap", "github.com/prometheus/", "go.opentelemetry.io/"} {
			if strings.HasPrefix(pkg, backend) {
				t.Errorf("testdata/clientonly depends on %s; a client-only program must not link %s", pkg, backend)
			}
		}
	}
	if !strings.Contains(deps, "github.com/protomicro/micro/runtime/rpc\n") {
		t.Errorf("go list -deps printed no runtime/rpc; is the program still a client of generated code?\n%s", deps)
	}
}

// TestServiceWithoutProtovalidate checks that a service, which loads its
// configuration through runtime/config, links neither protovalidate nor its
// CEL interpreter unless it imports runtime/config/protovalidate.
func TestServiceWithoutProtovalidate(t *testing.T) {
	t.Parallel()
	deps := testutil.Go(t, "", nil, "list", "-deps", "github.com/protomicro/micro/runtime/micro")
	if !strings.Contains(deps, "github.com/protomicro/micro/runtime/config\n") {
		t.Errorf("go list -deps printed no runtime/config; does a service still load its configuration?\n%s", deps)
	}
	for _, pkg := range strings.Fields(deps) {
		for _, heavy := range []string{"buf.build/", "github.com/google/cel-go/", "github.com/protomicro/micro/runtime/config/protovalidate"} {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("runtime/micro depends on %s; only programs that import runtime/config/protovalidate may link it", pkg)
			}
		}
	}
}
