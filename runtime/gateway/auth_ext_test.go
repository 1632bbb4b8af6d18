package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
)

// TestAuth calls each case of the access table through the gateway, in
// the Connect protocol, and checks the HTTP status: 401 with
// WWW-Authenticate for Unauthenticated, 403 for PermissionDenied, the
// error message in the body. It does so with the service enforcing alone,
// with the gateway enforcing alone at the edge (gateway.WithAuth, the
// service open: a refusal there proves the gateway refused before the
// service), and with both. Where the service enforces, it also checks that
// the caller's Authorization reaches the service, and beyond only when
// delegated.
func TestAuth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		service, edge bool
	}{
		{"service", true, false},
		{"edge", false, true},
		{"both", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := authtest.NewAuth(t)
			reg := memory.New()
			var serviceOpts []micro.Option
			if tt.service {
				serviceOpts = append(serviceOpts, micro.WithAuth(keys.Verifier(t)))
			}
			authtest.StartOrders(t, reg, serviceOpts...)
			var gatewayOpts []gateway.Option
			if tt.edge {
				gatewayOpts = append(gatewayOpts, gateway.WithAuth(keys.Verifier(t)))
			}
			_, url := startGateway(t, reg, gatewayOpts...)
			checkAuthTable(t, url, keys, tt.service)
		})
	}
}

func checkAuthTable(t *testing.T, url string, keys *authtest.Auth, delegation bool) {
	t.Helper()
	status := map[errors.Code]int{
		errors.CodeOK:               http.StatusOK,
		errors.CodeUnauthenticated:  http.StatusUnauthorized,
		errors.CodePermissionDenied: http.StatusForbidden,
	}
	for _, tt := range keys.Cases(t) {
		header := []string{"Connect-Protocol-Version", "1"}
		if tt.Token != "" {
			header = append(header, "Authorization", "Bearer "+tt.Token)
		}
		r := do(t, "POST", url+tt.Procedure, `{}`, header...)
		if r.status != status[tt.Code] || !strings.Contains(strings.ReplaceAll(r.body, `\"`, `"`), tt.Message) {
			t.Errorf("%s: POST %s = %d %s, want %d saying %q", tt.Name, tt.Procedure, r.status, r.body, status[tt.Code], tt.Message)
			continue
		}
		challenge := r.header.Get("WWW-Authenticate")
		if (r.status == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q with status %d, want Bearer exactly on 401", tt.Name, challenge, r.status)
		}
		if !delegation || r.status != http.StatusOK || tt.Procedure == access.OrdersStatusProcedure {
			continue
		}
		var order struct{ ID string }
		if err := json.Unmarshal([]byte(r.body), &order); err != nil {
			t.Fatalf("%s: answer %s: %v", tt.Name, r.body, err)
		}
		want := ""
		if tt.Procedure == access.OrdersForwardProcedure {
			want = "Bearer " + tt.Token
		}
		if order.ID != want {
			t.Errorf("%s: downstream saw authorization %q, want %q: the caller's token goes on only when delegated", tt.Name, order.ID, want)
		}
	}
}
