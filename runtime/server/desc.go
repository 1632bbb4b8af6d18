package server

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/rpc"
)

// ServiceDesc describes one service for registration: its fully-qualified
// proto name and its methods. Generated code builds it with [NewServiceDesc].
type ServiceDesc struct {
	// Name is the proto service's full name, "greeter.v1.Greeter".
	Name    string
	Methods []*MethodDesc
}

// NewServiceDesc describes the service with the given full name. Used by
// generated code.
func NewServiceDesc(name string, methods ...*MethodDesc) *ServiceDesc {
	return &ServiceDesc{Name: name, Methods: methods}
}

// MethodDesc describes one method of a service and holds its handler. Build it
// with [NewUnaryMethod], [NewServerStreamMethod], [NewClientStreamMethod] or
// [NewBidiStreamMethod]; the exported fields are for reading.
type MethodDesc struct {
	// Procedure is the gRPC method path, "/greeter.v1.Greeter/Hello".
	Procedure   string
	StreamType  rpc.StreamType
	Idempotency rpc.Idempotency
	// Request and Response are the full names of the message types,
	// "greeter.v1.HelloRequest", or "" for types that are not proto messages.
	Request  string
	Response string
	// HTTP lists the method's routes from its google.api.http annotation.
	HTTP []rpc.HTTPRule
	// Access is who may call the method, from micro's access options; nil
	// when the proto declares none.
	Access *rpc.Access
	// Doc is the method's leading comment in the proto, and FieldDocs the
	// leading comments of its request's fields by field path ("book.title"),
	// both bounded in size by the generator: runtime descriptors carry no
	// comments, so tools that describe a method (micro mcp, the dashboard)
	// find them here, through the registry.
	Doc       string
	FieldDocs map[string]string

	newRequest func() any
	unary      func(ctx context.Context, req any) (any, error) // set for unary methods
	stream     rpc.StreamingHandlerFunc                        // set for streaming methods
}

// Spec returns the [rpc.Spec] of the method.
func (m *MethodDesc) Spec() rpc.Spec {
	return rpc.Spec{Procedure: m.Procedure, StreamType: m.StreamType, Idempotency: m.Idempotency, HTTP: m.HTTP, Access: m.Access}
}

// MethodOption adds what the proto says about a method beyond its types.
type MethodOption interface {
	applyMethod(*MethodDesc)
}

type methodOptionFunc func(*MethodDesc)

func (f methodOptionFunc) applyMethod(m *MethodDesc) { f(m) }

// WithIdempotency records the method's idempotency_level. Used by generated
// code; the default is [rpc.IdempotencyUnknown].
func WithIdempotency(level rpc.Idempotency) MethodOption {
	return methodOptionFunc(func(m *MethodDesc) { m.Idempotency = level })
}

// WithHTTPRule adds an HTTP route from the method's google.api.http
// annotation; a rule with additional bindings becomes several options. Used
// by generated code.
func WithHTTPRule(rule rpc.HTTPRule) MethodOption {
	return methodOptionFunc(func(m *MethodDesc) { m.HTTP = append(m.HTTP, rule) })
}

// WithAccess records who may call the method, from its (micro.v1.access)
// option or its service's (micro.v1.service_access). Used by generated code.
func WithAccess(access rpc.Access) MethodOption {
	return methodOptionFunc(func(m *MethodDesc) { m.Access = &access })
}

// WithDoc records the method's leading comment in the proto. Used by
// generated code.
func WithDoc(text string) MethodOption {
	return methodOptionFunc(func(m *MethodDesc) { m.Doc = text })
}

// WithFieldDoc records the leading comment of the request field at path,
// "book.title". Used by generated code.
func WithFieldDoc(path, text string) MethodOption {
	return methodOptionFunc(func(m *MethodDesc) {
		if m.FieldDocs == nil {
			m.FieldDocs = make(map[string]string)
		}
		m.FieldDocs[path] = text
	})
}

// NewUnaryMethod describes a unary method served by fn. Used by generated
// code.
func NewUnaryMethod[Req, Res any](procedure string, fn func(context.Context, *Req) (*Res, error), opts ...MethodOption) *MethodDesc {
	m := newMethod[Req, Res](procedure, rpc.Unary, opts)
	m.unary = func(ctx context.Context, req any) (any, error) {
		return fn(ctx, req.(*Req))
	}
	return m
}

