package dynamic

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protomicro/micro/runtime/rpc"
)

// FindMethod returns the method that arg names on the service called
// service (which the schema is of, for the errors), in any of the spellings
// micro accepts: the procedure
// ("/greeter.v1.Greeter/Hello", with or without the leading slash), the
// service and method ("greeter.v1.Greeter.Hello", "Greeter.Hello"), or the
// method alone ("Hello") when one service has it. The short spellings look
// only at the service's own services, not at health checking or reflection.
// When arg names no method, or several, the error lists the candidates.
func (s *Schema) FindMethod(service, arg string) (protoreflect.MethodDescriptor, error) {
	var matches []protoreflect.MethodDescriptor
	for _, sd := range s.services {
		own := !infrastructure(sd)
		methods := sd.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			full := string(sd.FullName()) + "/" + string(m.Name())
			switch arg {
			case "/" + full, full, string(m.FullName()):
				return m, nil // a full name is never ambiguous
			case string(sd.Name()) + "." + string(m.Name()), string(m.Name()):
				if own {
					matches = append(matches, m)
				}
			}
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, fmt.Errorf("service %q has no method %q; its methods are:\n  %s", service, arg, strings.Join(s.procedures(), "\n  "))
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = procedure(m)
	}
	return nil, fmt.Errorf("method %q of service %q is ambiguous; name one of:\n  %s", arg, service, strings.Join(names, "\n  "))
}

// Methods returns the methods of the service's own services, not those of
// health checking and reflection, in the order the node lists the services
// and they declare their methods.
func (s *Schema) Methods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	for _, sd := range s.services {
		if infrastructure(sd) {
			continue
		}
		for i := range sd.Methods().Len() {
			out = append(out, sd.Methods().Get(i))
		}
	}
	return out
}

// procedures returns the procedures of [Schema.Methods], with the kind of
// the streaming ones.
func (s *Schema) procedures() []string {
	var out []string
	for _, m := range s.Methods() {
		p := procedure(m)
		if kind := streamType(m); kind != rpc.Unary {
			p += " (" + kind.String() + ")"
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// procedure returns the gRPC path of m, "/greeter.v1.Greeter/Hello".
func procedure(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

// streamType returns which sides of m stream.
func streamType(m protoreflect.MethodDescriptor) rpc.StreamType {
	switch {
	case m.IsStreamingClient() && m.IsStreamingServer():
		return rpc.BidiStream
	case m.IsStreamingClient():
		return rpc.ClientStream
	case m.IsStreamingServer():
		return rpc.ServerStream
	}
	return rpc.Unary
}

// Spec returns what a client needs to call m: its procedure
// ("/greeter.v1.Greeter/Hello"), which sides stream, and the
// idempotency_level of its options, which lets the client retry a call that
// may be retried.
func Spec(m protoreflect.MethodDescriptor) rpc.Spec {
	s := rpc.Spec{Procedure: procedure(m), StreamType: streamType(m)}
	if opts, ok := m.Options().(*descriptorpb.MethodOptions); ok {
		s.Idempotency = rpc.Idempotency(opts.GetIdempotencyLevel())
	}
	return s
}
