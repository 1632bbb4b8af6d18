package oracle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	booksv1 "github.com/protomicro/micro/bench/gen/books/v1"
	"github.com/protomicro/micro/bench/gen/books/v1/booksv1micro"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	microserver "github.com/protomicro/micro/runtime/server"
)

// booksHandler answers as testdata/books does for http.v1.Books: every
// book is named as asked and titled "Dune", with the header x-book; a name
// ending in "error-<code>" fails with that code and an ErrorInfo detail.
// WatchBooks of shelves/late fails after its first book.
type booksHandler struct {
	booksv1micro.UnimplementedBooksHandler
}

func (booksHandler) GetBook(ctx context.Context, req *booksv1.GetBookRequest) (*booksv1.Book, error) {
	return book(ctx, req.GetName())
}

func (booksHandler) CreateBook(ctx context.Context, req *booksv1.CreateBookRequest) (*booksv1.Book, error) {
	b, err := book(ctx, req.GetParent()+"/books/1")
	if err != nil {
		return nil, err
	}
	b.Title = req.GetBook().GetTitle()
	return b, nil
}

func (booksHandler) UpdateBook(ctx context.Context, req *booksv1.UpdateBookRequest) (*booksv1.Book, error) {
	if _, err := book(ctx, req.GetBook().GetName()); err != nil {
		return nil, err
	}
	return req.GetBook(), nil
}

func (h booksHandler) ReplaceBook(ctx context.Context, req *booksv1.UpdateBookRequest) (*booksv1.Book, error) {
	return h.UpdateBook(ctx, req)
}

func (booksHandler) DeleteBook(ctx context.Context, req *booksv1.GetBookRequest) (*booksv1.Book, error) {
	return book(ctx, req.GetName())
}

func (booksHandler) Head(ctx context.Context, req *booksv1.GetBookRequest) (*booksv1.Book, error) {
	return book(ctx, req.GetName())
}

func (booksHandler) WatchBooks(ctx context.Context, req *booksv1.GetBookRequest, stream microserver.ServerStream[booksv1.Book]) error {
	for _, n := range []string{"1", "2"} {
		if n == "2" && req.GetName() == "shelves/late" {
			return errors.Errorf(errors.CodeAborted, "stopped after one book")
		}
		b, err := book(ctx, req.GetName()+"/books/"+n)
		if err != nil {
			return err
		}
		if err := stream.Send(b); err != nil {
			return err
		}
	}
	return nil
}

func book(ctx context.Context, name string) (*booksv1.Book, error) {
	if i := strings.LastIndex(name, "error-"); i >= 0 {
		var code errors.Code
		if err := code.UnmarshalText([]byte(name[i+len("error-"):])); err != nil {
			return nil, errors.New(errors.CodeInvalidArgument, err)
		}
		e := errors.Errorf(code, "asked for %s", code)
		if err := e.AddDetail(&errdetails.ErrorInfo{Reason: "BOOKS_ASKED", Domain: "books.micro.test"}); err != nil {
			return nil, err
		}
		return nil, e
	}
	_ = microserver.SetHeader(ctx, metadata.New("x-book", name))
	return &booksv1.Book{Name: name, Title: "Dune"}, nil
}

// startNode runs a micro service, which register fills, registered in reg
// as name, and returns its node's address.
func startNode(t *testing.T, reg registry.Registry, name string, register func(microserver.Server) error) string {
	t.Helper()
	svc, err := micro.NewService(name, micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := register(svc.Server()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run(%s) = %v", name, err)
		}
	})
	waitRegistered(t, reg, name)
	services, err := reg.GetService(ctx, name)
	if err != nil || len(services) == 0 || len(services[0].Nodes) == 0 {
		t.Fatalf("GetService(%s) = %v, %v, want a node", name, services, err)
	}
	return services[0].Nodes[0].Address
}

// gateways serves the services of reg behind runtime/gateway, and the
// service at address behind grpc-gateway's generated mux, which register
// fills; it returns the two base URLs.
func gateways(t *testing.T, reg registry.Registry, address string, register func(context.Context, *runtime.ServeMux, string, []grpc.DialOption) error, opts ...runtime.ServeMuxOption) (oracle, ours string) {
	t.Helper()
	ctx := testContext(t)
	mux := runtime.NewServeMux(opts...)
	if err := register(ctx, mux, address, []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}); err != nil {
		t.Fatal(err)
	}
	o := httptest.NewServer(mux)
	t.Cleanup(o.Close)
	g, err := gateway.New(ctx, reg, gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	m := httptest.NewServer(g)
	t.Cleanup(func() {
		m.Close()
		_ = g.Close()
	})
	return o.URL, m.URL
}

