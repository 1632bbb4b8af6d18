package target_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/internal/target"
)

// TestMain gives micro's targets a registry of the tests' own, as the
// harness gives each run one.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "target-test-registry-")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.Setenv("MICRO_REGISTRY_ADDRESS", dir); err != nil {
		panic(err)
	}
	m.Run()
}

// TestTargets calls every method of every target's server through its
// client, in this process, and checks the answers.
func TestTargets(t *testing.T) {
	t.Parallel()
	for _, tt := range append(target.All(), target.Extra()...) {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv, err := tt.Serve("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			}()
			c, err := tt.Dial(srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			message, payload := strings.Repeat("x", 100), []byte("payload")

			res, err := c.Echo(ctx, &echov1.EchoRequest{Message: message, Payload: payload})
			if err != nil {
				t.Fatalf("Echo: %v", err)
			}
			if res.GetMessage() != message || string(res.GetPayload()) != string(payload) {
				t.Errorf("Echo = %q, %q; want %q, %q", res.GetMessage(), res.GetPayload(), message, payload)
			}

			if tt.NotMeasured["stream"] == "" {
				streamCtx, stop := context.WithCancel(ctx)
				s, err := c.Stream(streamCtx, &echov1.StreamRequest{Message: message, Payload: payload})
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				for want := int64(1); want <= 100; want++ {
					res, err := s.Recv()
					if err != nil {
						t.Fatalf("Stream: Recv %d: %v", want, err)
					}
					if res.GetNumber() != want || res.GetMessage() != message {
						t.Fatalf("Stream: Recv = %d, %q; want %d, %q", res.GetNumber(), res.GetMessage(), want, message)
					}
				}
				stop()
			}

			if tt.NotMeasured["chat"] != "" && tt.Name != "micro-proxy" {
				return // REST has no bidirectional streams
			}
			chat, err := c.Chat(ctx)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			for i := range 3 {
				text := strings.Repeat("y", i+1)
				if err := chat.Send(&echov1.ChatRequest{Message: text, Payload: payload}); err != nil {
					t.Fatalf("Chat: Send %d: %v", i, err)
				}
				res, err := chat.Recv()
				if err != nil {
					t.Fatalf("Chat: Recv %d: %v", i, err)
				}
				if res.GetMessage() != text {
					t.Errorf("Chat: Recv = %q, want %q", res.GetMessage(), text)
				}
			}
		})
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		names   string
		want    string
		wantErr bool
	}{
		{names: "", want: "micro,grpc-go,micro-intercepted,grpc-go-intercepted,micro-observed-off,micro-observed,grpc-go-observed-off,grpc-go-observed,connect-grpc,connect,go-micro,raw-tcp,micro-api,grpc-gateway,micro-proxy"},
		{names: "all", want: "micro,grpc-go,micro-intercepted,grpc-go-intercepted,micro-observed-off,micro-observed,grpc-go-observed-off,grpc-go-observed,connect-grpc,connect,go-micro,raw-tcp,micro-api,grpc-gateway,micro-proxy"},
		{names: "grpc-go,micro-notimeout", want: "grpc-go,micro-notimeout"},
		{names: "grpc", wantErr: true},
	} {
		targets, err := target.Select(tt.names)
		if (err != nil) != tt.wantErr {
			t.Errorf("Select(%q) error = %v, want error %v", tt.names, err, tt.wantErr)
			continue
		}
		if got := strings.Join(target.Names(targets), ","); !tt.wantErr && got != tt.want {
			t.Errorf("Select(%q) = %s, want %s", tt.names, got, tt.want)
		}
	}
}
