package dynamic

import (
	"strings"
	"testing"
)

func TestFindMethod(t *testing.T) {
	t.Parallel()
	s := testSchema(t)
	for _, tt := range []struct {
		arg, want, wantErr string
	}{
		{arg: "/streaming.v1.Echo/Count", want: "/streaming.v1.Echo/Count"},
		{arg: "streaming.v1.Echo/Count", want: "/streaming.v1.Echo/Count"},
		{arg: "streaming.v1.Echo.Count", want: "/streaming.v1.Echo/Count"},
		{arg: "/grpc.health.v1.Health/Check", want: "/grpc.health.v1.Health/Check"},
		{arg: "Echo", wantErr: "ambiguous"},
		{arg: "Echo.Echo", wantErr: "ambiguous"},
		{arg: "Health.Check", wantErr: "has no method"}, // short names skip infrastructure
		{arg: "Check", wantErr: "has no method"},
		{arg: "", wantErr: "has no method"},
		{arg: "/", wantErr: "has no method"},
		{arg: "//", wantErr: "has no method"},
		{arg: "streaming.v1.Echo/", wantErr: "has no method"},
	} {
		m, err := s.FindMethod("svc", tt.arg)
		got := ""
		if m != nil {
			got = procedure(m)
		}
		if got != tt.want || (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("FindMethod(%q) = %q, %v, want %q, error containing %q", tt.arg, got, err, tt.want, tt.wantErr)
		}
	}
}