// request is one row of an oracle table.
type request struct {
	name, method, path, body string
	// ignoreMessage compares error bodies without their messages, which
	// are each implementation's own words (a JSON decoder's error, say).
	ignoreMessage bool
	// differs says why the two answer differently, for a difference that
	// is deliberate or not fixed yet: the test logs it instead of failing,
	// and fails once the answers agree, so that the note goes.
	differs string
}

// compare asks both gateways each request and checks that they answer
// alike.
func compare(t *testing.T, oracle, ours string, requests []request) {
	t.Helper()
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			want := ask(t, oracle, tt.method, tt.path, tt.body)
			got := ask(t, ours, tt.method, tt.path, tt.body)
			if tt.ignoreMessage {
				withoutMessages(want.Body)
				withoutMessages(got.Body)
			}
			diff := cmp.Diff(want, got)
			switch {
			case diff != "" && tt.differs == "":
				t.Errorf("%s %s %s: runtime/gateway and grpc-gateway differ (-grpc-gateway +runtime/gateway):\n%s", tt.method, tt.path, tt.body, diff)
			case diff != "":
				t.Logf("%s %s: differs as noted (%s):\n%s", tt.method, tt.path, tt.differs, diff)
			case tt.differs != "":
				t.Errorf("%s %s %s: runtime/gateway and grpc-gateway now agree; remove the note %q", tt.method, tt.path, tt.body, tt.differs)
			}
		})
	}
}

// answer is what the comparison reads of an HTTP answer.
type answer struct {
	Status int
	// Body is the body decoded as JSON (one value per line for a stream),
	// or its text when it is not JSON.
	Body []any
	// Book is the Grpc-Metadata-X-Book header.
	Book string
}

func ask(t *testing.T, base, method, path, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testContext(t), method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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
	a := answer{Status: res.StatusCode, Book: res.Header.Get("Grpc-Metadata-X-Book")}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			v = string(line)
		}
		a.Body = append(a.Body, v)
	}
	return a
}

// wrongMethod is why a route asked with the wrong method differs.
const wrongMethod = "deliberate: runtime/gateway answers a route asked with the wrong method 405 with Allow (issue 12), grpc-gateway 501"

// unknownField is why a body with a field the message does not have differs.
const unknownField = "deliberate: runtime/gateway refuses a field the message does not have (400, naming it), grpc-gateway discards it"

// withoutMessages removes the message of each error body among bodies.
func withoutMessages(bodies []any) {
	for _, b := range bodies {
		if m, ok := b.(map[string]any); ok {
			if _, ok := m["code"]; ok {
				delete(m, "message")
			}
			if e, ok := m["error"].(map[string]any); ok {
				delete(e, "message")
			}
		}
	}
}

