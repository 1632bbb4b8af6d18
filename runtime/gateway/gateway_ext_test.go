package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/books"
	bookspb "github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

// startBooks runs the Books service as name, registered in reg, until the
// test ends or stop is called.
func startBooks(t testing.TB, reg registry.Registry, name string) (stop func()) {
	t.Helper()
	return testserver.Service(t, reg, name, func(s server.Server) error { return bookspb.RegisterBooksHandler(s, books.Handler{}) })
}

// startGateway serves a gateway on reg on a loopback port.
func startGateway(t *testing.T, reg registry.Registry, opts ...gateway.Option) (*gateway.Gateway, string) {
	t.Helper()
	g, err := gateway.New(testutil.Context(t), reg, append([]gateway.Option{gateway.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return g, srv.URL
}

// response is what a test reads of an answer.
type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string, header ...string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testutil.Context(t), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(data)}
}

// book decodes a REST answer's body as a Book.
func book(t *testing.T, r response) *bookspb.Book { return decode(t, r, new(bookspb.Book)) }

// rpcStatus decodes an error answer's body as a google.rpc.Status.
func rpcStatus(t *testing.T, r response) *spb.Status { return decode(t, r, new(spb.Status)) }

func decode[M proto.Message](t *testing.T, r response, m M) M {
	t.Helper()
	if err := protojson.Unmarshal([]byte(r.body), m); err != nil {
		t.Fatalf("decode %q as a %s: %v", r.body, m.ProtoReflect().Descriptor().FullName(), err)
	}
	return m
}

func TestREST(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)
	for _, tt := range []struct {
		name, method, path, body string
		want                     *bookspb.Book
	}{
		{"path params", "GET", "/v1/shelves/1/books/2", "", &bookspb.Book{Name: "shelves/1/books/2", Title: "Dune"}},
		{"additional binding", "GET", "/v1/books/dune", "", &bookspb.Book{Name: "dune", Title: "Dune"}},
		{"additional binding with body *", "POST", "/v1/books:get", `{"name": "dune"}`, &bookspb.Book{Name: "dune", Title: "Dune"}},
		{"body field", "POST", "/v1/shelves/1/books", `{"title": "Emma"}`, &bookspb.Book{Name: "shelves/1/books/1", Title: "Emma"}},
		{"body field with a path field inside it", "PATCH", "/v1/shelves/1/books/2", `{"title": "Emma"}`, &bookspb.Book{Name: "shelves/1/books/2", Title: "Emma"}},
		{"delete", "DELETE", "/v1/shelves/1/books/2", "", &bookspb.Book{Name: "shelves/1/books/2", Title: "Dune"}},
		{"custom verb", "HEAD", "/v1/shelves/1/books/2", "", nil},
		{"escaped path param", "GET", "/v1/books/a%20b", "", &bookspb.Book{Name: "a b", Title: "Dune"}},
	} {
		r := do(t, tt.method, url+tt.path, tt.body)
		if r.status != http.StatusOK {
			t.Errorf("%s: %s %s = %d %s, want 200", tt.name, tt.method, tt.path, r.status, r.body)
			continue
		}
		if tt.want == nil {
			continue
		}
		if diff := cmp.Diff(tt.want, book(t, r), protocmp.Transform()); diff != "" {
			t.Errorf("%s: %s %s (-want +got):\n%s", tt.name, tt.method, tt.path, diff)
		}
	}

	// response_body: the answer is the field alone.
	r := do(t, "PUT", url+"/v1/shelves/1/books/2", `{"book": {"name": "shelves/1/books/2", "title": "Emma"}}`)
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != `"shelves/1/books/2"` {
		t.Errorf("PUT with response_body name = %d %s, want 200 \"shelves/1/books/2\"", r.status, r.body)
	}
}

