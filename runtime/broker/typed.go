package broker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/internal/tracecontext"
	"github.com/protomicro/micro/runtime/metadata"
)

// Publish publishes msg on topic through b, as an [Event] whose type is
// msg's full name. An empty topic is the one msg's type declares in the
// proto with option (micro.v1.topic), or else that full name ([TopicOf]). A
// topic another message type declares is refused, naming both types
// ([CheckTopic]). The event carries the trace context as extensions: the
// traceparent, tracestate and baggage of the span and baggage in ctx, or else
// of ctx's outgoing metadata;
// opts set its ID, source, encoding and other extensions. Through a
// service's broker ([ForService]) the default source is the service's name.
func Publish[T proto.Message](ctx context.Context, b Broker, topic string, msg T, opts ...PublishOption) error {
	desc := msg.ProtoReflect().Descriptor()
	if topic == "" {
		topic = TopicOf(desc)
	} else if err := CheckTopic(topic, desc); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	e, err := NewEvent(ctx, msg, append(publishDefaults(b), opts...)...)
	if err != nil {
		return err
	}
	if err := b.Publish(ctx, topic, e); err != nil {
		return fmt.Errorf("publish %s on %q: %w", e.Type, topic, err)
	}
	return nil
}

// NewEvent encodes msg as an event, as [Publish] does, without publishing it.
func NewEvent(ctx context.Context, msg proto.Message, opts ...PublishOption) (*Event, error) {
	c := publishConfig{source: programName()}
	for _, opt := range opts {
		opt.applyPublish(&c)
	}
	e := &Event{
		ID:              c.id,
		Source:          c.source,
		Type:            string(msg.ProtoReflect().Descriptor().FullName()),
		Time:            c.time,
		DataContentType: ContentTypeProto,
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	var err error
	if c.json {
		e.DataContentType = ContentTypeJSON
		e.Data, err = protojson.Marshal(msg)
	} else {
		e.Data, err = proto.Marshal(msg)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", e.Type, err)
	}
	// The span in ctx, else what the outgoing metadata carries.
	out := metadata.FromOutgoingContext(ctx)
	if tracecontext.Present(ctx) {
		out = metadata.Metadata{}
		tracecontext.Inject(ctx, out)
	}
	for _, name := range []string{"traceparent", "tracestate", "baggage"} {
		if value := out.Get(name); value != "" {
			if e.Extensions == nil {
				e.Extensions = make(map[string]string)
			}
			e.Extensions[name] = value
		}
	}
	for name, value := range c.extensions {
		if e.Extensions == nil {
			e.Extensions = make(map[string]string)
		}
		e.Extensions[name] = value
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// newID returns a new event ID: 26 characters of the base32 alphabet, as
// crypto/rand.Text writes them, holding 128 random bits. They come from the
// runtime's generator (ChaCha8, per thread, seeded by the system), which is
// unique enough for IDs, and deduplication keys, at a fraction of the cost
// of reading the system's: a publish makes one for every event.
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var id [26]byte
	for half, bits := range [2]uint64{rand.Uint64(), rand.Uint64()} {
		for i := range 13 { // 65 bits of 64: the last character has 4
			id[half*13+i] = alphabet[bits&31]
			bits >>= 5
		}
	}
	return string(id[:])
}

// Subscribe subscribes handle to the events of type T on topic through b. An
// empty topic is the one T declares in the proto, or else T's full name
// ([TopicOf]); a topic another type declares is refused, naming both
// ([CheckTopic]). Each event is decoded, by its content type,
// into a new T before handle runs; an event of another type, or one that
// cannot be decoded, goes to the dead-letter topic with the error as the
// reason, without reaching handle. See [Broker.Subscribe] and
// [SubscribeOption] for delivery.
func Subscribe[T proto.Message](b Broker, topic string, handle func(context.Context, T) error, opts ...SubscribeOption) error {
	var zero T
	desc := zero.ProtoReflect().Descriptor()
	if topic == "" {
		topic = TopicOf(desc)
	} else if err := CheckTopic(topic, desc); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return b.Subscribe(topic, func(ctx context.Context, e *Event) error {
		msg := zero.ProtoReflect().New().Interface().(T)
		if err := e.Decode(msg); err != nil {
			return Drop(err)
		}
		return handle(ctx, msg)
	}, append(opts[:len(opts):len(opts)], ofType(string(desc.FullName())))...)
}

// Decode decodes e's data into msg, by e's content type. It fails when e's
// type is not msg's full name.
func (e *Event) Decode(msg proto.Message) error {
	if want := string(msg.ProtoReflect().Descriptor().FullName()); e.Type != want {
		return fmt.Errorf("decode event %q: type is %q, want %q", e.ID, e.Type, want)
	}
	var err error
	switch e.contentType() {
	case ContentTypeProto:
		err = proto.Unmarshal(e.Data, msg)
	case ContentTypeJSON:
		err = protojson.Unmarshal(e.Data, msg)
	default:
		err = fmt.Errorf("unknown content type %q", e.DataContentType)
	}
	if err != nil {
		return fmt.Errorf("decode event %q of type %s: %w", e.ID, e.Type, err)
	}
	return nil
}
