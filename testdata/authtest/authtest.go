// Package authtest holds what the auth tests of several packages share: a
// signing key, the access table of access.v1.Orders, and a running Orders
// service with a downstream service it calls.
package authtest

import (
	"context"
	"crypto"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/auth/jwt"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/testdata/golden/access"
	"github.com/protomicro/micro/testdata/testutil"
)

// Issuer is the issuer of the tokens [Auth] signs, which its verifier
// requires.
const Issuer = "https://issuer.test"

// Auth is a signing key in a file, for tests of access control: a
// service verifies with [Auth.Verifier] (or MICRO_AUTH_KEY=KeyFile and
// MICRO_AUTH_ISSUER=[Issuer]) and callers present [Auth.Token]s.
type Auth struct {
	KeyFile string
	key     crypto.Signer
}

// NewAuth makes a key in a file of the test's.
func NewAuth(t testing.TB) *Auth {
	t.Helper()
	pemKey, err := jwt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParsePrivateKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "auth.pem")
	if err := os.WriteFile(path, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return &Auth{KeyFile: path, key: key}
}

// Verifier returns a JWT verifier of a's tokens, requiring [Issuer].
func (a *Auth) Verifier(t testing.TB) *jwt.Verifier {
	t.Helper()
	v, err := jwt.New(jwt.WithKeyFile(a.KeyFile), jwt.WithIssuer(Issuer))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Token signs a token for subject "ada" from [Issuer] with scopes, valid
// for an hour.
func (a *Auth) Token(t testing.TB, scopes ...string) string {
	return a.sign(t, a.key, jwt.Token{Subject: "ada", Issuer: Issuer, Scopes: scopes, TTL: time.Hour})
}

func (a *Auth) sign(t testing.TB, key crypto.Signer, tok jwt.Token) string {
	t.Helper()
	s, err := jwt.Sign(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// AuthCase is one call of the access table: a procedure of
// access.v1.Orders, the token it is called with ("" for none) and the
// code it must get, with a part of the error message.
type AuthCase struct {
	Name      string
	Procedure string
	Token     string
	Code      errors.Code
	Message   string
}

// Cases returns the access table for access.v1.Orders, served with the
// handler [Orders] and verified with a's key and [Issuer].
func (a *Auth) Cases(t testing.TB) []AuthCase {
	other := NewAuth(t)
	read := a.Token(t, "orders:read")
	return []AuthCase{
		{"no token", access.OrdersGetProcedure, "", errors.CodeUnauthenticated, "needs a bearer token"},
		{"malformed", access.OrdersGetProcedure, "not-a-jwt", errors.CodeUnauthenticated, "malformed"},
		{"bad signature", access.OrdersGetProcedure, other.Token(t, "orders:read"), errors.CodeUnauthenticated, "bad signature"},
		{"expired", access.OrdersGetProcedure, a.sign(t, a.key, jwt.Token{Subject: "ada", Issuer: Issuer, Scopes: []string{"orders:read"}, TTL: time.Hour, IssuedAt: time.Now().Add(-2 * time.Hour)}), errors.CodeUnauthenticated, "expired"},
		{"wrong issuer", access.OrdersGetProcedure, a.sign(t, a.key, jwt.Token{Subject: "ada", Issuer: "https://evil.test", Scopes: []string{"orders:read"}, TTL: time.Hour}), errors.CodeUnauthenticated, "issuer"},
		{"missing scope", access.OrdersCreateProcedure, read, errors.CodePermissionDenied, `needs scope "orders:write"`},
		{"granted scopes", access.OrdersCreateProcedure, a.Token(t, "orders:read", "orders:write"), errors.CodeOK, ""},
		{"service scope", access.OrdersGetProcedure, read, errors.CodeOK, ""},
		{"public without token", access.OrdersStatusProcedure, "", errors.CodeOK, ""},
		{"public with a bad token", access.OrdersStatusProcedure, "not-a-jwt", errors.CodeOK, ""},
		{"delegated", access.OrdersForwardProcedure, a.Token(t), errors.CodeOK, ""},
		{"delegated without token", access.OrdersForwardProcedure, "", errors.CodeUnauthenticated, "needs a bearer token"},
	}
}

// Orders serves access.v1.Orders: every method but Status calls
// access.v1.Open.Ping on the service Downstream through Client, and
// answers with the authorization that call carried, as
// [Downstream] saw it, in the order's ID ("" for none).
type Orders struct {
	access.UnimplementedOrdersHandler
	Client     client.Client
	Downstream string
}

func (o *Orders) call(ctx context.Context, req *access.GetRequest) (*access.Order, error) {
	seen, err := access.NewOpenClient(o.Downstream, o.Client).Ping(ctx, req)
	if err != nil {
		return nil, err
	}
	return &access.Order{Id: seen.Id}, nil
}

// Get calls downstream.
func (o *Orders) Get(ctx context.Context, req *access.GetRequest) (*access.Order, error) {
	return o.call(ctx, req)
}

// Create calls downstream.
func (o *Orders) Create(ctx context.Context, _ *access.CreateRequest) (*access.Order, error) {
	return o.call(ctx, &access.GetRequest{})
}

// Forward calls downstream with the caller's token, as its access declares.
func (o *Orders) Forward(ctx context.Context, req *access.GetRequest) (*access.Order, error) {
	return o.call(ctx, req)
}

// Status answers "ok".
func (o *Orders) Status(context.Context, *access.GetRequest) (*access.Order, error) {
	return &access.Order{Id: "ok"}, nil
}

// Downstream serves access.v1.Open: Ping answers with the authorization
// metadata the call carried, in Id.
type Downstream struct {
	access.UnimplementedOpenHandler
}

// Ping answers the call's authorization.
func (Downstream) Ping(ctx context.Context, _ *access.GetRequest) (*access.GetRequest, error) {
	return &access.GetRequest{Id: metadata.FromIncomingContext(ctx).Get("authorization")}, nil
}

// Serve runs svc until the test ends, and waits for its registration in reg.
func Serve(t testing.TB, svc *micro.Service, reg registry.Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(%s) = %v", svc.Name(), err)
		}
	})
	testutil.WaitFor(t, svc.Name()+" registered", func() bool {
		services, err := reg.GetService(context.Background(), svc.Name())
		return err == nil && len(services) > 0 && svc.Address() != ""
	})
}

