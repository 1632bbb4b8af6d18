package oracle_test

import (
	"context"
	"testing"

	restv1 "github.com/protomicro/micro/bench/gen/rest/v1"
	"github.com/protomicro/micro/bench/gen/rest/v1/restv1micro"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/registry/memory"
	microserver "github.com/protomicro/micro/runtime/server"
)

// restHandler answers every call of rest.v1.RestService with the request
// it decoded; Fail fails with the code its request names.
type restHandler struct {
	restv1micro.UnimplementedRestServiceHandler
}

func (restHandler) Get(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) GetNested(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}

func (restHandler) GetPattern(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}
func (restHandler) GetRest(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}
func (restHandler) Peek(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) GetLiteral(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}
func (restHandler) List(_ context.Context, req *restv1.Item) (*restv1.Item, error)   { return req, nil }
func (restHandler) Create(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) CreateSub(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}
func (restHandler) Update(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) Replace(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}
func (restHandler) Delete(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) GetSub(_ context.Context, req *restv1.Item) (*restv1.Item, error) { return req, nil }
func (restHandler) GetAnywhere(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	return req, nil
}

func (restHandler) Fail(_ context.Context, req *restv1.Item) (*restv1.Item, error) {
	var code errors.Code
	if err := code.UnmarshalText([]byte(req.GetCode())); err != nil {
		return nil, errors.New(errors.CodeInvalidArgument, err)
	}
	return nil, errors.Errorf(code, "failed as asked")
}