func TestRESTStreaming(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)

	// Newline-delimited JSON, as grpc-gateway streams.
	r := do(t, "GET", url+"/v1/shelves/3/books:watch", "")
	want := `{"result":{"name":"shelves/3/books/1","title":"Dune"}}` + "\n" + `{"result":{"name":"shelves/3/books/2","title":"Dune"}}` + "\n"
	if r.status != http.StatusOK || r.body != want || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET :watch = %d %s %q, want 200 application/json %q", r.status, r.header.Get("Content-Type"), r.body, want)
	}
	if got := r.header.Get("Grpc-Metadata-X-Book"); got != "shelves/3/books/1" {
		t.Errorf("GET :watch: Grpc-Metadata-X-Book = %q, want the service's header", got)
	}

	// Server-Sent Events, for a caller that asks for them.
	r = do(t, "GET", url+"/v1/shelves/3/books:watch", "", "Accept", "text/event-stream")
	want = `data: {"name":"shelves/3/books/1","title":"Dune"}` + "\n\n" + `data: {"name":"shelves/3/books/2","title":"Dune"}` + "\n\n"
	if r.status != http.StatusOK || r.body != want || r.header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("GET :watch, text/event-stream = %d %s %q, want 200 text/event-stream %q", r.status, r.header.Get("Content-Type"), r.body, want)
	}

	if r := do(t, "POST", url+"/v1/shelves/3/books:watch", ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Errorf("POST :watch = %d %v %s, want 405 with Allow: GET", r.status, r.header, r.body)
	}

	// A stream that fails before its first message (the shelf's name is
	// not a book's) answers the error's status, and the error as the
	// stream's one event.
	for _, tt := range []struct{ accept, prefix, suffix string }{
		{"", `{"error":`, "}\n"},
		{"text/event-stream", "event: error\ndata: ", "\n\n"},
	} {
		r = do(t, "GET", url+"/v1/shelves/error-x/books:watch", "", "Accept", tt.accept)
		body, ok := strings.CutPrefix(r.body, tt.prefix)
		body, ok2 := strings.CutSuffix(body, tt.suffix)
		if r.status != http.StatusBadRequest || !ok || !ok2 {
			t.Errorf("GET :watch failing, Accept %q = %d %q, want 400 %q...%q", tt.accept, r.status, r.body, tt.prefix, tt.suffix)
			continue
		}
		st := rpcStatus(t, response{body: body})
		if codes.Code(st.GetCode()) != codes.InvalidArgument || !strings.Contains(st.GetMessage(), "x/books/1") {
			t.Errorf("GET :watch failing, Accept %q: error %v, want the service's invalid argument", tt.accept, st)
		}
	}
}

