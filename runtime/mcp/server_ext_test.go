package mcp_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/mcp"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/books"
	commentspb "github.com/protomicro/micro/testdata/golden/comments"
	bookspb "github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

// library answers Lend; Return and Undocumented are unimplemented.
type library struct {
	commentspb.UnimplementedLibraryHandler
}

func (library) Lend(context.Context, *commentspb.LendRequest) (*commentspb.LendResponse, error) {
	return &commentspb.LendResponse{}, nil
}

func startBooks(t *testing.T, reg registry.Registry) func() {
	return testserver.Service(t, reg, "books", func(s server.Server) error { return bookspb.RegisterBooksHandler(s, books.Handler{}) })
}

func startLibrary(t *testing.T, reg registry.Registry) func() {
	return testserver.Service(t, reg, "library", func(s server.Server) error { return commentspb.RegisterLibraryHandler(s, library{}) })
}

// connect serves s to a go-sdk client over transport ("memory" or "http")
// and returns the client's session; changed receives a value on each
// tools/list_changed notification.
func connect(t *testing.T, s *mcp.Server, transport string) (session *sdk.ClientSession, changed chan struct{}) {
	session, changed, _ = connectProgress(t, s, transport)
	return session, changed
}

// connectProgress is connect, and progress receives the progress
// notifications.
func connectProgress(t *testing.T, s *mcp.Server, transport string) (session *sdk.ClientSession, changed chan struct{}, progress chan *sdk.ProgressNotificationParams) {
	t.Helper()
	ctx := testutil.Context(t)
	changed = make(chan struct{}, 16)
	progress = make(chan *sdk.ProgressNotificationParams, 16)
	c := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "v0"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			progress <- req.Params
		},
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	var ct sdk.Transport
	switch transport {
	case "memory":
		st, clientSide := sdk.NewInMemoryTransports()
		ct = clientSide
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.Run(runCtx, st) // ends with an error when the test cancels it
		}()
		t.Cleanup(func() { cancel(); <-done })
	case "http":
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		ct = &sdk.StreamableClientTransport{Endpoint: srv.URL}
	}
	session, err := c.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session, changed, progress
}

func listTools(t *testing.T, session *sdk.ClientSession) map[string]*sdk.Tool {
	t.Helper()
	tools := make(map[string]*sdk.Tool)
	for tool, err := range session.Tools(testutil.Context(t), nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools[tool.Name] = tool
	}
	return tools
}

