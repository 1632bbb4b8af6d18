package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/testutil"
)

// FuzzGateway sends the gateway requests of any method, path, query and
// body, in REST (paths under /v1/) and Connect (the others): none may panic it, and every answer must be an
// HTTP status a client can act on. go test runs the seeds; go test -fuzz
// FuzzGateway ./runtime/gateway searches further.
func FuzzGateway(f *testing.F) {
	for _, seed := range []struct{ method, path, body, contentType string }{
		{"GET", "/v1/shelves/1/books/2", "", ""},
		{"GET", "/v1/books/a%2Fb?name=x&name=y", "", ""},
		{"POST", "/v1/books:get", `{"name": "dune"}`, "application/json"},
		{"POST", "/v1/books:get", `{"name": `, "application/json"},
		{"POST", "/v1/shelves/1/books", `{"title": 7}`, "application/json"},
		{"PATCH", "/v1/shelves/1/books/2:x", `[]`, "application/json"},
		{"PUT", "/v1/shelves//books/", `{"book": null}`, "application/json"},
		{"DELETE", "/v1/%zz", "", ""},
		{"POST", "/http.v1.Books/GetBook", `{"name": "error-not_found"}`, "application/json"},
		{"POST", "/http.v1.Books/GetBook", "\x00\x00\x00\x00\x05hello", "application/grpc-web+proto"},
		{"POST", "/http.v1.Books/WatchBooks", "\x00\x00\x00\x00\x02\x0a\x00", "application/connect+proto"},
		{"GET", "/http.v1.Books/GetBook?connect=v1&encoding=json&message=%7B%7D", "", ""},
		{"OPTIONS", "/", "", "text/plain"},
		{"GET", "/v1/books/plain-7", "", ""},
		{"POST", "/v1/books:get", `{"name": "plain"}`, ""},
	} {
		f.Add(seed.method, seed.path, seed.body, seed.contentType)
	}
	reg := memory.New()
	startPlainBooks(f, reg, "books") // whose answers the gateway may serve without the transcoder
	g, err := gateway.New(testutil.Context(f), reg, gateway.WithLogger(quiet), gateway.WithBodyLimit(1<<10),
		gateway.WithTimeout(time.Second)) // GET /v1/books/slow waits for it
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = g.Close() })
	f.Fuzz(func(t *testing.T, method, path, body, contentType string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(testutil.Context(t), method, "http://gateway"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if !strings.HasPrefix(path, "/v1/") {
			req.Header.Set("Connect-Protocol-Version", "1") // else REST, as curl sends it
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Errorf("%s %q = status %d", method, path, rec.Code)
		}
	})
}
