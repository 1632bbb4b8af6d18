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
// verb allowed) or has only simple variables ({id}, a whole segment
// binding a top-level string or integer field), and whose rule takes the
// whole body or none (POST /v1/echo with body "*", GET /v1/things/{id}),
// called with a JSON body (or none, for a rule that takes none) and no
// query. The transcoder's work for them (its operation's header copies,
// its protocol checks, a round of gRPC framing between it and serveUnary)
// costs about a quarter of such a call. The answer is the transcoder's,
// made with the same codecs and the same order (the body, then the path's
// variables over it): where anything may differ (the body does not decode,
// a variable's value is not plainly a string or an integer, another
// route's template matches the path too, the service fails or answers with
// metadata, the answer does not encode, a message is over the body limit)
// the request goes to the transcoder, with the outcome of the call if it
// was made, so that the call is made once and answered the way the
// transcoder answers it.

// directRoute is a route the gateway serves itself.
type directRoute struct {
	method string
	b      *backend
	spec   rpc.Spec
	// in and out are the method's message types; json and proto the
	// codecs the transcoder uses for them.
	in, out protoreflect.MessageType
	json    vanguard.Codec
	proto   protoCodec
	// whole is set when the rule takes the whole body ("*"); else it
	// takes none.
	whole bool
	// For a template with variables (all three are zero for a literal
	// one): vars are the fields its segments bind, by segment (nil for a
	// literal segment); own is the template itself; rivals are the other
	// routes' templates that may match a path it matches. A request it
	// matches is the gateway's only if own matches it too and no rival
	// does.
	vars   []protoreflect.FieldDescriptor
	own    template
	rivals []template
}

// directRoutes returns the routes of the table the gateway may serve
// itself, those with literal templates by path: unary, a template that is
// literal or has only simple variables, body "*" or none, no
// response_body, and messages that are not google.api.HttpBody. A literal
// template is left out if another route's template matches it too; one
// with variables is checked for that on each request (see
// table.directRoute).
func directRoutes(backends map[string]*backend, routes []Route, templates []template, c *codecs) (map[string]*directRoute, []*directRoute) {
	literal := make(map[string]*directRoute)
	var variable []*directRoute
	types := make(map[*backend]typeResolver)
	for _, route := range routes {
		if route.Body != "*" && route.Body != "" || route.ResponseBody != "" || !strings.HasPrefix(route.Path, "/") {
			continue
		}
		b := backends[route.Service]
		if b == nil || b.specs[route.Procedure].StreamType != rpc.Unary {
			continue
		}
		name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(route.Procedure, "/"), "/", "."))
		d, err := b.files.FindDescriptorByName(name)
		md, ok := d.(protoreflect.MethodDescriptor)
		if err != nil || !ok || httpBody(md.Input()) || httpBody(md.Output()) {
			continue
		}
		segments := strings.Split(strings.TrimPrefix(route.Path, "/"), "/")
		var vars []protoreflect.FieldDescriptor
		if strings.ContainsAny(route.Path, "{}*%") {
			if vars, ok = simpleVariables(segments, md.Input()); !ok {
				continue
			}
		} else {
			matches := 0
			for _, t := range templates {
				if t.match(route.Method, segments) {
					matches++
				}
			}
			if matches != 1 || literal[route.Path] != nil {
				continue // a template with variables matches it too, or the path is taken by another method
			}
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
		pc, ok := c.newProto(resolver).(protoCodec)
		if !ok {
			continue
		}
		direct := &directRoute{
			method: route.Method, b: b, spec: b.specs[route.Procedure],
			in: in, out: out, json: c.newJSON(resolver), proto: pc,
			whole: route.Body == "*",
		}
		if vars == nil {
			literal[route.Path] = direct
			continue
		}
		direct.vars = vars
		direct.own, _ = compileTemplate(route) // it has simple variables only: it compiles
		direct.rivals = rivals(direct.own, templates)
		variable = append(variable, direct)
	}
	return literal, variable
}

// simpleVariables returns, by segment, the fields a template's variables
// bind (nil for a literal segment), if every variable is simple: a whole
// segment, {field}, binding a top-level field of in that is a string or an
// integer, singular and in no oneof, each field once; and the template has
// no verb.
func simpleVariables(segments []string, in protoreflect.MessageDescriptor) ([]protoreflect.FieldDescriptor, bool) {
	vars := make([]protoreflect.FieldDescriptor, len(segments))
	some := false
	for i, s := range segments {
		if s == "" || strings.ContainsAny(s, ":*%=.") && !strings.HasPrefix(s, "{") {
			return nil, false
		}
		if !strings.HasPrefix(s, "{") {
			if strings.ContainsAny(s, "{}") {
				return nil, false
			}
			continue
		}
		field, ok := strings.CutSuffix(strings.TrimPrefix(s, "{"), "}")
		if !ok || strings.ContainsAny(field, "{}=.*:/") {
			return nil, false // a pattern, a field path, a verb, or not a whole segment
		}
		fd := in.Fields().ByName(protoreflect.Name(field))
		if fd == nil || fd.Cardinality() == protoreflect.Repeated || fd.IsMap() || fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic() || !simpleKind(fd.Kind()) {
			return nil, false
		}
		for _, other := range vars[:i] {
			if other == fd {
				return nil, false
			}
		}
		vars[i], some = fd, true
	}
	return vars, some
}

