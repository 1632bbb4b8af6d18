package proxy

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpbv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/dynamic"
)

// resolveTimeout bounds reading one service's schema, so that a node that
// does not answer holds up a reflection call only so long.
const resolveTimeout = 5 * time.Second

// reflectionV1 answers grpc.reflection.v1 for the union of the services
// behind the proxy.
type reflectionV1 struct{ p *Proxy }

func (r reflectionV1) ServerReflectionInfo(stream grpc.BidiStreamingServer[rpbv1.ServerReflectionRequest, rpbv1.ServerReflectionResponse]) error {
	return reflection.NewServerV1(r.p.union(stream.Context())).ServerReflectionInfo(stream)
}

// reflectionV1alpha answers grpc.reflection.v1alpha, as reflectionV1 does
// v1, for older clients.
type reflectionV1alpha struct{ p *Proxy }

//nolint:staticcheck // v1alpha is deprecated, but older reflection clients still ask only for it
func (r reflectionV1alpha) ServerReflectionInfo(stream grpc.BidiStreamingServer[rpbv1alpha.ServerReflectionRequest, rpbv1alpha.ServerReflectionResponse]) error {
	return reflection.NewServer(r.p.union(stream.Context())).ServerReflectionInfo(stream)
}

// schemaCache keeps each service's schema until its endpoints change.
type schemaCache struct {
	mu      sync.Mutex
	schemas map[string]cachedSchema // by registry name
}

type cachedSchema struct {
	key   string // the endpoints the schema was read for
	files *protoregistry.Files
}

// union returns what a reflection call answers with: the proxy's own
// services and the proto services behind it, described by the union of
// their schemas (where two declare one file or name, the service whose
// registry name sorts first wins).
func (p *Proxy) union(ctx context.Context) reflection.ServerOptions {
	t := p.table.Load()
	schemas := p.schemas.read(ctx, p, t)

	files := new(protoregistry.Files)
	services := serviceInfo{}
	add := func(fd protoreflect.FileDescriptor) bool { return addWith(files, fd) }
	for _, fd := range []protoreflect.FileDescriptor{healthpb.File_grpc_health_v1_health_proto, rpbv1.File_grpc_reflection_v1_reflection_proto, rpbv1alpha.File_grpc_reflection_v1alpha_reflection_proto} {
		add(fd)
		for i := range fd.Services().Len() {
			services[string(fd.Services().Get(i).FullName())] = grpc.ServiceInfo{}
		}
	}
	for _, name := range t.names {
		s := schemas[name]
		if s == nil {
			continue
		}
		s.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			if !add(fd) {
				p.config.logger.Warn("proxy: a file of a service conflicts with one of another; reflection leaves it out", "service", name, "file", fd.Path())
				return true
			}
			for i := range fd.Services().Len() {
				sd := fd.Services().Get(i)
				if t.protos[string(sd.FullName())] == name {
					services[string(sd.FullName())] = grpc.ServiceInfo{}
				}
			}
			return true
		})
	}
	return reflection.ServerOptions{Services: services, DescriptorResolver: files, ExtensionResolver: extensions{files, dynamicpb.NewTypes(files)}}
}

// addWith registers fd and its imports in files, unless files has them.
func addWith(files *protoregistry.Files, fd protoreflect.FileDescriptor) bool {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return true
	}
	for i := range fd.Imports().Len() {
		if !addWith(files, fd.Imports().Get(i).FileDescriptor) {
			return false
		}
	}
	return files.RegisterFile(fd) == nil
}

// read returns the schemas of t's services, reading those it has not read
// for their current endpoints; a service whose schema cannot be read is
// logged and left out.
func (c *schemaCache) read(ctx context.Context, p *Proxy, t *table) map[string]*protoregistry.Files {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schemas == nil {
		c.schemas = make(map[string]cachedSchema)
	}
	for name := range c.schemas {
		if _, ok := slices.BinarySearch(t.names, name); !ok {
			delete(c.schemas, name)
		}
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for _, name := range t.names {
		if s, ok := c.schemas[name]; ok && s.key == t.keys[name] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
			defer cancel()
			schema, err := dynamic.Resolve(ctx, p.client, name)
			if err != nil {
				p.config.logger.Warn("proxy: reflection leaves out a service", "service", name, "error", err)
				return
			}
			mu.Lock()
			c.schemas[name] = cachedSchema{key: t.keys[name], files: schema.Files()}
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := make(map[string]*protoregistry.Files, len(c.schemas))
	for name, s := range c.schemas {
		out[name] = s.files
	}
	return out
}

// serviceInfo lists the services reflection names.
type serviceInfo map[string]grpc.ServiceInfo

func (s serviceInfo) GetServiceInfo() map[string]grpc.ServiceInfo { return s }

// extensions finds the extensions the union's files declare.
type extensions struct {
	files *protoregistry.Files
	*dynamicpb.Types
}

func (x extensions) RangeExtensionsByMessage(message protoreflect.FullName, f func(protoreflect.ExtensionType) bool) {
	x.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		return rangeExtensions(fd.Extensions(), fd.Messages(), message, f)
	})
}

// rangeExtensions calls f with each extension of message among xds and
// those nested in mds, until f returns false; it returns whether to go on.
func rangeExtensions(xds protoreflect.ExtensionDescriptors, mds protoreflect.MessageDescriptors, message protoreflect.FullName, f func(protoreflect.ExtensionType) bool) bool {
	for i := range xds.Len() {
		if xd := xds.Get(i); xd.ContainingMessage().FullName() == message && !f(dynamicpb.NewExtensionType(xd)) {
			return false
		}
	}
	for i := range mds.Len() {
		if md := mds.Get(i); !rangeExtensions(md.Extensions(), md.Messages(), message, f) {
			return false
		}
	}
	return true
}
