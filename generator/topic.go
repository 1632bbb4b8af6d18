package generator

import (
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/protomicro/micro/runtime/broker"
	microv1 "github.com/protomicro/micro/runtime/proto/micro/v1"
)

// brokerPackage is the runtime package the event helpers call.
const brokerPackage = protogen.GoImportPath("github.com/protomicro/micro/runtime/broker")

// topicMessage is a message that declares its event topic with option
// (micro.v1.topic).
type topicMessage struct {
	message *protogen.Message
	topic   string
}

// topicMessages returns the messages of file, nested ones included, that
// declare a topic, in proto order. It rejects a topic that is not a valid
// topic for every broker (empty, or with characters such as ' ', '*' and '>'
// that NATS subjects reserve).
func topicMessages(file *protogen.File) ([]topicMessage, error) {
	var out []topicMessage
	var walk func([]*protogen.Message) error
	walk = func(messages []*protogen.Message) error {
		for _, message := range messages {
			topic, ok, err := topicOption(message)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, topicMessage{message: message, topic: topic})
			}
			if err := walk(message.Messages); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(file.Messages)
}

// topicIndex remembers the topics each file of a request declares, as
// topicMessages returns them: the checks of every generated file read those
// of all the others, and reading a message's options is most of the cost of
// a run when done again for each file.
type topicIndex map[*protogen.File]fileTopics

type fileTopics struct {
	topics []topicMessage
	err    error
}

// of returns topicMessages(file), read once.
func (index topicIndex) of(file *protogen.File) ([]topicMessage, error) {
	if t, ok := index[file]; ok {
		return t.topics, t.err
	}
	topics, err := topicMessages(file)
	index[file] = fileTopics{topics, err}
	return topics, err
}

// topicOption reads the topic option of message and validates it.
func topicOption(message *protogen.Message) (string, bool, error) {
	topic, ok := stringExtension(message.Desc.Options(), microv1.E_Topic)
	if !ok {
		return "", false, nil
	}
	if err := broker.ValidateTopic(topic); err != nil {
		return "", false, fmt.Errorf("message %s: option (%s): %w",
			message.Desc.FullName(), microv1.E_Topic.TypeDescriptor().FullName(), err)
	}
	return topic, true, nil
}

// checkTopics rejects two messages of the request that declare the same
// topic: a topic carries one message type, which subscribers decode.
func checkTopics(gen *protogen.Plugin, file *protogen.File, topics []topicMessage, index topicIndex) error {
	declared := make(map[string]*protogen.Message)
	for _, f := range gen.Files {
		if f == file {
			continue
		}
		others, err := index.of(f)
		if err != nil {
			continue // reported with that file, when it is generated
		}
		for _, t := range others {
			declared[t.topic] = t.message
		}
	}
	for _, t := range topics {
		if other, ok := declared[t.topic]; ok {
			return fmt.Errorf("message %s: option (%s) %q is also declared by message %s; a topic carries one message type, so give one of them another topic",
				t.message.Desc.FullName(), microv1.E_Topic.TypeDescriptor().FullName(), t.topic, other.Desc.FullName())
		}
		declared[t.topic] = t.message
	}
	return nil
}

func genTopicConstants(g *protogen.GeneratedFile, file *protogen.File, topics []topicMessage) {
	genComment(g, "", false, "The event topics the messages of "+file.Desc.Path()+
		" declare with option (micro.v1.topic): their events are published and subscribed to there.")
	g.P("const (")
	for _, t := range topics {
		n := newTopicNames(t.message)
		g.AnnotateSymbol(n.Topic, protogen.Annotation{Location: t.message.Location})
		genComment(g, "", deprecated(t.message.Desc.Options()), n.Topic+" is the topic of "+string(t.message.Desc.FullName())+" events.")
		g.P(n.Topic, " = ", quote(t.topic))
	}
	g.P(")")
	g.P()
}

func genTopic(g *protogen.GeneratedFile, t topicMessage) {
	n := newTopicNames(t.message)
	msg := t.message.GoIdent
	isDeprecated := deprecated(t.message.Desc.Options())
	imports := []protogen.GoImportPath{contextPackage, brokerPackage, msg.GoImportPath}
	ctxParam, brokerParam, msgParam := localName("ctx", imports), localName("b", imports), localName("msg", imports)
	handleParam, optsParam := localName("handle", imports), localName("opts", imports)

	g.AnnotateSymbol(n.Publish, protogen.Annotation{Location: t.message.Location})
	genComment(g, "", isDeprecated, n.Publish+" publishes "+msgParam+" as an event on "+n.Topic+" through "+brokerParam+
		", a service's broker or any other; see broker.Publish for the event and its options.")
	g.P("func ", n.Publish, "(", ctxParam, " ", contextPackage.Ident("Context"), ", ", brokerParam, " ", brokerPackage.Ident("Broker"),
		", ", msgParam, " *", msg, ", ", optsParam, " ...", brokerPackage.Ident("PublishOption"), ") error {")
	g.P("return ", brokerPackage.Ident("Publish"), "(", ctxParam, ", ", brokerParam, ", ", n.Topic, ", ", msgParam, ", ", optsParam, "...)")
	g.P("}")
	g.P()

	g.AnnotateSymbol(n.Subscribe, protogen.Annotation{Location: t.message.Location})
	genComment(g, "", isDeprecated, n.Subscribe+" subscribes "+handleParam+" to the "+string(t.message.Desc.FullName())+
		" events on "+n.Topic+" through "+brokerParam+": a service's broker shares them among the service's nodes. "+
		"Returning nil acknowledges an event, an error has it delivered again; see broker.Subscribe for the options.")
	g.P("func ", n.Subscribe, "(", brokerParam, " ", brokerPackage.Ident("Broker"), ", ", handleParam, " func(", contextPackage.Ident("Context"),
		", *", msg, ") error, ", optsParam, " ...", brokerPackage.Ident("SubscribeOption"), ") error {")
	g.P("return ", brokerPackage.Ident("Subscribe"), "(", brokerParam, ", ", n.Topic, ", ", handleParam, ", ", optsParam, "...)")
	g.P("}")
	g.P()
}
