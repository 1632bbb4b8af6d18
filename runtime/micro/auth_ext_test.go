package micro_test

import (
	"context"
	stderrors "errors"
	"io"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

func newTestRegistry(t *testing.T) registry.Registry {
	t.Helper()
	reg, err := local.New(local.WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestAuthTable calls each case of the access table over gRPC, and checks
// that the token the orders service's handler sends downstream is the
// caller's only for the delegated method, and the service's own otherwise.
func TestAuthTable(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := newTestRegistry(t)
	svc := authtest.StartOrders(t, reg,
		micro.WithAuth(keys.Verifier(t)),
		micro.WithTokenSource(auth.StaticToken("service-token")))
	c := client.New(client.WithAddress(svc.Address()))
	defer func() { _ = c.Close() }()
	for _, tt := range keys.Cases(t) {
		var opts []client.CallOption
		if tt.Token != "" {
			opts = append(opts, client.WithHeaders("authorization", "Bearer "+tt.Token))
		}
		var res access.Order
		err := c.Invoke(t.Context(), "orders", rpc.Spec{Procedure: tt.Procedure}, requestFor(tt.Procedure), &res, opts...)
		if got := errors.CodeOf(err); got != tt.Code || (err != nil && !strings.Contains(err.Error(), tt.Message)) {
			t.Errorf("%s: %s = %v (%v), want %v saying %q", tt.Name, tt.Procedure, got, err, tt.Code, tt.Message)
			continue
		}
		if err != nil || tt.Procedure == access.OrdersStatusProcedure {
			continue
		}
		want := "Bearer service-token"
		if tt.Procedure == access.OrdersForwardProcedure {
			want = "Bearer " + tt.Token
		}
		if res.Id != want {
			t.Errorf("%s: downstream saw authorization %q, want %q", tt.Name, res.Id, want)
		}
	}
}

func requestFor(procedure string) any {
	if procedure == access.OrdersCreateProcedure {
		return &access.CreateRequest{}
	}
	return &access.GetRequest{}
}

// TestAuthNoLeak checks that without a token source a handler's
// downstream call carries no credential unless its method delegates.
func TestAuthNoLeak(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := newTestRegistry(t)
	svc := authtest.StartOrders(t, reg, micro.WithAuth(keys.Verifier(t)))
	c := client.New(client.WithAddress(svc.Address()))
	defer func() { _ = c.Close() }()
	orders := access.NewOrdersClient("orders", c)
	token := keys.Token(t, "orders:read")
	ctx := t.Context()
	got, err := orders.Get(ctx, &access.GetRequest{}, client.WithHeaders("authorization", "Bearer "+token))
	if err != nil || got.Id != "" {
		t.Errorf("Get = %v, %v; want no authorization downstream", got, err)
	}
	got, err = orders.Forward(ctx, &access.GetRequest{}, client.WithHeaders("authorization", "Bearer "+token))
	if err != nil || got.Id != "Bearer "+token {
		t.Errorf("Forward = %v, %v; want the caller's token downstream", got, err)
	}
}

// TestAuthStreams checks every kind of streaming method under the default
// access, and that handlers see the claims, and that health checks stay
// public.
func TestAuthStreams(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := newTestRegistry(t)
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet),
		micro.WithAuth(keys.Verifier(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), claimsEcho{}); err != nil {
		t.Fatal(err)
	}
	authtest.Serve(t, svc, reg)
	c := client.New(client.WithAddress(svc.Address()))
	defer func() { _ = c.Close() }()
	echo := streaming.NewEchoClient("echo", c)
	withToken := client.WithHeaders("authorization", "Bearer "+keys.Token(t))
	ctx := t.Context()

	if _, err := echo.Echo(ctx, &streaming.EchoRequest{}); errors.CodeOf(err) != errors.CodeUnauthenticated {
		t.Errorf("Echo without a token = %v, want unauthenticated: a method that declares no access needs a token by default", err)
	}
	for _, with := range []bool{false, true} {
		var opts []client.CallOption
		want := errors.CodeUnauthenticated
		if with {
			opts, want = append(opts, withToken), errors.CodeOK
		}
		count, err := echo.Count(ctx, &streaming.CountRequest{N: 1}, opts...)
		if err == nil {
			_, err = count.Recv()
		}
		if got := errors.CodeOf(err); got != want {
			t.Errorf("Count (token %v) = %v, want %v", with, err, want)
		}
		sum, err := echo.Sum(ctx, opts...)
		if err == nil {
			_, err = sum.CloseAndRecv()
		}
		if got := errors.CodeOf(err); got != want {
			t.Errorf("Sum (token %v) = %v, want %v", with, err, want)
		}
		chat, err := echo.Chat(ctx, opts...)
		var res *streaming.ChatResponse
		if err == nil {
			// A stream the server has already refused may take the send
			// (the refusal is still on its way) or end it with io.EOF: the
			// status is Recv's either way, as in gRPC.
			if err = chat.Send(&streaming.ChatRequest{}); err == nil || stderrors.Is(err, io.EOF) {
				res, err = chat.Recv()
			}
		}
		if got := errors.CodeOf(err); got != want {
			t.Errorf("Chat (token %v) = %v, want %v", with, err, want)
		}
		if with && (res == nil || res.Text != "ada") {
			t.Errorf("Chat answered %v, want the caller's subject from auth.FromContext", res)
		}
	}
	if err := c.Invoke(ctx, "echo", rpc.Spec{Procedure: "/grpc.health.v1.Health/Check"}, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}); err != nil {
		t.Errorf("health check without a token = %v, want it answered", err)
	}
}

// claimsEcho answers Chat with the caller's subject, and counts.
type claimsEcho struct {
	streaming.UnimplementedEchoHandler
}

func (claimsEcho) Count(_ context.Context, req *streaming.CountRequest, stream server.ServerStream[streaming.CountResponse]) error {
	for i := range req.N {
		if err := stream.Send(&streaming.CountResponse{Number: i + 1}); err != nil {
			return err
		}
	}
	return nil
}

func (claimsEcho) Sum(_ context.Context, stream server.ClientStream[streaming.SumRequest]) (*streaming.SumResponse, error) {
	for {
		if _, err := stream.Recv(); err != nil {
			return &streaming.SumResponse{}, nil //nolint:nilerr // the end of the stream
		}
	}
}

func (claimsEcho) Chat(ctx context.Context, stream server.BidiStream[streaming.ChatRequest, streaming.ChatResponse]) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	return stream.Send(&streaming.ChatResponse{Text: auth.FromContext(ctx).Subject})
}

// TestAuthSettingsWithoutAuth checks that a service told to verify tokens
// by MICRO_AUTH_KEY (here its flag) but given no verifier refuses to start
// rather than serve unprotected.
func TestAuthSettingsWithoutAuth(t *testing.T) {
	t.Parallel()
	_, err := micro.NewService("orders", micro.WithRegistry(newTestRegistry(t)), micro.WithLogger(quiet),
		micro.WithArgs([]string{"--auth_key", "key.pem"}))
	if err == nil || !strings.Contains(err.Error(), "jwt.FromEnv") {
		t.Errorf("NewService with --auth_key and no WithAuth = %v, want an error pointing to jwt.FromEnv", err)
	}
}
