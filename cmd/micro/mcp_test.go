package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestMCP connects the go-sdk's MCP client to micro mcp (stdio) and to
// micro api --mcp (streamable HTTP at /mcp), in front of the world's
// services, and uses the echo service's tool as a model would.
func TestMCP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	t.Run("stdio", func(t *testing.T) {
		checkMCPTools(t, startMCP(t, w.env))
	})
	t.Run("http", func(t *testing.T) {
		address, stop := startMCPAPI(t, w.env)
		checkMCPTools(t, &sdk.StreamableClientTransport{Endpoint: address})
		stop()
	})
	t.Run("binary", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds micro")
		}
		bin := filepath.Join(t.TempDir(), "micro")
		testutil.Go(t, "", nil, "build", "-o", bin, ".")
		cmd := exec.Command(bin, "mcp")
		cmd.Env = append(os.Environ(), "MICRO_REGISTRY=local", "MICRO_REGISTRY_ADDRESS="+w.dir)
		checkMCPTools(t, &sdk.CommandTransport{Command: cmd})
	})
}

// checkMCPTools connects to the tools of the world's services over t:
// echo_Echo is listed with its proto comment and schemas, answers with its
// response as structured content, and a failure is an isError result.
func checkMCPTools(t *testing.T, transport sdk.Transport) {
	t.Helper()
	ctx := testutil.Context(t)
	session, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "v0"}, nil).Connect(ctx, transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	tools := make(map[string]*sdk.Tool)
	for tool, err := range session.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}
	for _, name := range []string{"echo_Echo", "books_GetBook", "books_CreateBook", "inventory_Reserve"} {
		if tools[name] == nil {
			t.Errorf("tools/list has no %s", name)
		}
	}
	if tools["echo_Count"] == nil {
		t.Error("tools/list has no echo_Count, a server stream")
	}
	if tools["echo_Sum"] != nil || tools["echo_Chat"] != nil {
		t.Error("client-streaming methods are listed as tools")
	}
	echo := tools["echo_Echo"]
	if echo == nil {
		t.FailNow()
	}
	if echo.Description != "Echo returns what it is sent." {
		t.Errorf("echo_Echo description = %q, want its proto comment", echo.Description)
	}
	input, _ := json.Marshal(echo.InputSchema)
	for _, want := range []string{`"message":{"type":"string"}`, `"payload":{"contentEncoding":"base64","pattern":`, `"additionalProperties":false`} {
		if !strings.Contains(string(input), want) {
			t.Errorf("echo_Echo input schema = %s, want %s", input, want)
		}
	}
	output, _ := json.Marshal(echo.OutputSchema)
	if want := `"deadlineMs":{"description":"a 64-bit integer, in decimal","pattern":"^-?(0|[1-9][0-9]*)$","type":"string"}`; !strings.Contains(string(output), want) {
		t.Errorf("echo_Echo output schema = %s, want %s", output, want)
	}

	res, err := session.CallTool(ctx, &sdk.CallToolParams{Name: "echo_Echo", Arguments: map[string]any{"message": "hi", "payload": "AQI="}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := res.StructuredContent.(map[string]any)
	if res.IsError || got["message"] != "hi" || got["payload"] != "AQI=" {
		t.Errorf("echo_Echo = isError %v, structuredContent %v; want the message and payload back", res.IsError, res.StructuredContent)
	}
	res, err = session.CallTool(ctx, &sdk.CallToolParams{Name: "echo_Echo", Arguments: map[string]any{"message": "error:already_exists:taken"}})
	if err != nil {
		t.Fatalf("a failing call is a protocol error: %v", err)
	}
	text := ""
	if len(res.Content) == 1 {
		if c, ok := res.Content[0].(*sdk.TextContent); ok {
			text = c.Text
		}
	}
	if !res.IsError || text != `{"code":"already_exists","message":"taken"}` {
		t.Errorf("failing echo_Echo = isError %v, %q; want already_exists, taken", res.IsError, text)
	}
}

// TestMCPAuth runs micro mcp with MICRO_TOKEN, and micro api --mcp for
// clients with tokens, in front of a service with auth: with MICRO_AUTH_KEY
// set as the service has it, each caller is listed exactly the tools it may
// call, and calling another is an error result; without it, a caller with
// no token sees only the public tools.
func TestMCPAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	keys := authtest.NewAuth(t)
	authtest.StartShop(t, reg, micro.WithAuth(keys.Verifier(t)))
	env := map[string]string{"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": dir}
	authEnv := maps.Clone(env)
	authEnv["MICRO_AUTH_KEY"], authEnv["MICRO_AUTH_ISSUER"] = keys.KeyFile, authtest.Issuer
	public := []string{"plain_Ping", "shop_Status"}
	reader := []string{"plain_Ping", "shop_Forward", "shop_Get", "shop_Ping", "shop_Status"}
	read := keys.Token(t, "orders:read")

	stdio := func(t *testing.T, env map[string]string) *sdk.ClientSession {
		return connectMCP(t, startMCP(t, mapEnv(env)))
	}
	t.Run("stdio", func(t *testing.T) {
		env := maps.Clone(authEnv)
		env["MICRO_TOKEN"] = read
		session := stdio(t, env)
		checkMCPAccess(t, session, reader, "shop_Create", `"code":"permission_denied"`)
		// The tool call carries MICRO_TOKEN: Ping answers what it got.
		if isError, text := callMCP(t, session, "shop_Ping"); isError || text != `{"id":"Bearer `+read+`"}` {
			t.Errorf("shop_Ping = isError %v, %s; want MICRO_TOKEN as the service saw it", isError, text)
		}
	})
	t.Run("stdio without a verifier or token", func(t *testing.T) {
		checkMCPAccess(t, stdio(t, env), public, "shop_Ping", `"code":"unauthenticated"`)
	})
	t.Run("http", func(t *testing.T) {
		address, stop := startMCPAPI(t, mapEnv(authEnv))
		t.Run("clients", func(t *testing.T) { // whose sessions end before the gateway
			checkMCPAccess(t, connectMCP(t, &sdk.StreamableClientTransport{Endpoint: address}), public, "shop_Get", `"code":"unauthenticated"`)
			session := connectMCP(t, &sdk.StreamableClientTransport{Endpoint: address, HTTPClient: authtest.HTTPClient(read)})
			checkMCPAccess(t, session, reader, "shop_Create", `needs scope \"orders:write\"`)
			if isError, text := callMCP(t, session, "shop_Get"); isError || text != `{}` {
				t.Errorf("shop_Get with orders:read = isError %v, %s; want an order", isError, text)
			}
		})
		stop()
	})
}

