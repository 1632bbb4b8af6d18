package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gmbroker "go-micro.dev/v5/broker"
	gmregistry "go-micro.dev/v5/registry"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/local"
	"github.com/protomicro/micro/runtime/broker/nats"
)

// target is one way of publishing events and handling them.
type target struct {
	name  string
	about string
	// start subscribes handled to topic, in queue group "bench", and returns
	// how to publish an event's payload on it and how to stop.
	start func(ctx context.Context, env *env, topic string, handled func(payload []byte)) (publish func(ctx context.Context, payload []byte) error, stop func(), err error)
}

// env is what the targets of a comparison share: the NATS server, and a
// directory of their own.
type env struct {
	natsURL string
	dir     string
}

// Every target publishes the payload as a wrapperspb.BytesValue and its
// handler decodes it: micro through its typed Publish and Subscribe, the
// others with proto.Marshal and proto.Unmarshal, as their users would.

// microTarget is micro's broker made by open, through the typed helpers.
func microTarget(name, about string, open func(env *env) (broker.Broker, error)) target {
	return target{name: name, about: about, start: func(ctx context.Context, env *env, topic string, handled func([]byte)) (func(context.Context, []byte) error, func(), error) {
		b, err := open(env)
		if err != nil {
			return nil, nil, err
		}
		stop := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = b.Close(ctx)
		}
		if err := broker.Subscribe(b, topic, func(_ context.Context, m *wrapperspb.BytesValue) error {
			handled(m.GetValue())
			return nil
		}, broker.WithGroup("bench")); err != nil {
			stop()
			return nil, nil, err
		}
		publish := func(ctx context.Context, payload []byte) error {
			return broker.Publish(ctx, b, topic, &wrapperspb.BytesValue{Value: payload})
		}
		return publish, stop, nil
	}}
}

func microJetStream() target {
	return microTarget("micro nats", "micro's nats broker (JetStream: stored, acknowledged after the handler, deduplicated by ID), defaults",
		func(env *env) (broker.Broker, error) { return nats.New(nats.WithURL(env.natsURL)) })
}

func microCore() target {
	return microTarget("micro nats core", "micro's nats broker with nats.WithCore() (core NATS, at most once)",
		func(env *env) (broker.Broker, error) { return nats.New(nats.WithURL(env.natsURL), nats.WithCore()) })
}

func microLocal() target {
	return microTarget("micro local", "micro's default broker, local (a log per topic on disk, shared by the processes of one host), defaults",
		func(env *env) (broker.Broker, error) { return local.New(local.WithDir(env.dir)) })
}

// plainJetStream is nats.go's jetstream package used directly for the same
// guarantees as micro's: a file-backed stream, publishes confirmed and
// deduplicated by a message ID, a durable pull consumer acknowledging each
// message explicitly after its handler, 32 messages fetched ahead (micro's
// default prefetch).
//
// With headers, each message also carries the CloudEvents headers micro's
// do (ce-specversion, ce-id, ce-source, ce-type, ce-time, content-type),
// which its handler reads.
func plainJetStream(headers bool) target {
	name, about := plainName("nats.go jetstream", "nats.go's jetstream package directly: file stream, Nats-Msg-Id, durable consumer, explicit ack after the handler", headers)
	return target{name: name, about: about,
		start: func(ctx context.Context, env *env, topic string, handled func([]byte)) (func(context.Context, []byte) error, func(), error) {
			nc, err := natsgo.Connect(env.natsURL)
			if err != nil {
				return nil, nil, err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			subject := "plain." + topic
			durable := strings.ReplaceAll(topic, ".", "_") // one consumer per measurement, as micro's are
			stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "PLAIN", Subjects: []string{"plain.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			consumer, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
				Durable: durable, FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
			})
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			cc, err := consumer.Consume(func(msg jetstream.Msg) {
				if headers && msg.Headers().Get("ce-id") == "" {
					_ = msg.Term()
					return
				}
				var m wrapperspb.BytesValue
				if proto.Unmarshal(msg.Data(), &m) == nil {
					handled(m.GetValue())
				}
				_ = msg.Ack()
			}, jetstream.PullMaxMessages(32))
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			stop := func() {
				cc.Stop()
				<-cc.Closed()
				_ = stream.DeleteConsumer(context.Background(), durable)
				nc.Close()
			}
			publish := func(ctx context.Context, payload []byte) error {
				data, err := proto.Marshal(&wrapperspb.BytesValue{Value: payload})
				if err != nil {
					return err
				}
				msg := natsgo.NewMsg(subject)
				msg.Data = data
				id := natsgo.NewInbox()[len(natsgo.InboxPrefix):]
				if headers {
					setCloudEvents(msg.Header, id)
				}
				_, err = js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
				return err
			}
			return publish, stop, nil
		}}
}

