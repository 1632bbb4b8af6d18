package micro_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/testdata/golden/access"
	"github.com/protomicro/micro/testdata/testutil"
)

type orders struct {
	access.UnimplementedOrdersHandler
}

// TestRegistrationCarriesAccessAndDocs checks that what the proto declares
// about a method beyond its types, micro's access options and the comments,
// reaches a reader of the registry: through the local registry's files, as a
// gateway or micro mcp in another process reads them.
func TestRegistrationCarriesAccessAndDocs(t *testing.T) {
	t.Parallel()
	reg, err := local.New(local.WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := micro.NewService("orders", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := access.RegisterOrdersHandler(svc.Server(), orders{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	}()

	var got []*registry.Service
	testutil.WaitFor(t, "registration", func() bool {
		got, err = reg.GetService(t.Context(), "orders")
		return err == nil
	})
	endpoints := make(map[string]*registry.Endpoint)
	for _, e := range got[0].Endpoints {
		endpoints[e.Procedure] = e
	}
	wantAccess := map[string]*rpc.Access{
		access.OrdersGetProcedure:     {Scopes: []string{"orders:read"}},
		access.OrdersCreateProcedure:  {Scopes: []string{"orders:read", "orders:write"}},
		access.OrdersStatusProcedure:  {Public: true},
		access.OrdersForwardProcedure: {Delegate: true},
	}
	for procedure, want := range wantAccess {
		e := endpoints[procedure]
		if e == nil {
			t.Fatalf("no endpoint %s in %+v", procedure, got[0].Endpoints)
		}
		if diff := cmp.Diff(want, e.Access); diff != "" {
			t.Errorf("%s access (-want +got):\n%s", procedure, diff)
		}
	}
	create := endpoints[access.OrdersCreateProcedure]
	if create.Doc != "Create places an order; it needs both scopes." {
		t.Errorf("Create doc = %q, want its proto comment", create.Doc)
	}
	if create.FieldDocs["replaces.items"] != "Items by SKU." || len(create.FieldDocs["order"]) > 256 {
		t.Errorf("Create field docs = %q, want nested fields' comments, each at most 256 bytes", create.FieldDocs)
	}
}
