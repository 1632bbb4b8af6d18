package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/follow"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// resolveTimeout bounds reading one service's schema, so that a node that
// does not answer holds up the other services' tools only so long.
const resolveTimeout = 5 * time.Second

// Server is an MCP server whose tools are the methods of a registry's
// services. It is safe for concurrent use, serves any number of sessions at
// once, and follows the registry until closed.
type Server struct {
	config    *config
	registry  registry.Registry
	client    client.Client
	ownClient bool
	mcp       *sdk.Server
	follower  *follow.Follower
	close     sync.Once

	// services are the services the follower's updates know, by registry
	// name; only they touch it.
	services map[string]*service
	// tools are the tools served now, by name.
	mu    sync.Mutex
	tools map[string]*tool
}

// service is a registry service as the server offers it.
type service struct {
	// key identifies what the registry said of its endpoints; the schema is
	// read again only when it changes.
	key    string
	offers []*offer
}

// offer is one method offered as a tool, before it is named.
type offer struct {
	service  string
	method   protoreflect.MethodDescriptor
	schema   *dynamic.Schema
	endpoint *registry.Endpoint // nil when the registration lists none
	// enforced says that a node of the service enforces its access
	// ([auth.EnforcedMetadata]).
	enforced bool
}

// tool is an offer as served, under a name.
type tool struct {
	*offer
	name string
	def  *sdk.Tool
}

// info is what a [Filter] is told of t.
func (t *tool) info() ToolInfo {
	spec := dynamic.Spec(t.method)
	var access *rpc.Access
	if t.endpoint != nil {
		access = t.endpoint.Access
	}
	return ToolInfo{Name: t.name, Service: t.service, Spec: spec, Access: access}
}

// New returns a server whose tools are the methods of the services in reg.
// It reads the services registered now, and their schemas through server
// reflection, before it returns (ctx bounds that); a service whose schema
// it cannot read is logged, left out, and tried again later.
func New(ctx context.Context, reg registry.Registry, opts ...Option) (*Server, error) {
	s := &Server{config: newConfig(opts), registry: reg, services: make(map[string]*service), tools: make(map[string]*tool)}
	s.client = s.config.client
	if s.client == nil {
		s.client, s.ownClient = client.New(client.WithRegistry(reg)), true
	}
	s.mcp = sdk.NewServer(&sdk.Implementation{Name: "micro", Version: rpc.Version}, &sdk.ServerOptions{
		Instructions: "Each tool calls one method of a service of the micro registry; its arguments and result are the method's request and response in protobuf's JSON mapping.",
		Logger:       s.config.logger,
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{ListChanged: true}},
	})
	s.mcp.AddReceivingMiddleware(s.accessMiddleware)
	f, err := follow.Start(ctx, reg, s.config.logger, "mcp", s.update)
	if err != nil {
		s.closeOwned()
		return nil, err
	}
	s.follower = f
	return s, nil
}

// Run serves one session on t, such as an [sdk.StdioTransport], until the
// client disconnects or ctx is done.
func (s *Server) Run(ctx context.Context, t sdk.Transport) error { return s.mcp.Run(ctx, t) }

// Handler returns an [http.Handler] that serves MCP's streamable HTTP
// transport, each client in its own session.
func (s *Server) Handler() http.Handler {
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.mcp }, nil)
}

// Tools returns the names of the tools served now, sorted.
func (s *Server) Tools() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tools))
	for name := range s.tools {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Close stops following the registry and closes the client the server
// made. It is safe to call more than once.
func (s *Server) Close() error {
	s.close.Do(func() {
		s.follower.Close()
		s.closeOwned()
	})
	return nil
}

func (s *Server) closeOwned() {
	if s.ownClient {
		_ = s.client.Close()
	}
}

// update reads the named services again, then names every tool anew and
// swaps the changes into the MCP server; it is the server's [follow.Update].
func (s *Server) update(ctx context.Context, names []string) (retry []string) {
	changed := false
	for _, name := range names {
		if ctx.Err() != nil {
			return nil
		}
		nodes, endpoints, err := follow.Lookup(ctx, s.registry, name)
		switch {
		case err == nil && len(nodes) == 0:
			if _, ok := s.services[name]; ok {
				s.config.logger.Info("mcp: service left", "service", name)
				delete(s.services, name)
				changed = true
			}
			continue
		case err != nil:
			s.config.logger.Warn("mcp: read service from the registry", "service", name, "error", err)
			retry = append(retry, name)
			continue
		}
		enforced := slices.ContainsFunc(nodes, func(n *registry.Node) bool { return n.Metadata[auth.EnforcedMetadata] == "true" })
		key, _ := json.Marshal(struct {
			Endpoints []*registry.Endpoint
			Enforced  bool
		}{endpoints, enforced})
		if old := s.services[name]; old != nil && old.key == string(key) {
			continue // only nodes changed, which the client follows itself
		}
		offers, err := s.resolve(ctx, name, endpoints, addresses(nodes))
		if err != nil {
			s.config.logger.Warn("mcp: service's tools not offered", "service", name, "error", err)
			retry = append(retry, name)
			continue
		}
		for _, o := range offers {
			o.enforced = enforced
		}
		s.services[name] = &service{key: string(key), offers: offers}
		changed = true
		s.config.logger.Info("mcp: service offered", "service", name, "tools", len(offers))
	}
	if changed {
		s.publish()
	}
	return retry
}

// addresses returns the addresses of nodes as a client dials them
// ("tls://host:port" for a node that serves TLS).
func addresses(nodes []*registry.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = client.NodeAddress(n)
	}
	return out
}

