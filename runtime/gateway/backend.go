package gateway

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/vanguard"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// resolveTimeout bounds reading one service's schema, so that a node that
// does not answer holds up the other services' routes only so long.
const resolveTimeout = 5 * time.Second

// backend is a registry service as the gateway routes it: the proto services
// it serves, read through reflection, and the HTTP routes of their methods.
type backend struct {
	name string
	// key identifies what the registry said of the service's endpoints; the
	// schema is read again only when it changes, or when every node it
	// was read from is gone.
	key string
	// nodes are the addresses of the nodes when the schema was read.
	nodes []string
	// services are the proto services it serves, described without their
	// google.api.http options (the gateway adds the routes itself, so that
	// it decides conflicts), and files their files; the transcoder is given
	// copies annotated with the routes served, and types of them.
	services []protoreflect.ServiceDescriptor
	files    *protoregistry.Files
	specs    map[string]rpc.Spec // by procedure
	routes   []Route             // in the order the service declares them
	// err is why the schema could not be read; the service is not routed.
	err error
}

// refresh reads the named services from the registry again, and the schema
// of those whose endpoints changed. It returns the names to try again
// later.
func (g *Gateway) refresh(ctx context.Context, names []string) (retry []string) {
	for _, name := range names {
		if ctx.Err() != nil {
			return nil
		}
		versions, err := g.registry.GetService(ctx, name)
		var nodes []string
		var endpoints []*registry.Endpoint
		for _, v := range versions {
			for _, n := range v.Nodes {
				nodes = append(nodes, client.NodeAddress(n))
			}
			for _, e := range v.Endpoints {
				if !slices.ContainsFunc(endpoints, func(x *registry.Endpoint) bool { return x.Procedure == e.Procedure }) {
					endpoints = append(endpoints, e)
				}
			}
		}
		switch {
		case stderrors.Is(err, registry.ErrNotFound) || err == nil && len(nodes) == 0:
			if _, ok := g.backends[name]; ok {
				g.config.logger.Info("gateway: service left", "service", name)
				delete(g.backends, name)
			}
			continue
		case err != nil:
			g.config.logger.Warn("gateway: read service from the registry", "service", name, "error", err)
			retry = append(retry, name)
			continue
		}
		key, _ := json.Marshal(endpoints)
		slices.Sort(nodes)
		nodes = slices.Compact(nodes)
		// Only nodes changed, which the client follows itself; but when none
		// of the nodes the schema was read from is left, every node was
		// replaced (a redeploy, micro run's restart), and the messages may
		// have new fields although the endpoints are the same.
		if old := g.backends[name]; old != nil && old.key == string(key) && old.err == nil &&
			slices.ContainsFunc(old.nodes, func(n string) bool { _, found := slices.BinarySearch(nodes, n); return found }) {
			old.nodes = nodes
			continue
		}
		b := g.resolve(ctx, name, endpoints, nodes)
		b.key, b.nodes = string(key), nodes
		g.backends[name] = b
		if b.err != nil {
			g.config.logger.Warn("gateway: service not routed", "service", name, "error", b.err)
			retry = append(retry, name)
			continue
		}
		g.config.logger.Info("gateway: service routed", "service", name, "routes", len(b.routes), "procedures", len(b.specs))
	}
	return retry
}

// resolve reads the schema of the service called name from one of its nodes
// and works out its routes: those the registry lists for its endpoints, or,
// for a service registered without endpoints, those of its descriptors.
func (g *Gateway) resolve(ctx context.Context, name string, endpoints []*registry.Endpoint, nodes []string) *backend {
	b := &backend{name: name, specs: make(map[string]rpc.Spec)}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	schema, err := dynamic.Resolve(ctx, g.client, name, nodes...)
	if err != nil {
		b.err = err
		return b
	}
	files, err := withHTTPRoutes(schema.Files(), nil, false)
	if err != nil {
		b.err = err
		return b
	}
	b.files = files

	served := make(map[protoreflect.FullName]bool)
	for _, e := range endpoints {
		service, _, _ := strings.Cut(strings.TrimPrefix(e.Procedure, "/"), "/")
		served[protoreflect.FullName(service)] = true
	}
	for _, m := range schema.Methods() {
		service := m.Parent().FullName()
		if len(endpoints) > 0 && !served[service] {
			continue // a service of the node's that this registration does not offer
		}
		d, err := files.FindDescriptorByName(service)
		if err != nil {
			b.err = fmt.Errorf("service %s: %w", service, err)
			return b
		}
		sd := d.(protoreflect.ServiceDescriptor)
		if !slices.Contains(b.services, sd) {
			b.services = append(b.services, sd)
		}
		spec := dynamic.Spec(m)
		rules := descriptorRules(m)
		if len(endpoints) > 0 {
			rules = nil
			if i := slices.IndexFunc(endpoints, func(e *registry.Endpoint) bool { return e.Procedure == spec.Procedure }); i >= 0 {
				rules = endpoints[i].HTTP
				spec.Access = endpoints[i].Access // what WithAuth checks
			}
		}
		b.specs[spec.Procedure] = spec
		for _, rule := range rules {
			route := Route{Method: rule.Method, Path: rule.Path, Body: rule.Body, ResponseBody: rule.ResponseBody, Service: name, Procedure: spec.Procedure}
			if err := b.check(route, sd); err != nil {
				g.config.logger.Warn("gateway: route left out", "service", name, "procedure", spec.Procedure, "method", rule.Method, "path", rule.Path, "error", err)
				continue
			}
			b.routes = append(b.routes, route)
		}
	}
	return b
}

