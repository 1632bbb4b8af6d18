package dynamic

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/rpc"
)

// Schema is what a node told through gRPC server reflection about the
// services it serves: everything needed to turn JSON into their messages and
// back, without their proto files. It is built from the node's answers
// alone, never from the descriptors linked into the program.
//
// A Schema does not change once made, and is safe for concurrent use.
type Schema struct {
	files *protoregistry.Files
	types resolver
	// services are those the node lists, by name, infrastructure included.
	services []protoreflect.ServiceDescriptor
}

// Resolve reads the schema of the service called service through server
// reflection over c. It asks the nodes at addresses in turn and returns the
// first answer; with no addresses, it asks the node that c picks for the
// service, which needs a c with a registry. A node that serves only
// grpc.reflection.v1alpha is asked with that.
func Resolve(ctx context.Context, c client.Client, service string, addresses ...string) (*Schema, error) {
	if len(addresses) == 0 {
		s, err := reflectNode(ctx, c, service)
		if err != nil {
			return nil, fmt.Errorf("read the schema of service %q through server reflection: %w", service, err)
		}
		return s, nil
	}
	var errs []error
	for _, address := range addresses {
		s, err := reflectNode(ctx, c, service, client.WithAddress(address))
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", address, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("read the schema of service %q through server reflection: %w", service, stderrors.Join(errs...))
}

// Files returns the files that declare the schema's services and every file
// those import.
func (s *Schema) Files() *protoregistry.Files { return s.files }

// reflectNode reads the schema of a node of service, the one opts choose,
// with grpc.reflection.v1, or with v1alpha for servers that serve only the
// older version. The two versions' messages are the same on the wire, so
// the v1 Go types serve for both.
func reflectNode(ctx context.Context, c client.Client, service string, opts ...client.CallOption) (*Schema, error) {
	var err error
	for _, procedure := range []string{
		rpb.ServerReflection_ServerReflectionInfo_FullMethodName,
		rpbalpha.ServerReflection_ServerReflectionInfo_FullMethodName,
	} {
		var s *Schema
		s, err = reflectWith(ctx, c, service, procedure, opts)
		if errors.CodeOf(err) != errors.CodeUnimplemented {
			return s, err
		}
	}
	return nil, fmt.Errorf("the node serves no gRPC server reflection, which micro needs to read its messages: %w", err)
}

// reflectWith reads the schema of a node of service through procedure: the
// services it lists, the files that declare them and every file those
// import.
func reflectWith(ctx context.Context, c client.Client, service, procedure string, opts []client.CallOption) (*Schema, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the stream
	defer cancel()
	stream, err := c.NewStream(ctx, service, rpc.Spec{Procedure: procedure, StreamType: rpc.BidiStream}, opts...)
	if err != nil {
		return nil, err
	}
	r := reflector{stream}
	list, err := r.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range list.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	slices.Sort(names)

	files := make(map[string]*descriptorpb.FileDescriptorProto)
	for _, name := range names {
		res, err := r.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name}})
		if err != nil {
			return nil, fmt.Errorf("the file of %s: %w", name, err)
		}
		if err := addFiles(files, res); err != nil {
			return nil, fmt.Errorf("the file of %s: %w", name, err)
		}
	}
	// A server may leave out files it sent before on the same stream, or
	// send only the file asked for: ask for the imports still missing.
	for missing := missingImports(files); len(missing) > 0; missing = missingImports(files) {
		for _, name := range missing {
			res, err := r.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name}})
			if err == nil {
				err = addFiles(files, res)
			}
			if err == nil && files[name] == nil {
				err = stderrors.New("the server sent other files")
			}
			if err != nil {
				return nil, fmt.Errorf("the file %s: %w", name, err)
			}
		}
	}

	return newSchema(slices.Collect(maps.Values(files)), names)
}

// newSchema builds the schema of the services called names from the files
// that declare them and every file those import, in any order. Names that
// the files do not declare as services are left out.
func newSchema(files []*descriptorpb.FileDescriptorProto, names []string) (*Schema, error) {
	set := &descriptorpb.FileDescriptorSet{File: slices.Clone(files)}
	slices.SortFunc(set.File, func(a, b *descriptorpb.FileDescriptorProto) int { return strings.Compare(a.GetName(), b.GetName()) })
	registry, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("the server's descriptors: %w", err)
	}
	s := &Schema{files: registry, types: resolver{dynamicpb.NewTypes(registry)}}
	for _, name := range names {
		if d, err := registry.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
			if service, ok := d.(protoreflect.ServiceDescriptor); ok {
				s.services = append(s.services, service)
			}
		}
	}
	return s, nil
}

// reflector asks questions on one server reflection stream.
type reflector struct{ stream client.Stream }

// ask sends req and returns the answer; an error answer is returned as an
// error with its code.
func (r reflector) ask(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	// On io.EOF the server has ended the stream, and RecvMsg says why.
	if err := r.stream.SendMsg(req); err != nil && !stderrors.Is(err, io.EOF) {
		return nil, err
	}
	res := new(rpb.ServerReflectionResponse)
	if err := r.stream.RecvMsg(res); err != nil {
		if stderrors.Is(err, io.EOF) {
			return nil, stderrors.New("the server ended the reflection stream")
		}
		return nil, err
	}
	if e := res.GetErrorResponse(); e != nil {
		return nil, errors.New(errors.Code(e.GetErrorCode()), stderrors.New(e.GetErrorMessage()))
	}
	return res, nil
}

// addFiles adds the files of a reflection answer to files, by name.
func addFiles(files map[string]*descriptorpb.FileDescriptorProto, res *rpb.ServerReflectionResponse) error {
	for _, raw := range res.GetFileDescriptorResponse().GetFileDescriptorProto() {
		file := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(raw, file); err != nil {
			return fmt.Errorf("decode a file descriptor: %w", err)
		}
		files[file.GetName()] = file
	}
	return nil
}

// missingImports returns the files that files import but do not hold, sorted.
func missingImports(files map[string]*descriptorpb.FileDescriptorProto) []string {
	var missing []string
	for _, file := range files {
		for _, dep := range file.GetDependency() {
			if files[dep] == nil && !slices.Contains(missing, dep) {
				missing = append(missing, dep)
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// infrastructure reports whether a service is one that every micro server
// adds (health checking, reflection) rather than one of its own.
func infrastructure(service protoreflect.ServiceDescriptor) bool {
	switch service.FullName() {
	case "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection":
		return true
	}
	return false
}
