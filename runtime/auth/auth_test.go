package auth

import (
	"testing"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/rpc"
)

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"Bearer abc":   "abc",
		"bearer  abc ": "abc",
		"Basic abc":    "",
		"Bearer":       "",
		"Bearer ":      "",
		"abc":          "",
	} {
		got, ok := BearerToken(header)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v, want %q", header, got, ok, want)
		}
	}
}

// TestPolicy decides calls as the server interceptor does: the declared
// access, else public for health checks, else the default.
func TestPolicy(t *testing.T) {
	t.Parallel()
	reader := &Claims{Subject: "ada", Scopes: []string{"orders:read"}}
	scoped := &rpc.Access{Scopes: []string{"orders:read", "orders:write"}}
	for _, tt := range []struct {
		name   string
		policy *Policy
		spec   rpc.Spec
		claims *Claims
		want   errors.Code
	}{
		{"public, no token", NewPolicy(nil), rpc.Spec{Procedure: "/a.A/M", Access: &rpc.Access{Public: true}}, nil, errors.CodeOK},
		{"health, no token", NewPolicy(nil), rpc.Spec{Procedure: "/grpc.health.v1.Health/Check"}, nil, errors.CodeOK},
		{"health not exempt", NewPolicy(nil, WithPublicProcedures()), rpc.Spec{Procedure: "/grpc.health.v1.Health/Check"}, nil, errors.CodeUnauthenticated},
		{"default, no token", NewPolicy(nil), rpc.Spec{Procedure: "/a.A/M"}, nil, errors.CodeUnauthenticated},
		{"default, a token", NewPolicy(nil), rpc.Spec{Procedure: "/a.A/M"}, &Claims{}, errors.CodeOK},
		{"default made public", NewPolicy(nil, WithDefaultAccess(rpc.Access{Public: true})), rpc.Spec{Procedure: "/a.A/M"}, nil, errors.CodeOK},
		{"a scope missing", NewPolicy(nil), rpc.Spec{Procedure: "/a.A/M", Access: scoped}, reader, errors.CodePermissionDenied},
		{"every scope", NewPolicy(nil), rpc.Spec{Procedure: "/a.A/M", Access: scoped}, &Claims{Scopes: scoped.Scopes}, errors.CodeOK},
	} {
		if got := errors.CodeOf(tt.policy.Allow(tt.spec, tt.claims)); got != tt.want {
			t.Errorf("%s: Allow = %v, want %v", tt.name, got, tt.want)
		}
	}
}