func TestServer(t *testing.T) {
	reg := memory.New()
	startBooks(t, reg)
	stopLibrary := startLibrary(t, reg)
	s, err := mcp.New(testutil.Context(t), reg, mcp.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	for _, transport := range []string{"memory", "http"} {
		t.Run(transport, func(t *testing.T) {
			session, _, progress := connectProgress(t, s, transport)
			tools := listTools(t, session)
			var names []string
			for name := range tools {
				names = append(names, name)
			}
			slices.Sort(names)
			want := []string{
				"books_CreateBook", "books_DeleteBook", "books_GetBook", "books_Head", "books_NoRoute", "books_ReplaceBook", "books_UpdateBook", "books_WatchBooks",
				"library_Lend", "library_Return", "library_Undocumented",
			}
			if !slices.Equal(names, want) {
				t.Fatalf("tools = %q, want %q", names, want)
			}

			lend := tools["library_Lend"]
			if lend.Description != "Lend lends a book.\nThe comment spans lines." {
				t.Errorf("library_Lend description = %q, want the proto comment", lend.Description)
			}
			if d := tools["library_Undocumented"].Description; !strings.Contains(d, "/comments.v1.Library/Undocumented") {
				t.Errorf("library_Undocumented description = %q, want it to name the procedure", d)
			}
			get := tools["books_GetBook"]
			if a := get.Annotations; a == nil || !a.ReadOnlyHint || !a.IdempotentHint {
				t.Errorf("books_GetBook annotations = %+v, want read-only and idempotent (NO_SIDE_EFFECTS)", a)
			}
			if a := tools["books_UpdateBook"].Annotations; a == nil || a.ReadOnlyHint || !a.IdempotentHint {
				t.Errorf("books_UpdateBook annotations = %+v, want idempotent, not read-only", a)
			}
			if a := tools["books_CreateBook"].Annotations; a == nil || a.ReadOnlyHint || a.IdempotentHint {
				t.Errorf("books_CreateBook annotations = %+v, want no hints", a)
			}
			schema := jsonOf(t, tools["books_CreateBook"].InputSchema)
			for _, part := range []string{`"parent":{"type":"string"}`, `"book":{"$ref":"#/$defs/http.v1.Book"}`, `"http.v1.Book":{"additionalProperties":false,"properties":{"name":{"type":"string"},"title":{"type":"string"}},"type":"object"}`} {
				if !strings.Contains(schema, part) {
					t.Errorf("books_CreateBook input schema = %s, want it to hold %s", schema, part)
				}
			}
			if out := jsonOf(t, get.OutputSchema); !strings.Contains(out, `"title":{"type":"string"}`) {
				t.Errorf("books_GetBook output schema = %s, want the Book's fields", out)
			}

			res, err := session.CallTool(testutil.Context(t), &sdk.CallToolParams{
				Name:      "books_CreateBook",
				Arguments: map[string]any{"parent": "shelves/1", "book": map[string]any{"title": "Emma"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError {
				t.Fatalf("books_CreateBook isError: %s", text(res))
			}
			if got := jsonOf(t, res.StructuredContent); got != `{"name":"shelves/1/books/1","title":"Emma"}` {
				t.Errorf("books_CreateBook structuredContent = %s", got)
			}
			if got := text(res); got != `{"name":"shelves/1/books/1","title":"Emma"}` {
				t.Errorf("books_CreateBook text = %s", got)
			}

			// A server stream is collected, with progress notifications.
			params := &sdk.CallToolParams{Name: "books_WatchBooks", Arguments: map[string]any{"name": "shelves/7"}}
			params.SetProgressToken("watch")
			res, err = session.CallTool(testutil.Context(t), params)
			if err != nil {
				t.Fatal(err)
			}
			if got := jsonOf(t, res.StructuredContent); res.IsError || got != `{"responses":[{"name":"shelves/7/books/1","title":"Dune"},{"name":"shelves/7/books/2","title":"Dune"}]}` {
				t.Errorf("books_WatchBooks = isError %v, %s; want both books", res.IsError, got)
			}
			for want := 1; want <= 2; want++ {
				select {
				case p := <-progress:
					if p.ProgressToken != "watch" || p.Progress != float64(want) {
						t.Errorf("progress notification %d = %+v", want, p)
					}
				case <-testutil.Context(t).Done():
					t.Fatalf("progress notification %d did not come", want)
				}
			}
			if out := jsonOf(t, tools["books_WatchBooks"].OutputSchema); !strings.Contains(out, `"responses":{"description":"the responses, in the order the service sent them","items":{"$ref":"#/$defs/http.v1.Book"},"type":"array"}`) {
				t.Errorf("books_WatchBooks output schema = %s, want a list of books", out)
			}

			// A failure is a result with isError, never a protocol error.
			res, err = session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: "books_GetBook", Arguments: map[string]any{"name": "error-not_found"}})
			if err != nil {
				t.Fatalf("a failing call is a protocol error: %v", err)
			}
			var failure struct {
				Code    string           `json:"code"`
				Message string           `json:"message"`
				Details []map[string]any `json:"details"`
			}
			if err := json.Unmarshal([]byte(text(res)), &failure); err != nil {
				t.Fatalf("error text %q: %v", text(res), err)
			}
			if !res.IsError || failure.Code != "not_found" || failure.Message != "asked for not_found" ||
				len(failure.Details) != 1 || failure.Details[0]["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" || failure.Details[0]["reason"] != "BOOKS_ASKED" {
				t.Errorf("failing call = isError %v, %s; want not_found with its ErrorInfo", res.IsError, text(res))
			}
			res, err = session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: "books_GetBook", Arguments: map[string]any{"nme": "x"}})
			if err != nil || !res.IsError || !strings.Contains(text(res), `"code":"invalid_argument"`) || !strings.Contains(text(res), "nme") {
				t.Errorf("call with an unknown field = %v, %v; want an invalid_argument error result naming it", err, text(res))
			}
		})
	}

	// The list follows the registry.
	session, changed := connect(t, s, "memory")
	stopLibrary()
	select {
	case <-changed:
	case <-testutil.Context(t).Done():
		t.Fatal("no tools/list_changed notification")
	}
	if _, ok := listTools(t, session)["library_Lend"]; ok {
		t.Error("library_Lend is listed after the library left")
	}
	if _, ok := listTools(t, session)["books_GetBook"]; !ok {
		t.Error("books_GetBook went with the library")
	}
}

func TestServerLimits(t *testing.T) {
	reg := memory.New()
	startBooks(t, reg)
	s, err := mcp.New(testutil.Context(t), reg, mcp.WithLogger(quiet), mcp.WithResponseLimit(60), mcp.WithStreamLimit(1),
		mcp.WithFilter(func(_ context.Context, tool mcp.ToolInfo) bool { return tool.Spec.Method() != "DeleteBook" }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	session, _ := connect(t, s, "memory")
	tools := listTools(t, session)
	if _, ok := tools["books_DeleteBook"]; ok {
		t.Error("the filter refuses books_DeleteBook, but it is listed")
	}
	if _, ok := tools["books_GetBook"]; !ok {
		t.Error("books_GetBook is not listed")
	}
	res, err := session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: "books_WatchBooks", Arguments: map[string]any{"name": "s"}})
	if got := jsonOf(t, res.StructuredContent); err != nil || got != `{"responses":[{"name":"s/books/1","title":"Dune"}],"truncated":true}` {
		t.Errorf("books_WatchBooks with a stream limit of 1 = %v, %s; want one book, truncated", err, got)
	}
	for name, code := range map[string]string{"books_DeleteBook": "permission_denied", "books_GetBook": "resource_exhausted"} {
		res, err := session.CallTool(testutil.Context(t), &sdk.CallToolParams{Name: name, Arguments: map[string]any{"name": "shelves/1/books/2" + strings.Repeat("2", 40)}})
		if err != nil || !res.IsError || !strings.Contains(text(res), `"code":"`+code+`"`) {
			t.Errorf("call %s = %v, %s; want a %s error result", name, err, text(res), code)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
