package gateway_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/internal/testserver"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/books"
	bookspb "github.com/protomicro/micro/testdata/golden/http"
)

// plainBooks is the Books service, but for a few names GetBook answers
// otherwise: a name that starts with "plain" gets its book without the
// header and trailer every other answer carries (so that the gateway may
// answer it without the transcoder), "plain-big" a title of a kilobyte,
// one ending in "deadline" a book titled with whether its call came with a deadline
// ("set" or "none"), and "slow" no answer until its call is canceled.
type plainBooks struct{ books.Handler }

func (h plainBooks) GetBook(ctx context.Context, req *bookspb.GetBookRequest) (*bookspb.Book, error) {
	switch name := req.GetName(); {
	case name == "plain-big":
		return &bookspb.Book{Name: name, Title: strings.Repeat("x", 1<<10)}, nil
	case strings.HasPrefix(name, "plain"):
		return &bookspb.Book{Name: name, Title: "Dune"}, nil
	case strings.HasSuffix(name, "deadline"):
		title := "none"
		if _, ok := ctx.Deadline(); ok {
			title = "set"
		}
		return &bookspb.Book{Name: name, Title: title}, nil
	case name == "slow":
		<-ctx.Done()
		return nil, errors.New(errors.CodeCanceled, ctx.Err())
	}
	return h.Handler.GetBook(ctx, req)
}

func startPlainBooks(t testing.TB, reg registry.Registry, name string) {
	t.Helper()
	testserver.Service(t, reg, name, func(s server.Server) error { return bookspb.RegisterBooksHandler(s, plainBooks{}) })
}

// TestRESTDirect checks that the REST calls the gateway answers without
// the transcoder (literal routes that take the whole body, and routes
// with simple variables) are answered as the transcoder answers them: the
// same calls to a gateway that sends every call through the transcoder,
// in front of the same service, get the same status, headers and body,
// each call made once. It checks too that the calls meant to be served so
// are, and the others are not.
func TestRESTDirect(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startPlainBooks(t, reg, "books")
	var served atomic.Int64
	g, direct := startGateway(t, reg, gateway.WithServed(func() { served.Add(1) }))
	_, transcoded := startGateway(t, reg, gateway.WithTranscodeAll())
	calls := func() int {
		n := 0
		for _, m := range g.Recent("books", 2) {
			n += m.Calls
		}
		return n
	}
	for _, c := range []struct {
		method, path, body string
		direct             bool // served without the transcoder
		counted            bool // a call counted (by Gateway.Recent), made or not
	}{
		{"GET", "/v1/books/plain", "", true, true},
		{"GET", "/v1/books/plain-1.a_b~c", "", true, true},
		{"POST", "/v1/books:get", `{"name": "plain"}`, true, true},
		{"POST", "/v1/books:get", `{"name": "plain", "unknown": 1}`, false, true},
		{"POST", "/v1/books:get", `{"name": `, false, true},
		{"POST", "/v1/books:get", "", false, true}, // {}
		{"GET", "/v1/books/dune", "", false, true}, // the answer has metadata
		{"GET", "/v1/books/error-not_found", "", false, true},
		{"GET", "/v1/books/error-invalid_argument", "", false, true},
		{"GET", "/v1/books/plain%20space", "", false, true}, // escaped: the transcoder's
		{"GET", "/v1/books/plain%2Fslash", "", false, false},
		{"GET", "/v1/books/plain:colon", "", false, true},
		{"GET", "/v1/books/plain?title=x", "", false, true},
		{"GET", "/v1/books/plain", `{"name": "body"}`, false, true}, // a body the rule does not take
		{"GET", "/v1/shelves/1/books/plain", "", false, true},       // a pattern
		{"GET", "/v1/books/plain/more", "", false, false},           // no route
		{"DELETE", "/v1/books/plain", "", false, false},             // no route for the method
	} {
		name := c.method + " " + c.path + " " + c.body
		before, servedBefore := calls(), served.Load()
		got := do(t, c.method, direct+c.path, c.body)
		if n := calls() - before; c.counted && n != 1 || !c.counted && n != 0 {
			t.Errorf("%s: %d calls counted, want counted %v", name, n, c.counted)
		}
		if d := served.Load() - servedBefore; (d == 1) != c.direct {
			t.Errorf("%s: served without the transcoder %d times, want %v", name, d, c.direct)
		}
		want := do(t, c.method, transcoded+c.path, c.body)
		if got.status != want.status || got.body != want.body {
			t.Errorf("%s = %d %s, want %d %s as the transcoder answers", name, got.status, got.body, want.status, want.body)
		}
		if !reflect.DeepEqual(got.header, want.header) {
			t.Errorf("%s: headers %v, want %v as the transcoder answers", name, got.header, want.header)
		}
	}
}