// resolve reads the schema of the service called name from one of its nodes
// and returns an offer for each unary or server-streaming method it serves: those
// the registry lists for it, or, for a service registered without
// endpoints, those of its descriptors.
func (s *Server) resolve(ctx context.Context, name string, endpoints []*registry.Endpoint, nodes []string) ([]*offer, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	schema, err := dynamic.Resolve(ctx, s.client, name, nodes...)
	if err != nil {
		return nil, err
	}
	var offers []*offer
	for _, m := range schema.Methods() {
		spec := dynamic.Spec(m)
		if spec.StreamType != rpc.Unary && spec.StreamType != rpc.ServerStream {
			continue // a tool call has one request
		}
		t := &offer{service: name, method: m, schema: schema}
		if len(endpoints) > 0 {
			i := slices.IndexFunc(endpoints, func(e *registry.Endpoint) bool { return e.Procedure == spec.Procedure })
			if i < 0 {
				continue // a method of the node's that this registration does not offer
			}
			t.endpoint = endpoints[i]
		}
		offers = append(offers, t)
	}
	return offers, nil
}

// publish names the offers of every service known and makes them the MCP
// server's tools: tools whose offer or name changed are replaced, those gone
// removed, and the server tells connected clients the list changed.
func (s *Server) publish() {
	var all []*offer
	for _, svc := range s.services {
		all = append(all, svc.offers...)
	}
	slices.SortFunc(all, func(a, b *offer) int {
		return strings.Compare(a.service+procedure(a.method), b.service+procedure(b.method))
	})
	names := toolNames(all)

	s.mu.Lock()
	prev := s.tools
	s.mu.Unlock()
	next := make(map[string]*tool, len(all))
	var added []string
	for i, o := range all {
		if old := prev[names[i]]; old != nil && old.offer == o {
			next[names[i]] = old
			continue
		}
		t := &tool{offer: o, name: names[i]}
		t.def = definition(t, s.config.streamLimit)
		next[t.name] = t
		added = append(added, t.name)
	}
	var gone []string
	for name, old := range prev {
		if next[name] != old {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)

	s.mu.Lock()
	s.tools = next
	s.mu.Unlock()
	if len(gone) > 0 {
		s.mcp.RemoveTools(gone...)
	}
	for _, name := range added {
		s.mcp.AddTool(next[name].def, s.handler(next[name]))
	}
}

// definition returns the MCP definition of t, which has its name.
func definition(t *tool, streamLimit int) *sdk.Tool {
	spec := dynamic.Spec(t.method)
	def := &sdk.Tool{
		Name:         t.name,
		Title:        string(t.method.Parent().Name()) + "." + string(t.method.Name()) + " (" + t.service + ")",
		InputSchema:  InputSchema(t.method.Input(), fieldDocs(t.endpoint)),
		OutputSchema: OutputSchema(t.method.Output()),
		Annotations: &sdk.ToolAnnotations{
			ReadOnlyHint:   spec.Idempotency == rpc.NoSideEffects,
			IdempotentHint: spec.Idempotency == rpc.NoSideEffects || spec.Idempotency == rpc.Idempotent,
		},
	}
	if t.endpoint != nil {
		def.Description = t.endpoint.Doc
	}
	if def.Description == "" {
		def.Description = fmt.Sprintf("Calls %s on service %s.", spec.Procedure, t.service)
	}
	if spec.StreamType == rpc.ServerStream {
		def.OutputSchema = streamOutputSchema(t.method.Output())
		def.Description += fmt.Sprintf("\n\nThe method streams: the result holds up to %d of its responses.", streamLimit)
	}
	return def
}

func fieldDocs(e *registry.Endpoint) map[string]string {
	if e == nil {
		return nil
	}
	return e.FieldDocs
}

// handler returns what calls t: it decodes the arguments as the request,
// calls the method within the server's timeout, and returns the response
// as structured content and JSON text, or the failure as an error result.
func (s *Server) handler(t *tool) sdk.ToolHandler {
	spec := dynamic.Spec(t.method)
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		c := callerOf(ctx)
		if err := s.allow(ctx, c, t); err != nil {
			return errorResult(t.schema, err), nil
		}
		in, err := t.schema.DecodeJSON(req.Params.Arguments, t.method.Input(), dynamic.Position{})
		if err != nil {
			return errorResult(t.schema, errors.New(errors.CodeInvalidArgument, err)), nil
		}
		if s.config.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.config.timeout)
			defer cancel()
		}
		var opts []client.CallOption
		if c.token != "" { // the service judges the caller too
			opts = append(opts, client.WithHeaders("authorization", "Bearer "+c.token))
		}
		if spec.StreamType == rpc.ServerStream {
			return s.collect(ctx, req, t, in, opts), nil
		}
		out := dynamicpb.NewMessage(t.method.Output())
		if err := s.client.Invoke(ctx, t.service, spec, in, out, opts...); err != nil {
			return errorResult(t.schema, err), nil
		}
		var text bytes.Buffer
		if err := t.schema.EncodeJSON(&text, out, false); err != nil {
			return errorResult(t.schema, errors.New(errors.CodeInternal, err)), nil
		}
		if text.Len() > s.config.responseLimit {
			return errorResult(t.schema, errors.Errorf(errors.CodeResourceExhausted,
				"the response of %s is %d bytes of JSON, more than the limit of %d", spec.Procedure, text.Len(), s.config.responseLimit)), nil
		}
		data := bytes.TrimSuffix(text.Bytes(), []byte("\n"))
		return &sdk.CallToolResult{
			Content:           []sdk.Content{&sdk.TextContent{Text: string(data)}},
			StructuredContent: json.RawMessage(data),
		}, nil
	}
}