// TestGRPCGatewayOracle serves Books behind grpc-gateway's generated mux
// and behind runtime/gateway, in front of the same micro server, and checks
// that a table of requests gets the same status, the same JSON and the same
// x-book header from both.
func TestGRPCGatewayOracle(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	address := startNode(t, reg, "books", func(s microserver.Server) error {
		return booksv1micro.RegisterBooksHandler(s, booksHandler{})
	})
	oracle, ours := gateways(t, reg, address, booksv1.RegisterBooksHandlerFromEndpoint)
	compare(t, oracle, ours, []request{
		{"get by template", "GET", "/v1/shelves/1/books/2", "", false, ""},
		{"get by additional binding", "GET", "/v1/books/dune", "", false, ""},
		{"get by post binding, body *", "POST", "/v1/books:get", `{"name": "shelves/1/books/2"}`, false, ""},
		{"get, a query parameter for a field the path binds", "GET", "/v1/books/dune?name=other", "", false, ""},
		{"get, a query parameter the request does not have", "GET", "/v1/books/dune?color=red", "", false,
			"deliberate: runtime/gateway refuses a parameter the request does not have (400), grpc-gateway ignores it"},
		{"create, a query parameter for a field the body binds", "POST", "/v1/shelves/7/books?book.title=b", "{}", false, ""},
		{"get, wrong method", "PUT", "/v1/books/dune", "", false, wrongMethod},
		{"get, trailing slash", "GET", "/v1/books/dune/", "", false, ""},
		{"get, percent-encoded slash in a single segment", "GET", "/v1/books/a%2Fb", "", false, ""},
		{"head, custom verb", "HEAD", "/v1/shelves/1/books/2", "", false, ""},
		{"get, escaped path segment", "GET", "/v1/books/a%20b", "", false, ""},
		{"get, not found", "GET", "/v1/shelves/1/books/error-not_found", "", false, ""},
		{"get, invalid argument", "GET", "/v1/shelves/1/books/error-invalid_argument", "", false, ""},
		{"get, permission denied", "GET", "/v1/shelves/1/books/error-permission_denied", "", false, ""},
		{"get, unauthenticated", "GET", "/v1/shelves/1/books/error-unauthenticated", "", false, ""},
		{"get, already exists", "GET", "/v1/shelves/1/books/error-already_exists", "", false, ""},
		{"get, resource exhausted", "GET", "/v1/shelves/1/books/error-resource_exhausted", "", false, ""},
		{"get, failed precondition", "GET", "/v1/shelves/1/books/error-failed_precondition", "", false, ""},
		{"get, aborted", "GET", "/v1/shelves/1/books/error-aborted", "", false, ""},
		{"get, out of range", "GET", "/v1/shelves/1/books/error-out_of_range", "", false, ""},
		{"get, unimplemented", "GET", "/v1/shelves/1/books/error-unimplemented", "", false, ""},
		{"get, internal", "GET", "/v1/shelves/1/books/error-internal", "", false, ""},
		{"get, unavailable", "GET", "/v1/shelves/1/books/error-unavailable", "", false, ""},
		{"get, data loss", "GET", "/v1/shelves/1/books/error-data_loss", "", false, ""},
		{"get, deadline exceeded", "GET", "/v1/shelves/1/books/error-deadline_exceeded", "", false, ""},
		{"get, canceled", "GET", "/v1/shelves/1/books/error-canceled", "", false, ""},
		{"create, body field", "POST", "/v1/shelves/7/books", `{"title": "Emma"}`, false, ""},
		{"create, empty body field", "POST", "/v1/shelves/7/books", `{}`, false, ""},
		{"update, patch body field", "PATCH", "/v1/shelves/1/books/2", `{"title": "Emma"}`, false, ""},
		{"replace, put body *, response_body", "PUT", "/v1/shelves/1/books/2", `{"book": {"title": "Emma"}}`, false, ""},
		{"delete", "DELETE", "/v1/shelves/1/books/2", "", false, ""},
		{"watch, server stream", "GET", "/v1/shelves/3/books:watch", "", false, ""},
		{"watch, failing at once", "GET", "/v1/shelves/error-not_found/books:watch", "", false, ""},
		{"watch, failing after a message", "GET", "/v1/shelves/late/books:watch", "", false, ""},
		{"watch, a query parameter for a field the path binds", "GET", "/v1/shelves/3/books:watch?name=other", "", false, ""},
		{"watch, a query parameter the request does not have", "GET", "/v1/shelves/3/books:watch?color=red", "", true,
			"deliberate: runtime/gateway refuses a parameter the request does not have (400), grpc-gateway ignores it"},
		{"watch, wrong method", "POST", "/v1/shelves/3/books:watch", "", false, wrongMethod},
		{"malformed JSON", "POST", "/v1/books:get", `{"name": `, true, ""},
		{"a body field the request does not have", "POST", "/v1/books:get", `{"name": "x", "color": "red"}`, false, unknownField},
		{"a body of the wrong type", "POST", "/v1/books:get", `{"name": 7}`, true, ""},
		{"a body that is not an object", "POST", "/v1/books:get", `[]`, true, ""},
		{"create, body field with a query parameter", "POST", "/v1/shelves/7/books?book.name=n", `{"title": "Emma"}`, false, ""},
		{"create, body field given whole", "POST", "/v1/shelves/7/books", `{"book": {"title": "Emma"}}`, false, unknownField},
		{"unknown route", "GET", "/v2/nothing", "", false, ""},
		{"template that does not match", "GET", "/v1/shelves/1", "", false, ""},
	})
}
