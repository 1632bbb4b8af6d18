package broker

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	microv1 "github.com/protomicro/micro/runtime/proto/micro/v1"
)

// DeclaredTopic returns the topic md declares in the proto with option
// (micro.v1.topic), or "" when it declares none. It reads the option whether
// the descriptor was compiled into the program or built at run time (from
// server reflection, say), where the option may still be in its wire form.
func DeclaredTopic(md protoreflect.MessageDescriptor) string {
	opts, ok := md.Options().(*descriptorpb.MessageOptions)
	if !ok || opts == nil {
		return ""
	}
	if proto.HasExtension(opts, microv1.E_Topic) {
		return proto.GetExtension(opts, microv1.E_Topic).(string)
	}
	if len(opts.ProtoReflect().GetUnknown()) == 0 {
		return ""
	}
	// Options parsed before the extension was known: parse them again.
	wire, err := proto.Marshal(opts)
	if err != nil {
		return ""
	}
	parsed := new(descriptorpb.MessageOptions)
	if err := (proto.UnmarshalOptions{Resolver: topicResolver{}}).Unmarshal(wire, parsed); err != nil {
		return ""
	}
	return proto.GetExtension(parsed, microv1.E_Topic).(string)
}

// topicResolver resolves the topic option only.
type topicResolver struct{}

func (topicResolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if field == microv1.E_Topic.TypeDescriptor().FullName() {
		return microv1.E_Topic, nil
	}
	return nil, protoregistry.NotFound
}

func (topicResolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	xd := microv1.E_Topic.TypeDescriptor()
	if message == xd.ContainingMessage().FullName() && field == xd.Number() {
		return microv1.E_Topic, nil
	}
	return nil, protoregistry.NotFound
}

// TopicOf returns the topic md's events go on when no topic is given: the
// topic it declares ([DeclaredTopic]), or else its full name.
func TopicOf(md protoreflect.MessageDescriptor) string {
	if topic := DeclaredTopic(md); topic != "" {
		return topic
	}
	return string(md.FullName())
}

// CheckTopic reports an error when topic is declared, with option
// (micro.v1.topic), by a message type other than md: a topic carries the one
// type that declares it. The error names the topic and both types. Topics
// are looked up among the message types compiled into the program; a topic
// that none declares takes any type.
func CheckTopic(topic string, md protoreflect.MessageDescriptor) error {
	declarer, ok := declaredTopics()[topic]
	if !ok || declarer == md.FullName() {
		return nil
	}
	return fmt.Errorf("topic %q is declared by %s, not %s: publish and subscribe %s on it, or use another topic", topic, declarer, md.FullName(), declarer)
}

// declaredTopics maps every topic declared by a message type compiled into
// the program to that type. A topic two types declare is left out: it has
// no one type to check against. Types register in package initialization, so
// the map is built once, on first use.
var declaredTopics = sync.OnceValue(func() map[string]protoreflect.FullName {
	topics := make(map[string]protoreflect.FullName)
	ambiguous := make(map[string]bool)
	var walk func(protoreflect.MessageDescriptors)
	walk = func(messages protoreflect.MessageDescriptors) {
		for i := range messages.Len() {
			md := messages.Get(i)
			if topic := DeclaredTopic(md); topic != "" {
				if other, ok := topics[topic]; ok && other != md.FullName() {
					ambiguous[topic] = true
				}
				topics[topic] = md.FullName()
			}
			walk(md.Messages())
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		walk(fd.Messages())
		return true
	})
	for topic := range ambiguous {
		delete(topics, topic)
	}
	return topics
})