// NewServerStreamMethod describes a server-streaming method served by fn:
// fn gets the request and sends responses on the stream until it returns.
// Used by generated code.
func NewServerStreamMethod[Req, Res any](procedure string, fn func(context.Context, *Req, ServerStream[Res]) error, opts ...MethodOption) *MethodDesc {
	m := newMethod[Req, Res](procedure, rpc.ServerStream, opts)
	m.stream = func(ctx context.Context, s rpc.HandlerConn) error {
		req := new(Req)
		if err := s.RecvMsg(req); err != nil {
			return noRequest(procedure, err)
		}
		return fn(ctx, req, &typedStream[Req, Res]{s})
	}
	return m
}

// NewClientStreamMethod describes a client-streaming method served by fn: fn
// receives requests until [ClientStream.Recv] returns io.EOF, then returns
// the one response. Used by generated code.
func NewClientStreamMethod[Req, Res any](procedure string, fn func(context.Context, ClientStream[Req]) (*Res, error), opts ...MethodOption) *MethodDesc {
	m := newMethod[Req, Res](procedure, rpc.ClientStream, opts)
	m.stream = func(ctx context.Context, s rpc.HandlerConn) error {
		res, err := fn(ctx, &typedStream[Req, Res]{s})
		if err != nil {
			return err
		}
		return s.SendMsg(res)
	}
	return m
}

// NewBidiStreamMethod describes a bidirectional-streaming method served by
// fn, which receives and sends on the stream until it returns. Used by
// generated code.
func NewBidiStreamMethod[Req, Res any](procedure string, fn func(context.Context, BidiStream[Req, Res]) error, opts ...MethodOption) *MethodDesc {
	m := newMethod[Req, Res](procedure, rpc.BidiStream, opts)
	m.stream = func(ctx context.Context, s rpc.HandlerConn) error {
		return fn(ctx, &typedStream[Req, Res]{s})
	}
	return m
}

func newMethod[Req, Res any](procedure string, typ rpc.StreamType, opts []MethodOption) *MethodDesc {
	m := &MethodDesc{
		Procedure:  procedure,
		StreamType: typ,
		Request:    messageName[Req](),
		Response:   messageName[Res](),
		newRequest: func() any { return new(Req) },
	}
	for _, opt := range opts {
		opt.applyMethod(m)
	}
	return m
}

func messageName[T any]() string {
	if m, ok := any(new(T)).(proto.Message); ok {
		return string(m.ProtoReflect().Descriptor().FullName())
	}
	return ""
}

// validate reports what keeps desc from being served.
func (desc *ServiceDesc) validate() error {
	if desc == nil || desc.Name == "" {
		return fmt.Errorf("register: service descriptor has no name")
	}
	seen := make(map[string]bool, len(desc.Methods))
	for _, m := range desc.Methods {
		if m == nil {
			return fmt.Errorf("register service %s: nil method", desc.Name)
		}
		service, method := rpc.SplitProcedure(m.Procedure)
		if service != desc.Name {
			return fmt.Errorf("register service %s: procedure %q is not of the form /%s/Method", desc.Name, m.Procedure, desc.Name)
		}
		if seen[method] {
			return fmt.Errorf("register service %s: method %s described twice", desc.Name, method)
		}
		seen[method] = true
		if (m.unary == nil) == (m.stream == nil) || (m.unary != nil) != (m.StreamType == rpc.Unary) {
			return fmt.Errorf("register service %s: method %s has no handler of its kind (build methods with NewUnaryMethod and its siblings)", desc.Name, method)
		}
	}
	return nil
}

// CheckHandler reports what would make handler h of the named service panic
// on its first call, or at registration: a nil h, a nil pointer, or an
// Unimplemented handler embedded as a nil pointer (embed it by value). Used
// by generated code, before it takes the handler's methods.
func CheckHandler(service string, h any) error {
	v := reflect.ValueOf(h)
	if !v.IsValid() {
		return fmt.Errorf("register service %s: the handler is nil", service)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return fmt.Errorf("register service %s: the handler is a nil %T", service, h)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for i := range v.NumField() {
		field := v.Type().Field(i)
		if !field.Anonymous || field.Type.Kind() != reflect.Pointer || !v.Field(i).IsNil() {
			continue
		}
		if name := field.Type.Elem().Name(); strings.HasPrefix(name, "Unimplemented") {
			return fmt.Errorf("register service %s: the handler %T embeds a nil *%s; embed %s by value", service, h, name, name)
		}
	}
	return nil
}