// TestRESTDirectBodyLimit checks the body limit on the calls the gateway
// answers without the transcoder as on those it does not: a request over
// it is 413 either way, and an answer over it is answered as the
// transcoder answers it.
func TestRESTDirectBodyLimit(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startPlainBooks(t, reg, "books")
	var served atomic.Int64
	_, direct := startGateway(t, reg, gateway.WithBodyLimit(256), gateway.WithServed(func() { served.Add(1) }))
	_, transcoded := startGateway(t, reg, gateway.WithBodyLimit(256), gateway.WithTranscodeAll())
	long := `{"name": "plain-` + strings.Repeat("x", 300) + `"}`
	for _, url := range []string{direct, transcoded} {
		if r := do(t, "POST", url+"/v1/books:get", long); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST /v1/books:get with a body over the limit = %d %s, want 413", r.status, r.body)
		}
	}
	got := do(t, "GET", direct+"/v1/books/plain-big", "")
	want := do(t, "GET", transcoded+"/v1/books/plain-big", "")
	if got.status == http.StatusOK || got.status != want.status || got.body != want.body {
		t.Errorf("GET /v1/books/plain-big, an answer over the limit, = %d %s, want %d %s as the transcoder answers, not 200", got.status, got.body, want.status, want.body)
	}
	if r := do(t, "GET", direct+"/v1/books/plain", ""); r.status != http.StatusOK || served.Load() != 1 {
		t.Errorf("GET /v1/books/plain under the limit = %d %s, served directly %d times, want 200 once", r.status, r.body, served.Load())
	}
}

// TestDefaultTimeout checks that a call whose request names no deadline is
// bounded by the gateway's default timeout without being sent it (the
// service sees no deadline, as behind grpc-gateway), and that a deadline
// the request names is sent.
func TestDefaultTimeout(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	startPlainBooks(t, reg, "books")
	_, url := startGateway(t, reg, gateway.WithTimeout(300*time.Millisecond))
	for _, c := range []struct {
		header []string
		want   string
	}{
		{nil, "none"},
		{[]string{"Grpc-Timeout", "10S"}, "set"},
		{[]string{"Connect-Timeout-Ms", "10000"}, "set"},
	} {
		for _, call := range []struct{ method, path, body string }{
			{"GET", "/v1/books/deadline", ""},                 // the transcoder's
			{"POST", "/v1/books:get", `{"name": "deadline"}`}, // the gateway's own
			{"GET", "/v1/shelves/1/books/deadline", ""},
		} {
			r := do(t, call.method, url+call.path, call.body, c.header...)
			if got := book(t, r).GetTitle(); r.status != http.StatusOK || got != c.want {
				t.Errorf("%s %s with headers %q = %d %s, want the service to see deadline %q", call.method, call.path, c.header, r.status, r.body, c.want)
			}
		}
	}
	start := time.Now()
	r := do(t, "GET", url+"/v1/books/slow", "")
	if r.status != http.StatusGatewayTimeout || time.Since(start) > 5*time.Second {
		t.Errorf("GET /v1/books/slow = %d %s after %v, want 504 after the default timeout of 300ms", r.status, r.body, time.Since(start))
	}
}
