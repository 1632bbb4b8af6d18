package errors_test

import (
	"context"
	stderrors "errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// TestDetailsCrossTheWire checks that the details a handler attaches to its
// error, google.rpc.ErrorInfo among them, reach a Go caller as they were.
func TestDetailsCrossTheWire(t *testing.T) {
	t.Parallel()
	_, address := testserver.Start(t, func(s server.Server) error {
		return streaming.RegisterEchoHandler(s, echo.Handler{})
	})
	c := client.New(client.WithAddress(address))
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	_, err := streaming.NewEchoClient("echo", c).Echo(ctx, &streaming.EchoRequest{Message: "details:resource_exhausted:out of tokens"})
	e, ok := stderrors.AsType[*errors.Error](err)
	if !ok {
		t.Fatalf("Echo() = %v, want an *errors.Error", err)
	}
	if e.Code() != errors.CodeResourceExhausted || e.Message() != "out of tokens" {
		t.Errorf("Echo() = %v, want resource_exhausted: out of tokens", e)
	}
	want := echo.ErrorDetails("resource_exhausted", "out of tokens")
	var got []proto.Message
	for _, detail := range e.Details() {
		msg, err := detail.UnmarshalNew()
		if err != nil {
			t.Fatalf("unpack detail %s: %v", detail.GetTypeUrl(), err)
		}
		got = append(got, msg)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Echo() error details (-want +got):\n%s", diff)
	}
}