func TestRESTMistakes(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code                     codes.Code
		message                  string // in the error's message
	}{
		{"unknown route", "GET", "/v2/nothing", "", 404, codes.NotFound, "Not Found"},
		{"wrong method", "POST", "/v1/shelves/1/books/2", `{}`, 405, codes.Unimplemented, "Method Not Allowed"},
		{"malformed JSON", "POST", "/v1/books:get", `{"name": `, 400, codes.InvalidArgument, "unexpected"},
		{"unknown field", "POST", "/v1/books:get", `{"titel": "dune"}`, 400, codes.InvalidArgument, `"titel"`},
		{"unknown query parameter", "GET", "/v1/books/dune?title=x", "", 400, codes.InvalidArgument, `"title"`},
		{"body where none goes", "DELETE", "/v1/shelves/1/books/2", `{"name": "x"}`, 400, codes.InvalidArgument, "no body"},
	} {
		r := do(t, tt.method, url+tt.path, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, r.status, r.body, tt.status)
			continue
		}
		if st := rpcStatus(t, r); codes.Code(st.GetCode()) != tt.code || !strings.Contains(st.GetMessage(), tt.message) {
			t.Errorf("%s: %s %s = %s, want code %v and a message with %q", tt.name, tt.method, tt.path, r.body, tt.code, tt.message)
		}
	}
	r := do(t, "POST", url+"/v1/shelves/1/books/2", `{}`)
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "DELETE") {
		t.Errorf("wrong method: Allow = %q, want the route's methods", allow)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)
	for _, tt := range []struct {
		code   errors.Code
		status int
	}{
		{errors.CodeCanceled, 499},
		{errors.CodeUnknown, 500},
		{errors.CodeInvalidArgument, 400},
		{errors.CodeDeadlineExceeded, 504},
		{errors.CodeNotFound, 404},
		{errors.CodeAlreadyExists, 409},
		{errors.CodePermissionDenied, 403},
		{errors.CodeResourceExhausted, 429},
		{errors.CodeFailedPrecondition, 400},
		{errors.CodeAborted, 409},
		{errors.CodeOutOfRange, 400},
		{errors.CodeUnimplemented, 501},
		{errors.CodeInternal, 500},
		{errors.CodeUnavailable, 503},
		{errors.CodeDataLoss, 500},
		{errors.CodeUnauthenticated, 401},
	} {
		r := do(t, "GET", url+"/v1/books/error-"+tt.code.String(), "")
		if r.status != tt.status {
			t.Errorf("%v: status %d, want %d", tt.code, r.status, tt.status)
			continue
		}
		st := rpcStatus(t, r)
		if errors.Code(st.GetCode()) != tt.code || st.GetMessage() != "asked for "+tt.code.String() {
			t.Errorf("%v: %s, want its code and message", tt.code, r.body)
		}
		var info errdetails.ErrorInfo
		if len(st.GetDetails()) != 1 || st.GetDetails()[0].UnmarshalTo(&info) != nil || info.GetReason() != "BOOKS_ASKED" {
			t.Errorf("%v: details %v, want the handler's ErrorInfo", tt.code, st.GetDetails())
		}
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)
	r := do(t, "GET", url+"/v1/books/metadata", "",
		"Authorization", "Bearer t0ken",
		"Grpc-Metadata-Tenant", "acme",
		"Grpc-Metadata-Key-Bin", "aGk", // binary metadata, base64 ("hi")
		"Cookie", "session=1",
		"X-Request-Id", "r1")
	if r.status != http.StatusOK {
		t.Fatalf("GET = %d %s", r.status, r.body)
	}
	// The handler titles the book with the metadata it received.
	if got, want := book(t, r).GetTitle(), "authorization=Bearer t0ken;key-bin=hi;tenant=acme"; got != want {
		t.Errorf("metadata the service received = %q, want %q (nothing else crosses)", got, want)
	}
	if got := r.header.Get("Grpc-Metadata-X-Book"); got != "metadata" {
		t.Errorf("Grpc-Metadata-X-Book = %q, want the service's response header", got)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg, gateway.WithBodyLimit(64))
	if r := do(t, "POST", url+"/v1/books:get", `{"name": "short"}`); r.status != http.StatusOK {
		t.Errorf("a body under the limit = %d %s, want 200", r.status, r.body)
	}
	long := `{"name": "` + strings.Repeat("x", 100) + `"}`
	r := do(t, "POST", url+"/v1/books:get", long)
	if r.status != http.StatusRequestEntityTooLarge || codes.Code(rpcStatus(t, r).GetCode()) != codes.ResourceExhausted {
		t.Errorf("a body over the limit = %d %s, want 413 resource_exhausted", r.status, r.body)
	}
	// Without a Content-Length, the body is counted as it is read.
	req, err := http.NewRequestWithContext(testutil.Context(t), "POST", url+"/v1/books:get", io.MultiReader(strings.NewReader(long)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunked body over the limit = %d, want 413", res.StatusCode)
	}
}

func TestConnectUnary(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	_, url := startGateway(t, reg)
	// A procedure without an HTTP rule is served by procedure all the same.
	r := do(t, "POST", url+bookspb.BooksNoRouteProcedure, `{"name": "dune"}`, "Connect-Protocol-Version", "1")
	if r.status != http.StatusOK {
		t.Fatalf("Connect call = %d %s, want 200", r.status, r.body)
	}
	if diff := cmp.Diff(&bookspb.Book{Name: "dune", Title: "no route"}, book(t, r), protocmp.Transform()); diff != "" {
		t.Errorf("Connect call (-want +got):\n%s", diff)
	}
	if got := r.header.Get("Trailer-Grpc-Metadata-X-Done"); got != "yes" {
		t.Errorf("Trailer-Grpc-Metadata-X-Done = %q, want the service's trailer", got)
	}
	// connect-go serves a unary call without Connect-Protocol-Version
	// unless told to be strict; so does the gateway.
	r = do(t, "POST", url+bookspb.BooksNoRouteProcedure, `{"name": "dune"}`)
	if r.status != http.StatusOK || book(t, r).GetTitle() != "no route" {
		t.Errorf("Connect call without Connect-Protocol-Version = %d %s, want 200 and the book", r.status, r.body)
	}
	r = do(t, "POST", url+bookspb.BooksGetBookProcedure, `{"name": "error-not_found"}`, "Connect-Protocol-Version", "1")
	var e struct{ Code, Message string }
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.status != http.StatusNotFound || e.Code != "not_found" {
		t.Errorf("Connect call failing = %d %s, want 404 with a Connect error not_found", r.status, r.body)
	}
}