// streamResult is the structured content of a server-streaming call.
type streamResult struct {
	Responses []json.RawMessage `json:"responses"`
	Truncated bool              `json:"truncated,omitempty"`
}

// collect calls t, a server-streaming method, with in and gathers its
// responses: up to the stream limit, within the response limit and the
// timeout (which end the call with what was gathered), telling the client
// the progress after each when it asked for it with a progress token.
func (s *Server) collect(ctx context.Context, req *sdk.CallToolRequest, t *tool, in proto.Message, opts []client.CallOption) *sdk.CallToolResult {
	ctx, cancel := context.WithCancel(ctx) // ends the stream when the result is complete
	defer cancel()
	stream, err := s.client.NewStream(ctx, t.service, dynamic.Spec(t.method), opts...)
	if err == nil {
		if err = stream.SendMsg(in); stderrors.Is(err, io.EOF) {
			err = nil // RecvMsg says why
		}
	}
	if err == nil {
		err = stream.CloseSend()
	}
	if err != nil {
		return errorResult(t.schema, err)
	}
	var result streamResult
	size := 0
	token := req.Params.GetProgressToken()
	for {
		out := dynamicpb.NewMessage(t.method.Output())
		err := stream.RecvMsg(out)
		if stderrors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(result.Responses) > 0 && errors.CodeOf(err) == errors.CodeDeadlineExceeded {
				result.Truncated = true // the timeout ended a long stream
				break
			}
			return errorResult(t.schema, err)
		}
		if len(result.Responses) == s.config.streamLimit {
			result.Truncated = true
			break
		}
		var text bytes.Buffer
		if err := t.schema.EncodeJSON(&text, out, false); err != nil {
			return errorResult(t.schema, errors.New(errors.CodeInternal, err))
		}
		if size += text.Len(); size > s.config.responseLimit {
			return errorResult(t.schema, errors.Errorf(errors.CodeResourceExhausted,
				"the responses of %s are more than the limit of %d bytes of JSON", procedure(t.method), s.config.responseLimit))
		}
		result.Responses = append(result.Responses, bytes.TrimSpace(text.Bytes()))
		if token != nil {
			_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      float64(len(result.Responses)),
				Total:         float64(s.config.streamLimit),
				Message:       fmt.Sprintf("%d responses", len(result.Responses)),
			})
		}
	}
	if result.Responses == nil {
		result.Responses = []json.RawMessage{}
	}
	data, err := json.Marshal(result)
	if err != nil {
		return errorResult(t.schema, errors.New(errors.CodeInternal, err))
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(data)}}, StructuredContent: json.RawMessage(data)}
}

// callError is the JSON of a failed call in an error result.
type callError struct {
	Code    errors.Code       `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// errorResult returns err, the error of a call to a service of schema, as
// an error result whose text is its code, message and details in JSON, each
// detail in protobuf's JSON mapping of an Any ("@type" and its fields).
func errorResult(schema *dynamic.Schema, err error) *sdk.CallToolResult {
	ce := callError{Code: errors.CodeOf(err), Message: err.Error()}
	if e, ok := stderrors.AsType[*errors.Error](err); ok {
		ce.Message = e.Message()
		for _, detail := range e.Details() {
			var b bytes.Buffer
			if schema.EncodeJSON(&b, detail, false) != nil {
				b.Reset()
				_ = json.NewEncoder(&b).Encode(map[string]string{"@type": detail.GetTypeUrl()})
			}
			ce.Details = append(ce.Details, json.RawMessage(bytes.TrimSpace(b.Bytes())))
		}
	}
	text, _ := json.Marshal(ce)
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: string(text)}}}
}

// sanitize replaces what a tool name may not hold with "_".
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, name)
}
