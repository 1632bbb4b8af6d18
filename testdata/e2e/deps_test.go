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

// TestServiceDependencies checks that a service links no NATS client unless
// it names it: runtime/micro builds in only the local and memory brokers, and
// a program adds nats with micro.WithBrokers. The micro command does, so that
// micro publish and micro subscribe reach services on NATS.
func TestServiceDependencies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pkg  string
		nats bool
	}{
		{"github.com/protomicro/micro/runtime/micro", false},
		{"github.com/protomicro/micro/cmd/micro", true},
	} {
		deps := testutil.Go(t, "", nil, "list", "-deps", c.pkg)
		if !c.nats {
			for _, dep := range strings.Fields(deps) {
				if strings.HasPrefix(dep, "github.com/nats-io/") {
					t.Errorf("%s depends on %s; only a program that adds the nats broker may link it", c.pkg, dep)
				}
			}
		} else if !strings.Contains(deps, "github.com/protomicro/micro/runtime/broker/nats\n") {
			t.Errorf("go list -deps %s printed no runtime/broker/nats; does micro publish --broker nats still work?", c.pkg)
		}
		if !strings.Contains(deps, "github.com/protomicro/micro/runtime/broker/local\n") {
			t.Errorf("go list -deps %s printed no runtime/broker/local; is the local broker still the default?", c.pkg)
		}
	}
}

// TestServiceWithoutMCP checks that a service, and the HTTP gateway, link
// neither the MCP SDK nor its JSON Schema library: only the micro command
// and programs that import runtime/mcp do.
func TestServiceWithoutMCP(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"github.com/protomicro/micro/runtime/micro", "github.com/protomicro/micro/runtime/gateway"} {
		deps := testutil.Go(t, "", nil, "list", "-deps", pkg)
		for _, dep := range strings.Fields(deps) {
			for _, heavy := range []string{"github.com/modelcontextprotocol/", "github.com/google/jsonschema-go/", "github.com/protomicro/micro/runtime/mcp"} {
				if strings.HasPrefix(dep, heavy) {
					t.Errorf("%s depends on %s; only programs that import runtime/mcp may link it", pkg, dep)
				}
			}
		}
	}
}
