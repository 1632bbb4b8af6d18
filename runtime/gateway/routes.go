package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/rpc"
)

// Route is one way in to a method: an HTTP method and URL template from a
// google.api.http rule, or, in [Index.Procedures], POST to the procedure.
type Route struct {
	// Method is the HTTP method, "GET".
	Method string `json:"method"`
	// Path is the URL template, "/v1/{name=shelves/*}", or the procedure.
	Path string `json:"path"`
	// Body and ResponseBody are the rule's body and response_body.
	Body         string `json:"body,omitempty"`
	ResponseBody string `json:"response_body,omitempty"`
	// Service is the registry name of the service called.
	Service string `json:"service"`
	// Procedure is the method called, "/http.v1.Books/GetBook".
	Procedure string `json:"procedure"`
}

// Conflict is a route that two services, or two methods, claim. The winner is
// the service whose registry name sorts first, and within a service the
// method it declares first; the loser's claim is not served.
type Conflict struct {
	Winner Route `json:"winner"`
	Loser  Route `json:"loser"`
}

// Index is what a gateway serves, as GET /_routes (and GET /) answers it in
// JSON.
type Index struct {
	// Routes are the REST routes, by service and then in declaration order.
	Routes []Route `json:"routes"`
	// Procedures are the methods served by procedure (Connect, gRPC-Web and
	// gRPC), by service and then in declaration order.
	Procedures []Route `json:"procedures"`
	// Conflicts are the claims not served.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Unavailable are the services not routed, with the reason: their schema
	// could not be read through reflection.
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// table is what the gateway serves requests with at one time.
type table struct {
	transcoder *vanguard.Transcoder
	index      Index
	// unary are the procedures of the unary methods served, whose Connect
	// calls may leave out Connect-Protocol-Version.
	unary map[string]bool
	// templates are the REST routes', to tell which query parameters are
	// for fields a route binds otherwise.
	templates []template
	// procedures are the procedures served, for route.
	procedures map[string]bool
	// direct are the REST routes with literal templates the gateway
	// serves itself, by path, and directVariable those with variables.
	direct         map[string]*directRoute
	directVariable []*directRoute
}

// unmatched is the route of a request that matches none, as metrics label
// it: a 404, or a CORS preflight.
const unmatched = "unmatched"

// route returns the route r is served by, as metrics label it: the URL
// template of the REST route it matches ("/v1/{name=shelves/*}"), the
// procedure for a call in an RPC protocol ("/http.v1.Books/GetBook"), the
// index's path for the index, or "unmatched"; never the raw path, whose
// values are unbounded.
func (t *table) route(r *http.Request) string {
	path := r.URL.Path
	index := r.Method == http.MethodGet || r.Method == http.MethodHead
	if path == indexPath && index {
		return indexPath
	}
	if rest(r) {
		if template, ok := restRoute(t.templates, r.Method, path); ok {
			return template
		}
	} else if t.procedures[path] {
		return path
	}
	if path == "/" && index {
		return "/"
	}
	return unmatched
}

// transcoderOptions are the options of both the gateway's transcoders.
func (g *Gateway) transcoderOptions(unknown http.Handler, c *codecs) []vanguard.TranscoderOption {
	return []vanguard.TranscoderOption{
		vanguard.WithUnknownHandler(unknown),
		vanguard.WithCodec(c.newJSON),
		vanguard.WithCodec(c.newProto),
		vanguard.WithDefaultServiceOptions(
			vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
			vanguard.WithTargetCodecs(vanguard.CodecProto),
			vanguard.WithNoTargetCompression(),
			vanguard.WithMaxMessageBufferBytes(uint32(g.config.bodyLimit)),
		),
	}
}

// rule returns route as a google.api.http rule for the transcoder.
func (r Route) rule() *annotations.HttpRule {
	selector := strings.ReplaceAll(strings.TrimPrefix(r.Procedure, "/"), "/", ".")
	rule := &annotations.HttpRule{Selector: selector, Body: r.Body, ResponseBody: r.ResponseBody}
	switch r.Method {
	case http.MethodGet:
		rule.Pattern = &annotations.HttpRule_Get{Get: r.Path}
	case http.MethodPut:
		rule.Pattern = &annotations.HttpRule_Put{Put: r.Path}
	case http.MethodPost:
		rule.Pattern = &annotations.HttpRule_Post{Post: r.Path}
	case http.MethodDelete:
		rule.Pattern = &annotations.HttpRule_Delete{Delete: r.Path}
	case http.MethodPatch:
		rule.Pattern = &annotations.HttpRule_Patch{Patch: r.Path}
	default:
		rule.Pattern = &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: r.Method, Path: r.Path}}
	}
	return rule
}

