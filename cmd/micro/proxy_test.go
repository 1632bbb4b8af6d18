package main

import (
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestProxyServes runs micro proxy in front of the world's services, calls
// echo through it, and interrupts it: it exits 130.
func TestProxyServes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stderr, interrupt := w.serve(t, "proxy", "--address", "127.0.0.1:0")
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
	if got := interrupt(); got != 130 || !strings.HasSuffix(stderr.String(), "micro: interrupted\n") {
		t.Errorf("micro proxy, interrupted = %d, stderr %q; want 130 and micro: interrupted", got, stderr.String())
	}
}