// StartOrders runs access.v1.Orders as "orders", with
// opts (its auth), and a "downstream" without auth that its handlers call
// ([Orders]); both register in reg and stop when the test ends.
func StartOrders(t testing.TB, reg registry.Registry, opts ...micro.Option) *micro.Service {
	t.Helper()
	quiet := micro.WithLogger(slog.New(slog.DiscardHandler))
	startDownstream(t, reg, "downstream")
	svc, err := micro.NewService("orders", append([]micro.Option{micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), quiet}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := access.RegisterOrdersHandler(svc.Server(), &Orders{Client: svc.Client(), Downstream: "downstream"}); err != nil {
		t.Fatal(err)
	}
	Serve(t, svc, reg)
	return svc
}

// StartShop runs "shop", serving access.v1.Orders (public Status, Get and
// Create with scopes, Forward for any caller with a token) and
// access.v1.Open (Ping, which declares no access and so takes the server's
// default) with opts (its auth), and "plain", serving Open without auth,
// which shop's handlers call ([Orders]); both register in reg and stop when
// the test ends.
func StartShop(t testing.TB, reg registry.Registry, opts ...micro.Option) {
	t.Helper()
	quiet := micro.WithLogger(slog.New(slog.DiscardHandler))
	startDownstream(t, reg, "plain")
	shop, err := micro.NewService("shop", append([]micro.Option{micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), quiet}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := access.RegisterOrdersHandler(shop.Server(), &Orders{Client: shop.Client(), Downstream: "plain"}); err != nil {
		t.Fatal(err)
	}
	if err := access.RegisterOpenHandler(shop.Server(), Downstream{}); err != nil {
		t.Fatal(err)
	}
	Serve(t, shop, reg)
}

// startDownstream runs [Downstream] without auth as the service name.
func startDownstream(t testing.TB, reg registry.Registry, name string) {
	t.Helper()
	svc, err := micro.NewService(name, micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := access.RegisterOpenHandler(svc.Server(), Downstream{}); err != nil {
		t.Fatal(err)
	}
	Serve(t, svc, reg)
}

// HTTPClient returns an HTTP client that sends "Authorization: Bearer
// <token>" with every request.
func HTTPClient(token string) *http.Client {
	return &http.Client{Transport: bearer(token)}
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
