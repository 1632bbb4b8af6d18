package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/registry"
)

// targetFlags are the flags of the commands that talk to the nodes of one
// service: how to find them, and for how long to try.
type targetFlags struct {
	registry  *registryFlags
	addresses []string
	timeout   time.Duration
	token     string
	tls       *tlsFlags
}

// addTargetFlags adds the registry flags, --address and --timeout, whose
// default is timeout and whose meaning timeoutUsage gives.
func addTargetFlags(cmd *cobra.Command, env lookupEnv, timeout time.Duration, timeoutUsage string) *targetFlags {
	f := &targetFlags{registry: addRegistryFlags(cmd, env)}
	cmd.Flags().StringSliceVar(&f.addresses, "address", nil,
		"call these host:port addresses instead of looking the service up (repeat or separate with commas)")
	f.timeout = timeout
	cmd.Flags().Var((*duration)(&f.timeout), "timeout", timeoutUsage+" (0 for no limit)")
	cmd.Flags().StringVar(&f.token, "token", "",
		"the bearer token to call with, sent as authorization on every call, schema reads too (default $MICRO_TOKEN)")
	f.tls = addTLSFlags(cmd, env, "the client certificate to present to nodes that speak TLS and ask for one (mutual TLS)",
		"the CA to verify nodes that speak TLS against, instead of the system's roots")
	return f
}

// newClient returns the client micro calls the nodes with: by address,
// without a default timeout (--timeout bounds each command's context),
// with --token or $MICRO_TOKEN as the caller's bearer token, and dialing
// the nodes that speak TLS with --tls_ca or $MICRO_TLS_CA as the roots
// (else the system's) and --tls_cert and --tls_key ($MICRO_TLS_CERT and
// $MICRO_TLS_KEY), when set, as the client certificate for mutual TLS.
func (f *targetFlags) newClient(cmd *cobra.Command) (client.Client, error) {
	opts := []client.Option{client.WithDefaultTimeout(0)}
	if token := f.registry.setting(cmd, "token", f.token, "MICRO_TOKEN"); token != "" {
		opts = append(opts, client.WithInterceptors(auth.NewClientInterceptor(auth.StaticToken(token))))
	}
	cfg, err := f.tls.nodeConfig(cmd)
	if err != nil {
		return nil, err
	}
	return client.New(append(opts, client.WithTLS(cfg))...), nil
}

// context returns the command's context bounded by --timeout.
func (f *targetFlags) context(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return commandContext(cmd, f.timeout)
}

// find returns the service called name: its registered versions and nodes,
// or, with --address, nodes at those addresses (an empty --address is none).
func (f *targetFlags) find(ctx context.Context, cmd *cobra.Command, name string) (*target, error) {
	if len(f.addresses) > 0 {
		t := &target{name: name}
		for _, address := range f.addresses {
			if address = strings.TrimSpace(address); address != "" {
				t.nodes = append(t.nodes, node{address: address})
			}
		}
		if len(t.nodes) > 0 {
			return t, nil
		}
	}
	reg, err := f.registry.open(cmd)
	if err != nil {
		return nil, err
	}
	defer closeRegistry(reg)
	versions, err := lookupService(ctx, reg, name)
	if err != nil {
		return nil, err
	}
	return newTarget(name, versions), nil
}

// findSchema finds the service called name and reads its schema through c
// from one of its nodes. When it finds the service but no node tells its
// schema, it returns the service and the error.
func (f *targetFlags) findSchema(ctx context.Context, cmd *cobra.Command, c client.Client, name string) (*target, *dynamic.Schema, error) {
	t, err := f.find(ctx, cmd, name)
	if err != nil {
		return nil, nil, err
	}
	addresses := t.addresses()
	if len(addresses) == 0 { // Resolve would ask the client's registry, and it has none
		return t, nil, fmt.Errorf("service %q has no nodes to read its schema from", t.name)
	}
	s, err := dynamic.Resolve(ctx, c, t.name, addresses...)
	return t, s, err
}

// findMethod finds the service called service, its schema, and the method
// of it that method names (see [dynamic.Schema.FindMethod]).
func (f *targetFlags) findMethod(ctx context.Context, cmd *cobra.Command, c client.Client, service, method string) (*target, *dynamic.Schema, protoreflect.MethodDescriptor, error) {
	t, s, err := f.findSchema(ctx, cmd, c, service)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := s.FindMethod(t.name, method)
	if err != nil {
		return nil, nil, nil, &usageError{err} // the service is there; METHOD is wrong
	}
	return t, s, m, nil
}

// newClient returns the client of the commands without [targetFlags], by
// address: without a default timeout, because each command bounds its
// context.
func newClient() client.Client { return client.New(client.WithDefaultTimeout(0)) }

// target is a service and the nodes of it that micro talks to.
type target struct {
	name string
	// versions are the registered versions in order, or nil when the nodes
	// were given by --address.
	versions []*registry.Service
	// nodes are the nodes of every version, in the order of versions and
	// then of node IDs.
	nodes []node
}

// node is one node of a service.
type node struct {
	id, address, version string
	metadata             map[string]string
}

// dialAddress is the node's address as the client dials it:
// "tls://host:port" when it is registered as speaking TLS.
func (n node) dialAddress() string {
	return client.NodeAddress(&registry.Node{Address: n.address, Metadata: n.metadata})
}

// newTarget returns the service called name from its registered versions,
// in a stable order.
func newTarget(name string, versions []*registry.Service) *target {
	versions = slices.Clone(versions)
	slices.SortFunc(versions, func(a, b *registry.Service) int { return cmp.Compare(a.Version, b.Version) })
	t := &target{name: name, versions: versions}
	for _, v := range versions {
		nodes := slices.Clone(v.Nodes)
		slices.SortFunc(nodes, func(a, b *registry.Node) int { return cmp.Compare(a.ID, b.ID) })
		for _, n := range nodes {
			t.nodes = append(t.nodes, node{id: n.ID, address: n.Address, version: v.Version, metadata: n.Metadata})
		}
	}
	return t
}

// addresses returns the address of every node, each once, as the client
// dials it: "tls://host:port" for a node registered as speaking TLS.
func (t *target) addresses() []string {
	seen := make(map[string]bool, len(t.nodes))
	var out []string
	for _, n := range t.nodes {
		address := n.dialAddress()
		if !seen[address] {
			seen[address] = true
			out = append(out, address)
		}
	}
	return out
}

// formatMetadata writes metadata as "k=v, k=v" with the keys sorted.
func formatMetadata(md map[string]string) string {
	pairs := make([]string, 0, len(md))
	for _, key := range slices.Sorted(maps.Keys(md)) {
		pairs = append(pairs, key+"="+md[key])
	}
	return strings.Join(pairs, ", ")
}
