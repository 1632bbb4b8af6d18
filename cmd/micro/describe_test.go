package main

import (
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// TestDescribeAccessAndDoc checks how micro describe shows what micro's
// proto options and comments declare about an endpoint, and the service's
// event subscriptions.
func TestDescribeAccessAndDoc(t *testing.T) {
	t.Parallel()
	d := &describeJSON{Name: "orders", Endpoints: []endpointJSON{
		{Procedure: "/o.v1.Orders/Create", Doc: "Create places an order.\n\nIt needs both scopes.", Access: &rpc.Access{Scopes: []string{"orders:read", "orders:write"}}},
		{Procedure: "/o.v1.Orders/Status", Access: &rpc.Access{Public: true}},
		{Procedure: "/o.v1.Orders/Forward", Access: &rpc.Access{Delegate: true}},
		{Procedure: "/o.v1.Orders/Ping"},
	}, Subscriptions: []registry.Subscription{
		{Topic: "payments.settled", Group: "orders", Type: "payments.v1.Settled"},
		{Topic: "audit.all"},
	}}
	var b strings.Builder
	if err := writeDescription(&b, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rpc /o.v1.Orders/Create (unary)\n  // Create places an order.\n  //\n  // It needs both scopes.\n",
		"  access    scopes orders:read, orders:write\n",
		"  access    public\n",
		"  access    authenticated, delegates\n",
		"\nsubscribes payments.settled (group orders, payments.v1.Settled)\nsubscribes audit.all (broadcast)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("description has no %q:\n%s", want, b.String())
		}
	}
	if strings.Count(b.String(), "access") != 3 {
		t.Errorf("an endpoint without access shows one:\n%s", b.String())
	}
}
