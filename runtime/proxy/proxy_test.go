package proxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

func TestNewTable(t *testing.T) {
	t.Parallel()
	node := []*registry.Node{{ID: "n", Address: "127.0.0.1:1"}}
	services := map[string][]*registry.Service{
		"b-users": {{Name: "b-users", Nodes: node, Endpoints: []*registry.Endpoint{
			{Procedure: "/users.v1.Users/Get", Idempotency: rpc.NoSideEffects},
			{Procedure: "/users.v1.Users/Watch", StreamType: rpc.ServerStream},
		}}},
		"a-users": {{Name: "a-users", Nodes: node, Endpoints: []*registry.Endpoint{
			{Procedure: "/users.v1.Users/Get", Idempotency: rpc.Idempotent},
		}}},
	}
	tbl := newTable(services)
	want := map[string]route{
		// a-users sorts first, and wins the procedure both list; the spec,
		// which decides retries, is the winner's.
		"/users.v1.Users/Get":   {service: "a-users", spec: rpc.Spec{Procedure: "/users.v1.Users/Get", Idempotency: rpc.Idempotent}},
		"/users.v1.Users/Watch": {service: "b-users", spec: rpc.Spec{Procedure: "/users.v1.Users/Watch", StreamType: rpc.ServerStream}},
	}
	if diff := cmp.Diff(want, tbl.procedures, cmp.AllowUnexported(route{})); diff != "" {
		t.Errorf("newTable(...).procedures (-want +got):\n%s", diff)
	}
	wantConflicts := []conflict{{procedure: "/users.v1.Users/Get", service: "a-users", other: "b-users"}}
	if diff := cmp.Diff(wantConflicts, tbl.conflicts, cmp.AllowUnexported(conflict{})); diff != "" {
		t.Errorf("newTable(...).conflicts (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"a-users", true}, {"b-users", true}, {"users.v1.Users", true}, {"users", false}, {"", false}} {
		if got := tbl.serves(tt.name); got != tt.want {
			t.Errorf("serves(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
