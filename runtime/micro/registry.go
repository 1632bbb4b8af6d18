package micro

import (
	"fmt"
	"strings"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/etcd"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/registry/mdns"
	"github.com/protomicro/micro/runtime/registry/memory"
)

// RegistryNames returns the names [NewRegistry] knows, which are what
// --registry and MICRO_REGISTRY accept.
func RegistryNames() []string { return []string{"local", "mdns", "etcd", "memory"} }

// NewRegistry builds the registry named name (one of [RegistryNames]) at
// address, or at its default address when address is "": a directory for
// local, comma-separated endpoints for etcd; mdns and memory take none.
// Services use it for --registry; tools such as the micro command use it to
// find services the same way.
func NewRegistry(name, address string) (registry.Registry, error) {
	switch name {
	case "local":
		var opts []local.Option
		if address != "" {
			opts = append(opts, local.WithDir(address))
		}
		return local.New(opts...)
	case "memory":
		return memory.New(), nil
	case "mdns":
		return mdns.New(), nil
	case "etcd":
		var opts []etcd.Option
		if address != "" {
			opts = append(opts, etcd.WithEndpoints(strings.Split(address, ",")...))
		}
		return etcd.New(opts...)
	}
	return nil, fmt.Errorf("unknown registry %q: want one of %s", name, strings.Join(RegistryNames(), ", "))
}
