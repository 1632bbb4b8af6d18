package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestProxyServes runs micro proxy in front of the world's services, calls
// echo through it, and interrupts it: it exits 130.
func TestProxyServes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	var stdout, stderr testutil.Buffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"proxy", "--address", "127.0.0.1:0"}, w.env, strings.NewReader(""), &stdout, &stderr)
	}()
	address := ""
	testutil.WaitFor(t, "micro proxy to serve", func() bool {
		_, rest, ok := strings.Cut(stderr.String(), " on grpc://")
		address, _, _ = strings.Cut(rest, "\n")
		return ok && strings.HasSuffix(rest, "\n")
	})
	c := client.New(client.WithAddress(address))
	defer c.Close()
	res, err := streaming.NewEchoClient("echo", c).Echo(testutil.Context(t), &streaming.EchoRequest{Message: "through the proxy"})
	if err != nil || res.GetMessage() != "through the proxy" {
		t.Errorf("Echo through micro proxy = %v, %v, want the message back", res, err)
	}
	interrupt()
	select {
	case got := <-status:
		if got != 130 || !strings.HasSuffix(stderr.String(), "micro: interrupted\n") {
			t.Errorf("micro proxy, interrupted = %d, stderr %q; want 130 and micro: interrupted", got, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("micro proxy did not return after the interrupt")
	}
}