// check reports whether the transcoder accepts route, alone, for a method of
// sd, so that one bad rule leaves out only itself.
func (b *backend) check(route Route, sd protoreflect.ServiceDescriptor) error {
	services, err := b.annotated([]protoreflect.ServiceDescriptor{sd}, []Route{route}, nil, false)
	if err != nil {
		return err
	}
	_, err = vanguard.NewTranscoder(services)
	return err
}

// annotated returns services as the transcoder is to serve them, with
// handler: described again, each method carrying the routes given for it as
// its google.api.http option, and, when asUnary is set, described as unary
// (for the stream transcoder, see restStream). The transcoder takes the routes from the
// descriptors rather than from vanguard.WithRules, whose selectors vanguard
// v0.4.0 matches as prefixes: the rule of /pkg.Books/Get would also land on
// GetShelf and every other method whose name begins with Get.
func (b *backend) annotated(services []protoreflect.ServiceDescriptor, routes []Route, handler http.Handler, asUnary bool) ([]*vanguard.Service, error) {
	files, err := withHTTPRoutes(b.files, routes, asUnary)
	if err != nil {
		return nil, err
	}
	types := newTypeResolver(files)
	out := make([]*vanguard.Service, 0, len(services))
	for _, sd := range services {
		d, err := files.FindDescriptorByName(sd.FullName())
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", sd.FullName(), err)
		}
		out = append(out, vanguard.NewServiceWithSchema(d.(protoreflect.ServiceDescriptor), handler, vanguard.WithTypeResolver(types)))
	}
	return out, nil
}

// withHTTPRoutes returns files again, each method's google.api.http option
// replaced by routes of its procedure (the first as the rule, the others as
// its additional bindings), or taken out when routes has none. With asUnary,
// each method given routes is described as unary.
func withHTTPRoutes(files *protoregistry.Files, routes []Route, asUnary bool) (*protoregistry.Files, error) {
	rules := make(map[string][]*annotations.HttpRule) // by procedure
	for _, r := range routes {
		rule := r.rule()
		rule.Selector = ""
		rules[r.Procedure] = append(rules[r.Procedure], rule)
	}
	set := new(descriptorpb.FileDescriptorSet)
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		file := protodesc.ToFileDescriptorProto(fd)
		for _, s := range file.GetService() {
			for _, m := range s.GetMethod() {
				if m.Options != nil {
					proto.ClearExtension(m.Options, annotations.E_Http)
				}
				procedure := "/" + strings.TrimPrefix(file.GetPackage()+"."+s.GetName(), ".") + "/" + m.GetName()
				if r := rules[procedure]; len(r) > 0 {
					if m.Options == nil {
						m.Options = new(descriptorpb.MethodOptions)
					}
					top := proto.CloneOf(r[0])
					top.AdditionalBindings = r[1:]
					proto.SetExtension(m.Options, annotations.E_Http, top)
					if asUnary {
						m.ServerStreaming, m.ClientStreaming = nil, nil
					}
				}
			}
		}
		set.File = append(set.File, file)
		return true
	})
	return protodesc.NewFiles(set)
}

// descriptorRules returns the routes of m's google.api.http option, the rule
// and then its additional bindings.
func descriptorRules(m protoreflect.MethodDescriptor) []rpc.HTTPRule {
	opts, ok := m.Options().(*descriptorpb.MethodOptions)
	if !ok || !proto.HasExtension(opts, annotations.E_Http) {
		return nil
	}
	top := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
	var out []rpc.HTTPRule
	for _, r := range append([]*annotations.HttpRule{top}, top.GetAdditionalBindings()...) {
		rule := rpc.HTTPRule{Body: r.GetBody(), ResponseBody: r.GetResponseBody()}
		switch p := r.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			rule.Method, rule.Path = "GET", p.Get
		case *annotations.HttpRule_Put:
			rule.Method, rule.Path = "PUT", p.Put
		case *annotations.HttpRule_Post:
			rule.Method, rule.Path = "POST", p.Post
		case *annotations.HttpRule_Delete:
			rule.Method, rule.Path = "DELETE", p.Delete
		case *annotations.HttpRule_Patch:
			rule.Method, rule.Path = "PATCH", p.Patch
		case *annotations.HttpRule_Custom:
			rule.Method, rule.Path = p.Custom.GetKind(), p.Custom.GetPath()
		default:
			continue
		}
		out = append(out, rule)
	}
	return out
}

// typeResolver finds a service's own types among its files, and others
// (error details, the types inside an Any) among those linked into the
// program.
type typeResolver struct{ *dynamicpb.Types }

// newTypeResolver returns the type resolver of a service's files.
func newTypeResolver(files *protoregistry.Files) typeResolver {
	return typeResolver{dynamicpb.NewTypes(files)}
}

func (r typeResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if t, err := r.Types.FindMessageByName(name); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

func (r typeResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if t, err := r.Types.FindMessageByURL(url); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}

func (r typeResolver) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if t, err := r.Types.FindExtensionByName(name); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByName(name)
}

func (r typeResolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if t, err := r.Types.FindExtensionByNumber(message, field); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}
