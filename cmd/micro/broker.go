package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/nats"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/micro"
)

// brokerFlags are --broker and --broker_address, which choose the broker as
// a service's flags of the same names do (runtime/micro), with the same
// environment variables as fallback, and the flags that find message types.
type brokerFlags struct {
	registry *registryFlags
	name     string
	address  string
	service  string
	typeName string
}

// addBrokerFlags adds the broker flags, the registry flags and --service
// to cmd.
func addBrokerFlags(cmd *cobra.Command, env lookupEnv) *brokerFlags {
	f := &brokerFlags{registry: addRegistryFlags(cmd, env)}
	flags := cmd.Flags()
	flags.StringVar(&f.name, "broker", "",
		fmt.Sprintf("the broker events go through: %s (default $MICRO_BROKER, else local)", strings.Join(brokerNames(), ", ")))
	flags.StringVar(&f.address, "broker_address", "",
		"the broker's address: a directory for local, NATS server URLs for nats (default $MICRO_BROKER_ADDRESS, else the broker's own)")
	flags.StringVar(&f.service, "service", "", "read message types from this registered service (default: the first registered service that has the type)")
	_ = cmd.RegisterFlagCompletionFunc("broker", cobra.FixedCompletions(brokerNames(), cobra.ShellCompDirectiveNoFileComp))
	return f
}

// brokerKinds are the brokers the micro command has beyond local and
// memory: NATS, so that micro publish and micro subscribe reach the events
// of services that use it. Services link it only when they name it (see
// micro.WithBrokers); the micro command is a tool for all of them.
var brokerKinds = []micro.BrokerKind{{Name: "nats", Open: nats.Open}}

// brokerNames are the names --broker takes.
func brokerNames() []string { return micro.BrokerNames(brokerKinds...) }

// open opens the broker the flags or the environment name, local by
// default. The caller closes it.
func (f *brokerFlags) open(cmd *cobra.Command) (broker.Broker, error) {
	name := f.registry.setting(cmd, "broker", f.name, "MICRO_BROKER")
	if name == "" {
		name = "local"
	}
	address := f.registry.setting(cmd, "broker_address", f.address, "MICRO_BROKER_ADDRESS")
	if !slices.Contains(brokerNames(), name) {
		return nil, &usageError{fmt.Errorf("unknown broker %q: want one of %s", name, strings.Join(brokerNames(), ", "))}
	}
	b, err := micro.NewBroker(name, address, brokerKinds...)
	if err != nil {
		return nil, fmt.Errorf("open the %s broker: %w", name, err)
	}
	return b, nil
}

// types finds message types by full name: those linked into micro (the
// well-known types), then those of the services in the registry, read
// through server reflection.
type types struct {
	flags   *brokerFlags
	cmd     *cobra.Command
	schemas []*dynamic.Schema // read so far
	read    bool              // all the services' schemas have been read
}

// find returns the message type named name, with the schema to encode and
// decode it (nil for a type linked into micro).
func (t *types) find(ctx context.Context, name string) (protoreflect.MessageDescriptor, *dynamic.Schema, error) {
	full := protoreflect.FullName(name)
	if !full.IsValid() {
		return nil, nil, &usageError{fmt.Errorf("%q is not a message type's full name", name)}
	}
	// Only the well-known types: whatever else a build of micro happens to
	// link (its tests link services) is read from the services, as always.
	if t.flags.service == "" && strings.HasPrefix(name, "google.protobuf.") {
		if mt, err := protoregistry.GlobalTypes.FindMessageByName(full); err == nil {
			return mt.Descriptor(), nil, nil
		}
	}
	for _, s := range t.schemas {
		if md, ok := findMessage(s, full); ok {
			return md, s, nil
		}
	}
	if err := t.readSchemas(ctx); err != nil {
		return nil, nil, err
	}
	for _, s := range t.schemas {
		if md, ok := findMessage(s, full); ok {
			return md, s, nil
		}
	}
	where := "any registered service"
	if t.flags.service != "" {
		where = fmt.Sprintf("service %q", t.flags.service)
	}
	return nil, nil, &usageError{fmt.Errorf("message type %s is not known to %s: give the type with --type, and a service that uses it with --service", name, where)}
}

// readSchemas reads the schema of --service, or of every registered
// service, once.
func (t *types) readSchemas(ctx context.Context) error {
	if t.read {
		return nil
	}
	t.read = true
	where := &targetFlags{registry: t.flags.registry}
	c := newClient()
	defer func() { _ = c.Close() }()
	if t.flags.service != "" {
		_, s, err := where.findSchema(ctx, t.cmd, c, t.flags.service)
		if err != nil {
			return err
		}
		t.schemas = append(t.schemas, s)
		return nil
	}
	reg, err := t.flags.registry.open(t.cmd)
	if err != nil {
		return err
	}
	names, err := serviceNames(ctx, reg)
	closeRegistry(reg)
	if err != nil {
		return err
	}
	for _, name := range names {
		// A service that cannot tell its schema has no types to offer.
		if _, s, err := where.findSchema(ctx, t.cmd, c, name); err == nil {
			t.schemas = append(t.schemas, s)
		} else if ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// declarer returns the message type that declares topic with option
// (micro.v1.topic) among the types of --service, or of every registered
// service, with its schema; found is false when none does.
func (t *types) declarer(ctx context.Context, topic string) (md protoreflect.MessageDescriptor, s *dynamic.Schema, found bool, err error) {
	if err := t.readSchemas(ctx); err != nil {
		return nil, nil, false, err
	}
	for _, s := range t.schemas {
		s.Files().RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			md = declaring(fd.Messages(), topic)
			return md == nil
		})
		if md != nil {
			return md, s, true, nil
		}
	}
	return nil, nil, false, nil
}

// declaring returns the message among messages, or nested in them, that
// declares topic, or nil.
func declaring(messages protoreflect.MessageDescriptors, topic string) protoreflect.MessageDescriptor {
	for i := range messages.Len() {
		md := messages.Get(i)
		if broker.DeclaredTopic(md) == topic {
			return md
		}
		if nested := declaring(md.Messages(), topic); nested != nil {
			return nested
		}
	}
	return nil
}

func findMessage(s *dynamic.Schema, name protoreflect.FullName) (protoreflect.MessageDescriptor, bool) {
	d, err := s.Files().FindDescriptorByName(name)
	if err != nil {
		return nil, false
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	return md, ok
}

// decodeJSON decodes data into a new message of type md.
func decodeJSON(s *dynamic.Schema, md protoreflect.MessageDescriptor, data []byte) (protoreflect.ProtoMessage, error) {
	if s != nil {
		return s.DecodeJSON(data, md, dynamic.Position{})
	}
	msg := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal(data, msg); err != nil {
		return nil, fmt.Errorf("does not fit %s: %w", md.FullName(), err)
	}
	return msg, nil
}