// TestRESTOracle serves rest.v1.RestService, whose methods answer with the
// request they decoded, behind grpc-gateway's generated mux and behind
// runtime/gateway, and checks that both map a table of REST requests onto
// the same messages, and answer the same statuses.
func TestRESTOracle(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	address := startNode(t, reg, "rest", func(s microserver.Server) error {
		return restv1micro.RegisterRestServiceHandler(s, restHandler{})
	})
	oracle, ours := gateways(t, reg, address, restv1.RegisterRestServiceHandlerFromEndpoint)
	compare(t, oracle, ours, []request{
		// Path templates.
		{name: "single segment", method: "GET", path: "/v1/items/7"},
		{name: "single segment, escaped", method: "GET", path: "/v1/items/a%20b"},
		{name: "single segment, escaped slash", method: "GET", path: "/v1/items/a%2Fb"},
		{name: "single segment, unicode", method: "GET", path: "/v1/items/%C3%A9t%C3%A9"},
		{name: "nested field", method: "GET", path: "/v1/shelves/s1/items/7"},
		{name: "pattern", method: "GET", path: "/v1/rooms/r1/items/7"},
		{name: "pattern, too few segments", method: "GET", path: "/v1/rooms/r1"},
		{name: "double wildcard", method: "GET", path: "/v1/files/a/b/c.txt"},
		{name: "double wildcard, one segment", method: "GET", path: "/v1/files/a"},
		{name: "custom verb", method: "GET", path: "/v1/items/7:peek"},
		{name: "unknown verb", method: "GET", path: "/v1/items/7:poke"},
		{name: "literal", method: "GET", path: "/v1/literal/items"},
		{name: "trailing slash", method: "GET", path: "/v1/items/7/"},
		{name: "unknown path", method: "GET", path: "/v9/items"},

		// Query parameters.
		{name: "query, every scalar", method: "GET", path: "/v1/items?id=1&name=n&page=3&flag=true&ratio=0.5&big=12345678901&code=c"},
		{name: "query, repeated", method: "GET", path: "/v1/items?tags=a&tags=b&numbers=1&numbers=2"},
		{name: "query, nested", method: "GET", path: "/v1/items?sub.shelf=s&sub.title=t&sub.count=2"},
		{name: "query, enum by name", method: "GET", path: "/v1/items?color=COLOR_RED"},
		{name: "query, enum by number", method: "GET", path: "/v1/items?color=2"},
		{name: "query, bytes", method: "GET", path: "/v1/items?data=aGk%3D"},
		{name: "query, timestamp", method: "GET", path: "/v1/items?at=2024-01-02T03:04:05Z"},
		{name: "query, wrapper", method: "GET", path: "/v1/items?maybe=5"},
		{name: "query, escaped value", method: "GET", path: "/v1/items?name=a%26b%3Dc"},
		{name: "query, empty value", method: "GET", path: "/v1/items?name="},
		{name: "query, bad int", method: "GET", path: "/v1/items?page=x", ignoreMessage: true},
		{name: "query, bad bool", method: "GET", path: "/v1/items?flag=maybe", ignoreMessage: true},
		{name: "query, bad enum", method: "GET", path: "/v1/items?color=COLOR_GREEN", ignoreMessage: true},
		{name: "query, int out of range", method: "GET", path: "/v1/items?page=99999999999", ignoreMessage: true},
		{name: "query, with path", method: "GET", path: "/v1/items/7?name=n&tags=a"},
		{name: "query, on a delete", method: "DELETE", path: "/v1/items/7?name=n"},
		{name: "query, for a field the path binds", method: "GET", path: "/v1/items/7?id=8&name=n"},
		{name: "query, for a nested field the path binds", method: "GET", path: "/v1/shelves/s1/items/7?sub.shelf=s2&sub.title=t"},
		{name: "query, for the message holding a field the path binds", method: "GET", path: "/v1/shelves/s1/items/7?sub=x", ignoreMessage: true},
		{name: "query, for a field a pattern binds", method: "GET", path: "/v1/rooms/r1/items/7?name=other"},
		{name: "query, on body *", method: "POST", path: "/v1/items?name=n&page=2", body: `{"id": "1"}`},
		{name: "query, for the body field", method: "POST", path: "/v1/shelves/7/items?sub.title=q&name=n", body: `{"title": "t"}`},
		{name: "query, verb route", method: "GET", path: "/v1/items/7:peek?id=8&name=n"},

		// Bodies.
		{name: "body *", method: "POST", path: "/v1/items", body: `{"id": "1", "tags": ["a", "b"], "sub": {"title": "t"}, "color": "COLOR_BLUE", "big": "9"}`},
		{name: "body *, proto field names", method: "POST", path: "/v1/items", body: `{"id": "1", "sub": {"shelf": "s"}}`},
		{name: "body *, empty object", method: "POST", path: "/v1/items", body: `{}`},
		{name: "body *, no body", method: "POST", path: "/v1/items"},
		{name: "body *, malformed", method: "POST", path: "/v1/items", body: `{"id": `, ignoreMessage: true},
		{name: "body *, wrong type", method: "POST", path: "/v1/items", body: `{"page": "many"}`, ignoreMessage: true},
		{name: "body *, null field", method: "POST", path: "/v1/items", body: `{"name": null}`},
		{name: "body *, timestamp and wrapper", method: "POST", path: "/v1/items", body: `{"at": "2024-01-02T03:04:05Z", "maybe": 0}`},
		{name: "body field", method: "POST", path: "/v1/shelves/7/items", body: `{"title": "t", "count": 2}`},
		{name: "body field, query for other fields", method: "POST", path: "/v1/shelves/7/items?name=n&page=2", body: `{"title": "t"}`},
		{name: "body field, patch", method: "PATCH", path: "/v1/items/7", body: `{"title": "t"}`},
		{name: "body *, put with path", method: "PUT", path: "/v1/items/7", body: `{"name": "n"}`},
		{name: "body *, put, path and body disagree", method: "PUT", path: "/v1/items/7", body: `{"id": "8"}`},

		// Answers.
		{name: "response body", method: "GET", path: "/v1/items/7/sub?sub.title=t"},
		{name: "response body, unset", method: "GET", path: "/v1/items/7/sub"},
		{name: "additional binding, first", method: "GET", path: "/v1/a/1"},
		{name: "additional binding, second", method: "GET", path: "/v1/b/1"},
		{name: "additional binding, with body", method: "POST", path: "/v1/c/1", body: `{"name": "n"}`},
		{name: "wrong method", method: "POST", path: "/v1/a/1", differs: wrongMethod},
		{name: "fail, not found", method: "GET", path: "/v1/fail/not_found"},
		{name: "fail, invalid argument", method: "GET", path: "/v1/fail/invalid_argument"},
		{name: "fail, failed precondition", method: "GET", path: "/v1/fail/failed_precondition"},
		{name: "fail, permission denied", method: "GET", path: "/v1/fail/permission_denied"},
		{name: "fail, unauthenticated", method: "GET", path: "/v1/fail/unauthenticated"},
		{name: "fail, resource exhausted", method: "GET", path: "/v1/fail/resource_exhausted"},
		{name: "fail, unimplemented", method: "GET", path: "/v1/fail/unimplemented"},
		{name: "fail, unavailable", method: "GET", path: "/v1/fail/unavailable"},
		{name: "fail, deadline exceeded", method: "GET", path: "/v1/fail/deadline_exceeded"},
		{name: "fail, internal", method: "GET", path: "/v1/fail/internal"},
		{name: "fail, unknown", method: "GET", path: "/v1/fail/unknown"},
	})
}
