package micro

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/testdata/testutil"
)

func TestNewSync(t *testing.T) {
	t.Parallel()
	unreachable := testutil.UnusedAddress(t)
	for _, tt := range []struct {
		name, address string
		wantErr       string // in the error; "" for none
	}{
		{name: "local", address: t.TempDir()},
		{name: "memory"},
		{name: "etcd", address: unreachable, wantErr: unreachable},
		{name: "consul", wantErr: `unknown sync "consul"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSync(tt.name, tt.address)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewSync(%q, %q) = %v, want an error with %q", tt.name, tt.address, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSync(%q, %q) = %v", tt.name, tt.address, err)
			}
			defer func() { _ = s.Close() }()
			if s.String() != tt.name {
				t.Errorf("NewSync(%q).String() = %q", tt.name, s.String())
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			l, err := s.Lock(ctx, "micro")
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
