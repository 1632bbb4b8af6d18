package mcp_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protomicro/micro/runtime/mcp"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/testutil"
)

// connectAs connects a go-sdk client to url over streamable HTTP, with token
// as its bearer token ("" for none).
func connectAs(t *testing.T, url, token string) *sdk.ClientSession {
	t.Helper()
	ct := &sdk.StreamableClientTransport{Endpoint: url}
	if token != "" {
		ct.HTTPClient = authtest.HTTPClient(token)
	}
	session, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "v0"}, nil).Connect(testutil.Context(t), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session
}

func toolNames(t *testing.T, session *sdk.ClientSession) []string {
	t.Helper()
	var names []string
	for name := range listTools(t, session) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// call calls the tool name without arguments and returns whether it is an
// error result, and its text; a protocol error fails the test.
func call(t *testing.T, session *sdk.ClientSession, name string) (bool, string) {
	t.Helper()
	res, err := session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		t.Fatalf("call %s: a protocol error: %v", name, err)
	}
	return res.IsError, text(res)
}

// TestServerAuth lists and calls the tools of a service with auth over HTTP
// as callers with different tokens see them, with a gateway that verifies
// tokens as the service does and with one that cannot.
func TestServerAuth(t *testing.T) {
	reg := memory.New()
	keys := authtest.NewAuth(t)
	authtest.StartShop(t, reg, micro.WithAuth(keys.Verifier(t)))
	serve := func(t *testing.T, opts ...mcp.Option) string {
		s, err := mcp.New(testutil.Context(t), reg, append([]mcp.Option{mcp.WithLogger(quiet)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		testutil.WaitFor(t, "both services' tools", func() bool { return len(s.Tools()) == 6 })
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return srv.URL
	}
	public := []string{"plain_Ping", "shop_Status"}
	authenticated := []string{"plain_Ping", "shop_Forward", "shop_Ping", "shop_Status"}
	reader := []string{"plain_Ping", "shop_Forward", "shop_Get", "shop_Ping", "shop_Status"}
	all := []string{"plain_Ping", "shop_Create", "shop_Forward", "shop_Get", "shop_Ping", "shop_Status"}
	none, read, write := keys.Token(t), keys.Token(t, "orders:read"), keys.Token(t, "orders:read", "orders:write")
	forged := authtest.NewAuth(t).Token(t, "orders:read", "orders:write")

	t.Run("verifier", func(t *testing.T) {
		url := serve(t, mcp.WithAuth(keys.Verifier(t)))
		for _, tt := range []struct {
			name, token string
			want        []string
			// hidden is a tool the caller does not see, and the error
			// result calling it gets.
			hidden, code, message string
		}{
			{"no token", "", public, "shop_Ping", "unauthenticated", "needs a bearer token"},
			{"forged token", forged, public, "shop_Get", "unauthenticated", "token rejected"},
			{"no scopes", none, authenticated, "shop_Get", "permission_denied", `needs scope \"orders:read\"`},
			{"orders:read", read, reader, "shop_Create", "permission_denied", `needs scope \"orders:write\"`},
			{"both scopes", write, all, "", "", ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				session := connectAs(t, url, tt.token)
				if got := toolNames(t, session); !slices.Equal(got, tt.want) {
					t.Errorf("tools/list = %v, want %v", got, tt.want)
				}
				if tt.hidden != "" {
					isError, text := call(t, session, tt.hidden)
					if !isError || !strings.Contains(text, `"code":"`+tt.code+`"`) || !strings.Contains(text, tt.message) {
						t.Errorf("call hidden %s = isError %v, %s; want %s saying %s", tt.hidden, isError, text, tt.code, tt.message)
					}
				}
				isError, text := call(t, session, "shop_Status")
				if isError || text != `{"id":"ok"}` {
					t.Errorf("call shop_Status = isError %v, %s; want ok", isError, text)
				}
				if tt.token == none || tt.token == write {
					// Ping answers the authorization it got: the caller's.
					isError, text := call(t, session, "shop_Ping")
					if isError || text != `{"id":"Bearer `+tt.token+`"}` {
						t.Errorf("call shop_Ping = isError %v, %s; want the caller's token, as the service saw it", isError, text)
					}
				}
			})
		}
	})

	t.Run("no verifier", func(t *testing.T) {
		url := serve(t)
		if got := toolNames(t, connectAs(t, url, "")); !slices.Equal(got, public) {
			t.Errorf("tools/list without a token = %v, want the public tools %v", got, public)
		}
		session := connectAs(t, url, forged)
		if got := toolNames(t, session); !slices.Equal(got, all) {
			t.Errorf("tools/list with a token = %v, want them all %v (the gateway cannot judge it)", got, all)
		}
		// The service judges the token the gateway could not.
		isError, text := call(t, session, "shop_Get")
		if !isError || !strings.Contains(text, `"code":"unauthenticated"`) || !strings.Contains(text, "bad signature") {
			t.Errorf("call shop_Get with a forged token = isError %v, %s; want the service's unauthenticated", isError, text)
		}
		isError, text = call(t, connectAs(t, url, read), "shop_Create")
		if !isError || !strings.Contains(text, `"code":"permission_denied"`) {
			t.Errorf("call shop_Create with orders:read = isError %v, %s; want the service's permission_denied", isError, text)
		}
	})

	t.Run("stdio token", func(t *testing.T) {
		s, err := mcp.New(testutil.Context(t), reg, mcp.WithLogger(quiet), mcp.WithAuth(keys.Verifier(t)), mcp.WithToken(read))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		testutil.WaitFor(t, "both services' tools", func() bool { return len(s.Tools()) == 6 })
		session, _ := connect(t, s, "memory")
		if got := toolNames(t, session); !slices.Equal(got, reader) {
			t.Errorf("tools/list with WithToken(orders:read) = %v, want %v", got, reader)
		}
		isError, text := call(t, session, "shop_Forward")
		if isError || text != `{"id":"Bearer `+read+`"}` {
			t.Errorf("call shop_Forward = isError %v, %s; want the token delegated downstream", isError, text)
		}
	})
}