// startMCP runs micro mcp with env until the test ends, and returns the
// transport to it; once the client leaves, micro mcp must exit 0.
func startMCP(t *testing.T, env lookupEnv) sdk.Transport {
	t.Helper()
	ctx, interrupt := context.WithCancel(context.WithoutCancel(t.Context())) // t's ends before its cleanups
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr testutil.Buffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"mcp"}, env, inR, outW, &stderr)
		_ = outW.Close()
	}()
	t.Cleanup(func() {
		_ = inW.Close() // the client leaves: micro mcp ends, with status 0
		if got := <-status; got != 0 {
			t.Errorf("micro mcp, its client gone = %d, stderr %q; want 0", got, stderr.String())
		}
		interrupt()
	})
	return &sdk.IOTransport{Reader: outR, Writer: inW}
}

// startMCPAPI runs micro api --mcp with env and returns the address of its
// /mcp, and stop, which interrupts it (as the test's end does) and checks it
// exits 130. Clients must be gone by then.
func startMCPAPI(t *testing.T, env lookupEnv) (address string, stop func()) {
	t.Helper()
	ctx, interrupt := context.WithCancel(t.Context())
	var stdout, stderr testutil.Buffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"api", "--mcp", "--address", "127.0.0.1:0"}, env, strings.NewReader(""), &stdout, &stderr)
	}()
	testutil.WaitFor(t, "micro api --mcp to serve", func() bool {
		_, rest, ok := strings.Cut(stderr.String(), "serving MCP tools on ")
		address, _, _ = strings.Cut(rest, "\n")
		return ok && strings.HasSuffix(rest, "\n")
	})
	return address, func() {
		interrupt()
		if got := <-status; got != 130 {
			t.Errorf("micro api --mcp, interrupted = %d; want 130", got)
		}
	}
}

// connectMCP connects the go-sdk's client over transport for the rest of
// the test.
func connectMCP(t *testing.T, transport sdk.Transport) *sdk.ClientSession {
	t.Helper()
	session, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "v0"}, nil).Connect(testutil.Context(t), transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session
}

// callMCP calls the tool name without arguments and returns whether the
// result is an error, and its text.
func callMCP(t *testing.T, session *sdk.ClientSession, name string) (bool, string) {
	t.Helper()
	res, err := session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil {
		t.Fatalf("%s: a protocol error: %v", name, err)
	}
	text := ""
	for _, c := range res.Content {
		if c, ok := c.(*sdk.TextContent); ok {
			text += c.Text
		}
	}
	return res.IsError, text
}

// checkMCPAccess checks that session lists the tools want and that calling
// hidden, which it does not list, is an error result containing message.
func checkMCPAccess(t *testing.T, session *sdk.ClientSession, want []string, hidden, message string) {
	t.Helper()
	var got []string
	for tool, err := range session.Tools(testutil.Context(t), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tool.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("tools/list = %v, want %v", got, want)
	}
	if isError, text := callMCP(t, session, hidden); !isError || !strings.Contains(text, message) {
		t.Errorf("%s, not listed = isError %v, %s; want an error result with %s", hidden, isError, text, message)
	}
}
