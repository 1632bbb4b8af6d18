package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestMCP connects the go-sdk's MCP client to micro mcp (stdio) and to
// micro api --mcp (streamable HTTP at /mcp), in front of the world's
// services, and uses the echo service's tool as a model would.
func TestMCP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	t.Run("stdio", func(t *testing.T) {
		ctx, interrupt := context.WithCancel(t.Context())
		defer interrupt()
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		var stderr testutil.Buffer
		status := make(chan int, 1)
		go func() {
			status <- run(ctx, []string{"mcp"}, w.env, inR, outW, &stderr)
			_ = outW.Close()
		}()
		checkMCPTools(t, &sdk.IOTransport{Reader: outR, Writer: inW})
		_ = inW.Close() // the client leaves: micro mcp ends, with status 0
		if got := <-status; got != 0 {
			t.Errorf("micro mcp, its client gone = %d, stderr %q; want 0", got, stderr.String())
		}
	})
	t.Run("http", func(t *testing.T) {
		ctx, interrupt := context.WithCancel(t.Context())
		defer interrupt()
		var stdout, stderr testutil.Buffer
		status := make(chan int, 1)
		go func() {
			status <- run(ctx, []string{"api", "--mcp", "--address", "127.0.0.1:0"}, w.env, strings.NewReader(""), &stdout, &stderr)
		}()
		address := ""
		testutil.WaitFor(t, "micro api --mcp to serve", func() bool {
			_, rest, ok := strings.Cut(stderr.String(), "serving MCP tools on ")
			address, _, _ = strings.Cut(rest, "\n")
			return ok && strings.HasSuffix(rest, "\n")
		})
		checkMCPTools(t, &sdk.StreamableClientTransport{Endpoint: address})
		interrupt()
		if got := <-status; got != 130 {
			t.Errorf("micro api --mcp, interrupted = %d; want 130", got)
		}
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
	if want := `"properties":{"message":{"type":"string"},"payload":{"contentEncoding":"base64","type":"string"}}`; !strings.Contains(string(input), want) {
		t.Errorf("echo_Echo input schema = %s, want %s", input, want)
	}
	output, _ := json.Marshal(echo.OutputSchema)
	if want := `"deadlineMs":{"description":"a 64-bit integer, in decimal","pattern":"^-?[0-9]+$","type":"string"}`; !strings.Contains(string(output), want) {
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