// key returns what two routes that match the same requests share: the
// method and the template with its variables' names left out.
func (r Route) key() string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte(' ')
	for path := r.Path; path != ""; {
		open := strings.IndexByte(path, '{')
		end := strings.IndexByte(path, '}')
		if open < 0 || end < open {
			b.WriteString(path)
			break
		}
		b.WriteString(path[:open])
		if _, pattern, ok := strings.Cut(path[open+1:end], "="); ok {
			b.WriteString(pattern)
		} else {
			b.WriteByte('*')
		}
		path = path[end+1:]
	}
	return b.String()
}

// rebuild makes the table of the backends the gateway knows and swaps it in
// for the one requests use. Conflicts not in old are logged.
func (g *Gateway) rebuild(old *table) error {
	names := make([]string, 0, len(g.backends))
	for name := range g.backends {
		names = append(names, name)
	}
	slices.Sort(names)

	index := Index{Routes: []Route{}, Procedures: []Route{}}
	var services, streamServices []*vanguard.Service
	owners := make(map[protoreflect.FullName]*backend) // proto service to the backend serving it
	claims := make(map[string]Route)                   // route key to the route served
	for _, name := range names {
		b := g.backends[name]
		if b.err != nil {
			if index.Unavailable == nil {
				index.Unavailable = make(map[string]string)
			}
			index.Unavailable[name] = b.err.Error()
			continue
		}
		owned := make(map[protoreflect.FullName]bool)
		var ownedServices []protoreflect.ServiceDescriptor
		for _, sd := range b.services {
			methods := sd.Methods()
			if owner := owners[sd.FullName()]; owner != nil {
				for i := range methods.Len() {
					procedure := "/" + string(sd.FullName()) + "/" + string(methods.Get(i).Name())
					index.Conflicts = append(index.Conflicts, Conflict{
						Winner: Route{Method: http.MethodPost, Path: procedure, Service: owner.name, Procedure: procedure},
						Loser:  Route{Method: http.MethodPost, Path: procedure, Service: name, Procedure: procedure},
					})
				}
				continue
			}
			owners[sd.FullName()], owned[sd.FullName()] = b, true
			ownedServices = append(ownedServices, sd)
			for i := range methods.Len() {
				procedure := "/" + string(sd.FullName()) + "/" + string(methods.Get(i).Name())
				index.Procedures = append(index.Procedures, Route{Method: http.MethodPost, Path: procedure, Service: name, Procedure: procedure})
			}
		}
		var served, streamed []Route
		streams := make(map[string]*restStream) // by procedure
		for _, route := range b.routes {
			service, _, _ := strings.Cut(strings.TrimPrefix(route.Procedure, "/"), "/")
			if !owned[protoreflect.FullName(service)] {
				continue // its procedure is served by another service: so are its routes
			}
			if winner, taken := claims[route.key()]; taken {
				index.Conflicts = append(index.Conflicts, Conflict{Winner: winner, Loser: route})
				continue
			}
			claims[route.key()] = route
			index.Routes = append(index.Routes, route)
			if b.specs[route.Procedure].StreamType != rpc.ServerStream {
				served = append(served, route)
				continue
			}
			streamed = append(streamed, route)
			if streams[route.Procedure] == nil {
				s, err := newRESTStream(b, route)
				if err != nil {
					return fmt.Errorf("service %q: %w", name, err)
				}
				streams[route.Procedure] = s
			}
		}
		if len(ownedServices) > 0 {
			annotated, err := b.annotated(ownedServices, served, g.backendHandler(b), false)
			if err != nil {
				return fmt.Errorf("service %q: %w", name, err)
			}
			services = append(services, annotated...)
		}
		if len(streamed) > 0 {
			annotated, err := b.annotated(ownedServices, streamed, g.streamHandler(b, streams), true)
			if err != nil {
				return fmt.Errorf("service %q: %w", name, err)
			}
			streamServices = append(streamServices, annotated...)
		}
	}

	// A REST call of a server-streaming method matches no route of the
	// first transcoder, which hands it to the stream transcoder.
	unknown := http.Handler(http.HandlerFunc(g.unknown))
	codecs := newCodecs()
	if len(streamServices) > 0 {
		st, err := vanguard.NewTranscoder(streamServices, g.transcoderOptions(unknown, codecs)...)
		if err != nil {
			return err
		}
		unknown = st
	}
	t, err := vanguard.NewTranscoder(services, g.transcoderOptions(unknown, codecs)...)
	if err != nil {
		return err
	}
	for _, c := range index.Conflicts {
		if old == nil || !slices.Contains(old.index.Conflicts, c) {
			g.config.logger.Warn("gateway: route conflict; the winner is served",
				"method", c.Loser.Method, "path", c.Loser.Path,
				"winner", c.Winner.Service, "winner_procedure", c.Winner.Procedure,
				"loser", c.Loser.Service, "loser_procedure", c.Loser.Procedure)
		}
	}
	unary := make(map[string]bool)
	for _, b := range g.backends {
		for procedure, spec := range b.specs {
			if spec.StreamType == rpc.Unary && slices.ContainsFunc(index.Procedures, func(r Route) bool { return r.Procedure == procedure && r.Service == b.name }) {
				unary[procedure] = true
			}
		}
	}
	var templates []template
	for _, route := range index.Routes {
		if tmpl, ok := compileTemplate(route); ok {
			templates = append(templates, tmpl)
		}
	}
	procedures := make(map[string]bool, len(index.Procedures))
	for _, p := range index.Procedures {
		procedures[p.Path] = true
	}
	direct, directVariable := directRoutes(g.backends, index.Routes, templates, codecs)
	g.table.Store(&table{transcoder: t, index: index, unary: unary, templates: templates, procedures: procedures, direct: direct, directVariable: directVariable})
	return nil
}

// backendKey is the context key of the backend a request was routed to.
type backendKey struct{}

// backendHandler returns the handler the transcoder calls, in gRPC, for the
// methods of b.
func (g *Gateway) backendHandler(b *backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if spec, ok := b.specs[r.URL.Path]; ok && spec.StreamType == rpc.Unary && r.Method == http.MethodPost {
			g.serveUnary(w, r, b, spec)
			return
		}
		g.grpc.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
	})
}

// unknown answers a request that matches no route: with the index for GET /,
// else 404. A path whose last segment has a colon that no route takes for a
// verb is tried again with the colon escaped, as grpc-gateway falls back
// to the template without the verb (GET /v1/items/7:poke is item "7:poke").
func (g *Gateway) unknown(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		writeJSON(w, http.StatusOK, g.table.Load().index)
		return
	}
	// The transcoder matches URL.Path, and unescapes each variable's
	// segments itself, so an escaped colon there is no verb but a colon.
	path := r.URL.Path
	if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = path[:i]+"%3A"+path[i+1:], ""
		g.table.Load().transcoder.ServeHTTP(w, r2)
		return
	}
	writeNotFound(w)
}
