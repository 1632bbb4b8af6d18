package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
)

// TestAuth calls each case of the access table through the gateway, in
// the Connect protocol, and checks the HTTP status: 401 with
// WWW-Authenticate for Unauthenticated, 403 for PermissionDenied, the
// service's error message in the body; and that the caller's
// Authorization reaches the service, and beyond only when delegated.
func TestAuth(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := memory.New()
	authtest.StartOrders(t, reg, micro.WithAuth(keys.Verifier(t)))
	_, url := startGateway(t, reg)
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
		body := `{}`
		r := do(t, "POST", url+tt.Procedure, body, header...)
		if r.status != status[tt.Code] || !strings.Contains(strings.ReplaceAll(r.body, `\"`, `"`), tt.Message) {
			t.Errorf("%s: POST %s = %d %s, want %d saying %q", tt.Name, tt.Procedure, r.status, r.body, status[tt.Code], tt.Message)
			continue
		}
		challenge := r.header.Get("WWW-Authenticate")
		if (r.status == http.StatusUnauthorized) != strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q with status %d, want Bearer exactly on 401", tt.Name, challenge, r.status)
		}
		if r.status != http.StatusOK || tt.Procedure == access.OrdersStatusProcedure {
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