// plainCore is nats.go's core publish and queue subscription; with headers,
// each message also carries the CloudEvents headers, as plainJetStream's.
func plainCore(headers bool) target {
	name, about := plainName("nats.go core", "nats.go's core Publish and QueueSubscribe directly", headers)
	return target{name: name, about: about,
		start: func(ctx context.Context, env *env, topic string, handled func([]byte)) (func(context.Context, []byte) error, func(), error) {
			nc, err := natsgo.Connect(env.natsURL)
			if err != nil {
				return nil, nil, err
			}
			subject := "plain." + topic
			sub, err := nc.QueueSubscribe(subject, "bench", func(msg *natsgo.Msg) {
				if headers && msg.Header.Get("ce-id") == "" {
					return
				}
				var m wrapperspb.BytesValue
				if proto.Unmarshal(msg.Data, &m) == nil {
					handled(m.GetValue())
				}
			})
			if err == nil {
				err = nc.Flush()
			}
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			stop := func() {
				_ = sub.Unsubscribe()
				nc.Close()
			}
			publish := func(_ context.Context, payload []byte) error {
				data, err := proto.Marshal(&wrapperspb.BytesValue{Value: payload})
				if err != nil {
					return err
				}
				msg := natsgo.NewMsg(subject)
				msg.Data = data
				if headers {
					setCloudEvents(msg.Header, natsgo.NewInbox()[len(natsgo.InboxPrefix):])
				}
				return nc.PublishMsg(msg)
			}
			return publish, stop, nil
		}}
}

// goMicro is go-micro v5's default broker, its HTTP broker, with an
// in-memory registry (the default mDNS one would only add background work)
// and listening on 127.0.0.1.
func goMicro() target {
	return target{name: "go-micro http", about: "go-micro v5's default broker (HTTP), in-memory registry, queue \"bench\"",
		start: func(_ context.Context, _ *env, topic string, handled func([]byte)) (func(context.Context, []byte) error, func(), error) {
			b := gmbroker.NewHttpBroker(gmbroker.Registry(gmregistry.NewMemoryRegistry()), gmbroker.Addrs("127.0.0.1:0"))
			if err := b.Connect(); err != nil {
				return nil, nil, fmt.Errorf("go-micro broker: %w", err)
			}
			sub, err := b.Subscribe(topic, func(e gmbroker.Event) error {
				var m wrapperspb.BytesValue
				if err := proto.Unmarshal(e.Message().Body, &m); err != nil {
					return err
				}
				handled(m.GetValue())
				return nil
			}, gmbroker.Queue("bench"))
			if err != nil {
				_ = b.Disconnect()
				return nil, nil, err
			}
			stop := func() {
				_ = sub.Unsubscribe()
				_ = b.Disconnect()
			}
			publish := func(_ context.Context, payload []byte) error {
				data, err := proto.Marshal(&wrapperspb.BytesValue{Value: payload})
				if err != nil {
					return err
				}
				return b.Publish(topic, &gmbroker.Message{Header: map[string]string{}, Body: data})
			}
			return publish, stop, nil
		}}
}

// plainName is the name and description of a plain nats.go target, with
// the CloudEvents headers or not.
func plainName(name, about string, headers bool) (string, string) {
	if headers {
		return name + " + CloudEvents headers", "the same, each message with the CloudEvents headers micro sends, read by the handler"
	}
	return name, about
}

// setCloudEvents sets on h the CloudEvents headers of an event with id, as
// micro's broker sends them.
func setCloudEvents(h natsgo.Header, id string) {
	h["ce-specversion"] = []string{"1.0"}
	h["ce-id"] = []string{id}
	h["ce-source"] = []string{"eventbench"}
	h["ce-type"] = []string{"google.protobuf.BytesValue"}
	h["ce-time"] = []string{time.Now().UTC().Format(time.RFC3339Nano)}
	h["content-type"] = []string{"application/protobuf"}
}