func TestRoutesFollowRegistry(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	g, url := startGateway(t, reg)
	if r := do(t, "GET", url+"/v1/books/dune", ""); r.status != http.StatusNotFound {
		t.Fatalf("before the service registers: %d %s, want 404", r.status, r.body)
	}
	stop := startBooks(t, reg, "books")
	registered := time.Now()
	testutil.WaitFor(t, "the route", func() bool { return len(g.Index().Routes) > 0 })
	// The figure is a second; a loaded CI machine reading the
	// schema by reflection can take longer, so the test logs the latency and
	// fails only far past it.
	elapsed := time.Since(registered)
	t.Logf("routes came %v after the service registered (target: within a second)", elapsed)
	if elapsed > 10*time.Second {
		t.Errorf("the routes came %v after the service registered, want within seconds", elapsed)
	}
	if r := do(t, "GET", url+"/v1/books/dune", ""); r.status != http.StatusOK {
		t.Errorf("after the service registered: %d %s, want 200", r.status, r.body)
	}
	stop()
	testutil.WaitFor(t, "the route to go", func() bool { return len(g.Index().Routes) == 0 })
	if r := do(t, "GET", url+"/v1/books/dune", ""); r.status != http.StatusNotFound {
		t.Errorf("after the service left: %d %s, want 404", r.status, r.body)
	}
}

func TestConflict(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books-b")
	startBooks(t, reg, "books-a")
	_, url := startGateway(t, reg)
	r := do(t, "GET", url+"/_routes", "")
	var index gateway.Index
	if err := json.Unmarshal([]byte(r.body), &index); err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /_routes = %d %s (%v)", r.status, r.body, err)
	}
	for _, route := range append(index.Routes, index.Procedures...) {
		if route.Service != "books-a" {
			t.Errorf("route %s %s is served by %q, want books-a, whose name sorts first", route.Method, route.Path, route.Service)
		}
	}
	if len(index.Routes) != 9 || len(index.Procedures) != 8 {
		t.Errorf("index has %d routes and %d procedures, want 9 and 8", len(index.Routes), len(index.Procedures))
	}
	if len(index.Conflicts) != 8 {
		t.Fatalf("index has %d conflicts, want one per procedure of the proto service both serve: %+v", len(index.Conflicts), index.Conflicts)
	}
	if c := index.Conflicts[0]; c.Winner.Service != "books-a" || c.Loser.Service != "books-b" {
		t.Errorf("conflict = %+v, want books-a winning over books-b", c)
	}
	if r := do(t, "GET", url+"/", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"conflicts"`) {
		t.Errorf("GET / = %d %s, want the index", r.status, r.body)
	}
}

// TestRESTWholeBody checks that a call by a literal route that takes the
// whole body (POST /v1/books:get), which the gateway serves without the
// transcoder where it can, is answered as the same call by a route with
// variables (GET /v1/books/{name}), which the transcoder serves: success
// with the service's headers and trailers, and failures with their details,
// each call made once.
func TestRESTWholeBody(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startBooks(t, reg, "books")
	g, url := startGateway(t, reg)
	calls := func() int {
		n := 0
		for _, m := range g.Recent("books", 2) {
			n += m.Calls
		}
		return n
	}
	for _, name := range []string{"dune", "metadata", "error-not_found", "error-unauthenticated", "error-invalid_argument"} {
		before := calls()
		whole := do(t, "POST", url+"/v1/books:get", `{"name": "`+name+`"}`, "Grpc-Metadata-Tenant", "acme")
		if n := calls() - before; n != 1 {
			t.Errorf("%s: %d calls made for one request, want 1", name, n)
		}
		byPath := do(t, "GET", url+"/v1/books/"+name, "", "Grpc-Metadata-Tenant", "acme")
		if whole.status != byPath.status || whole.body != byPath.body {
			t.Errorf("%s: POST /v1/books:get = %d %s, want %d %s as GET /v1/books/{name}", name, whole.status, whole.body, byPath.status, byPath.body)
		}
		if !reflect.DeepEqual(whole.header, byPath.header) {
			t.Errorf("%s: POST /v1/books:get headers %v, want %v as GET /v1/books/{name}", name, whole.header, byPath.header)
		}
	}
	// Bodies that do not decode are the transcoder's to answer.
	for _, body := range []string{`{"name": `, `{"title": "x"}`, `{"name": 7}`} {
		r := do(t, "POST", url+"/v1/books:get", body)
		if r.status != http.StatusBadRequest || rpcStatus(t, r).GetCode() != int32(errors.CodeInvalidArgument) {
			t.Errorf("POST /v1/books:get %s = %d %s, want 400 InvalidArgument", body, r.status, r.body)
		}
	}
}