// simpleKind reports whether a field of kind k may be bound by a simple
// variable: a string, or an integer.
func simpleKind(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.StringKind,
		protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// directRoute returns the route the gateway may serve a REST request to
// path itself, with path's segments for one with variables, or nil.
func (t *table) directRoute(method, path string) (*directRoute, []string) {
	if route := t.direct[path]; route != nil {
		return route, nil
	}
	if len(t.directVariable) == 0 || !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	segments := strings.Split(path[1:], "/")
	for _, route := range t.directVariable {
		if !route.match(method, segments) {
			continue
		}
		if !route.own.match(method, segments) {
			return nil, nil // an empty segment: the transcoder answers
		}
		for _, rival := range route.rivals {
			if rival.match(method, segments) {
				return nil, nil // the transcoder picks which
			}
		}
		return route, segments
	}
	return nil, nil
}

// rivals returns the templates, other than own itself, that may match a
// path own matches, so that a request need be checked against those only.
// own has no verb, and its segments are literals or "*". A template that
// appears twice keeps one copy among the rivals.
func rivals(own template, templates []template) []template {
	var out []template
	skipped := false
	for _, t := range templates {
		if !skipped && t.method == own.method && t.path == own.path {
			skipped = true
			continue
		}
		if t.method == own.method && mayOverlap(own.segments, t) {
			out = append(out, t)
		}
	}
	return out
}

// mayOverlap reports whether t may match a path of segments that a template
// of segments (literals, or "*" for any one) matches: false only when the
// two cannot, because their lengths differ with no "**" in t, or a literal
// of one differs from the other's at the same place.
func mayOverlap(segments []string, t template) bool {
	if t.verb != "" {
		return true // rare; the transcoder is left to decide
	}
	for i, s := range t.segments {
		if s == "**" {
			return true
		}
		if i >= len(segments) {
			return false
		}
		if s != "*" && segments[i] != "*" && s != segments[i] {
			return false
		}
	}
	return len(segments) == len(t.segments)
}

// match reports whether a route with variables matches a request by
// method to a path of segments.
func (d *directRoute) match(method string, segments []string) bool {
	if d.method != method || len(segments) != len(d.own.segments) {
		return false
	}
	for i, s := range segments {
		if d.vars[i] == nil && s != d.own.segments[i] {
			return false
		}
	}
	return true
}

// bind sets the fields the route's variables bind in m from the path's
// segments, as the transcoder sets them, and reports whether it could: a
// value that is not plainly a string or an integer of the field's type (one
// the transcoder may read otherwise, or refuse) is the transcoder's.
func (d *directRoute) bind(m protoreflect.Message, segments []string) bool {
	for i, fd := range d.vars {
		if fd == nil {
			continue
		}
		v, ok := variableValue(fd, segments[i])
		if !ok {
			return false
		}
		m.Set(fd, v)
	}
	return true
}

// variableValue returns a simple variable's value s as a value of fd: s
// must be unreserved characters only (letters, digits, '-', '.', '_',
// '~'; not "." nor ".."), and for an integer field the plain decimal of
// one in its range.
func variableValue(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, bool) {
	if s == "" || s == "." || s == ".." {
		return protoreflect.Value{}, false
	}
	for i := range len(s) {
		if !unreserved(s[i]) {
			return protoreflect.Value{}, false
		}
	}
	if fd.Kind() == protoreflect.StringKind {
		return protoreflect.ValueOfString(s), true
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || digits[0] == '0' && len(digits) > 1 || strings.ContainsFunc(digits, func(c rune) bool { return c < '0' || c > '9' }) {
		return protoreflect.Value{}, false // not plain decimal: "007", "1e3", "+1"
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err == nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err == nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err == nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err == nil
	}
	return protoreflect.Value{}, false
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

// smallAnswer is the size under which net/http buffers an answer written
// in one go whole, and sets its Content-Length itself without allocating
// (its buffer before it chunks is 2 KiB): the gateway sets it only on
// larger answers, which would be chunked otherwise.
const smallAnswer = 2 << 10

// serveDirect serves the REST request r, whose body is body, if it is one
// the gateway serves itself (see directRoute), and reports whether it did.
// If not, r is returned to be served by the transcoder: with the outcome of
// the call in its context if the call was made.
func (g *Gateway) serveDirect(w http.ResponseWriter, r *http.Request, t *table, body []byte) (*http.Request, bool) {
	if r.URL.RawQuery != "" || r.URL.RawPath != "" || g.config.transcodeAll {
		return r, false
	}
	route, segments := t.directRoute(r.Method, r.URL.Path)
	if route == nil || route.method != r.Method || route.whole != (len(body) > 0) {
		return r, false // an empty body, where the rule takes it, is {}: left to restRequest
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
	if route.whole && route.json.Unmarshal(body, in) != nil {
		return r, false
	}
	if segments != nil && !route.bind(in.ProtoReflect(), segments) {
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
		if route.proto.unmarshalNew(made.res, out) == nil {
			if data, err := route.json.MarshalAppend(nil, out); err == nil {
				wh := w.Header()
				wh["Content-Type"] = jsonType
				if len(data) >= smallAnswer {
					wh["Content-Length"] = []string{strconv.Itoa(len(data))}
				}
				wh["Date"] = nil
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(data)
				if g.config.served != nil {
					g.config.served()
				}
				return r, true
			}
		}
	}
	return r.WithContext(context.WithValue(r.Context(), outcomeKey{}, made)), false
}

// unreserved reports whether c is an unreserved character of a URL (RFC
// 3986): one that no URL escapes.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
