package proxy_test

import (
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/proxy"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
)

// TestProxyAuth calls each case of the access table through a proxy with
// proxy.WithAuth in front of a service without auth: every refusal is the
// proxy's, with the code the service itself would answer, and the calls it
// lets through reach the service.
func TestProxyAuth(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := memory.New()
	authtest.StartOrders(t, reg)
	_, address := startProxyB(t, reg, proxy.WithAuth(keys.Verifier(t)))
	c := client.New(client.WithAddress(address))
	defer func() { _ = c.Close() }()
	for _, tt := range keys.Cases(t) {
		var opts []client.CallOption
		if tt.Token != "" {
			opts = append(opts, client.WithHeaders("authorization", "Bearer "+tt.Token))
		}
		var req any = &access.GetRequest{}
		if tt.Procedure == access.OrdersCreateProcedure {
			req = &access.CreateRequest{}
		}
		var res access.Order
		err := c.Invoke(t.Context(), "orders", rpc.Spec{Procedure: tt.Procedure}, req, &res, opts...)
		if got := errors.CodeOf(err); got != tt.Code || (err != nil && !strings.Contains(err.Error(), tt.Message)) {
			t.Errorf("%s: %s through the proxy = %v (%v), want %v saying %q", tt.Name, tt.Procedure, got, err, tt.Code, tt.Message)
		}
	}
	// Health, which the proxy answers itself, needs no token.
	if err := c.Invoke(t.Context(), "", rpc.Spec{Procedure: "/grpc.health.v1.Health/Check"}, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}); err != nil {
		t.Errorf("health check through the proxy without a token = %v, want it answered", err)
	}
}
