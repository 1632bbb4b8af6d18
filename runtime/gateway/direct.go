package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/rpc"
)

// The gateway serves the plainest REST calls itself, without the
// transcoder: a unary method's route whose template is a literal path (a
// verb allowed) and whose rule takes the whole body (POST /v1/echo, body
// "*"), called with a JSON body and no query. The transcoder's work for them (its operation's
// header copies, its protocol checks, a round of gRPC framing between it
// and serveUnary) costs about a quarter of such a call. The answer is the
// transcoder's, made with the same codecs: where anything may differ (the
// body does not decode, the service fails or answers with metadata, the
// answer does not encode, a message is over the body limit) the request goes to the transcoder, with the
// outcome of the call if it was made, so that the call is made once and
// answered the way the transcoder answers it.

// directRoute is a route the gateway serves itself.
type directRoute struct {
	method string
	b      *backend
	spec   rpc.Spec
	// in and out are the method's message types; json and proto the
	// codecs the transcoder uses for them.
	in, out protoreflect.MessageType
	json    vanguard.Codec
	proto   vanguard.Codec
}

// directRoutes returns, by path, the routes of the table the gateway may
// serve itself: unary, a literal template no other route's matches, body
// "*", no response_body, and messages that are not google.api.HttpBody.
func directRoutes(backends map[string]*backend, routes []Route, templates []template, c *codecs) map[string]*directRoute {
	direct := make(map[string]*directRoute)
	types := make(map[*backend]typeResolver)
	for _, route := range routes {
		if route.Body != "*" || route.ResponseBody != "" || strings.ContainsAny(route.Path, "{}*%") || !strings.HasPrefix(route.Path, "/") {
			continue
		}
		b := backends[route.Service]
		if b == nil || b.specs[route.Procedure].StreamType != rpc.Unary {
			continue
		}
		segments := strings.Split(strings.TrimPrefix(route.Path, "/"), "/")
		matches := 0
		for _, t := range templates {
			if t.match(route.Method, segments) {
				matches++
			}
		}
		if matches != 1 || direct[route.Path] != nil {
			continue // a template with variables matches it too, or the path is taken by another method
		}
		name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(route.Procedure, "/"), "/", "."))
		d, err := b.files.FindDescriptorByName(name)
		md, ok := d.(protoreflect.MethodDescriptor)
		if err != nil || !ok || httpBody(md.Input()) || httpBody(md.Output()) {
			continue
		}
		resolver, ok := types[b]
		if !ok {
			resolver = newTypeResolver(b.files)
			types[b] = resolver
		}
		in, err := resolver.FindMessageByName(md.Input().FullName())
		if err != nil {
			continue
		}
		out, err := resolver.FindMessageByName(md.Output().FullName())
		if err != nil {
			continue
		}
		direct[route.Path] = &directRoute{
			method: route.Method, b: b, spec: b.specs[route.Procedure],
			in: in, out: out, json: c.newJSON(resolver), proto: c.newProto(resolver),
		}
	}
	return direct
}

// answersMetadata reports whether a REST answer carries any of md, the
// headers or trailers of a service's answer (see incoming).
func answersMetadata(md map[string][]string) bool {
	for key := range md {
		if answered(key) {
			return true
		}
	}
	return false
}

// httpBody reports whether md is google.api.HttpBody, which the transcoder
// reads and writes as the raw body.
func httpBody(md protoreflect.MessageDescriptor) bool {
	return md.FullName() == "google.api.HttpBody"
}

// jsonType is the Content-Type of a REST answer; shared, full and never
// written.
var jsonType = []string{"application/json"}

// serveDirect serves the REST request r, whose body is body, if it is one
// the gateway serves itself (see directRoute), and reports whether it did.
// If not, r is returned to be served by the transcoder: with the outcome of
// the call in its context if the call was made.
func (g *Gateway) serveDirect(w http.ResponseWriter, r *http.Request, t *table, body []byte) (*http.Request, bool) {
	route := t.direct[r.URL.Path]
	if route == nil || route.method != r.Method || len(body) == 0 || r.URL.RawQuery != "" || r.URL.RawPath != "" {
		return r, false
	}
	h := r.Header
	if contentType := h.Get("Content-Type"); contentType != "application/json" && contentType != "application/json; charset=utf-8" && contentType != "" {
		return r, false
	}
	if len(h["Content-Encoding"]) > 0 || len(h["Grpc-Timeout"]) > 0 || len(h["X-Server-Timeout"]) > 0 {
		return r, false
	}
	pairs, err := outgoingHeaders(h)
	if err != nil {
		return r, false
	}
	in := route.in.New().Interface()
	if route.json.Unmarshal(body, in) != nil {
		return r, false
	}
	req, err := route.proto.MarshalAppend(nil, in)
	if err != nil || int64(len(req)) > g.config.bodyLimit {
		return r, false // the transcoder's limit on messages is bodyLimit
	}
	ctx, cancel := g.defaultTimeout(r.Context())
	defer cancel()
	made := g.callUnary(ctx, route.b, route.spec, pairs, func() (grpcwire.Frame, error) { return req, nil })
	if made.err == nil && int64(len(made.res)) <= g.config.bodyLimit && !answersMetadata(made.header) && !answersMetadata(made.trailer) {
		out := route.out.New().Interface()
		if route.proto.Unmarshal(made.res, out) == nil {
			if data, err := route.json.MarshalAppend(nil, out); err == nil {
				wh := w.Header()
				wh["Content-Type"] = jsonType
				wh["Content-Length"] = []string{strconv.Itoa(len(data))}
				wh["Date"] = nil
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(data)
				return r, true
			}
		}
	}
	return r.WithContext(context.WithValue(r.Context(), outcomeKey{}, made)), false
}
