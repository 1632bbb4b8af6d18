// Package broker is publish/subscribe of proto events between services.
//
// An [Event] is a proto message with its CloudEvents 1.0 attributes. On the
// wire it travels in CloudEvents binary mode: the attributes are headers
// (ce-id, ce-source, ce-type, ce-time, content-type and ce-<extension>) and
// the payload is the encoded message, so a consumer written in another
// language, or with a plain client, reads an event without micro.
//
// Most programs use the typed helpers:
//
//	err := broker.Publish(ctx, b, "", &ordersv1.OrderCreated{Id: "42"})
//	err = broker.Subscribe(b, "", func(ctx context.Context, e *ordersv1.OrderCreated) error {
//		return ship(ctx, e.GetId())
//	})
//
// A topic left empty is the one the message declares in the proto, with
// option (micro.v1.topic), or else its full name, "orders.v1.OrderCreated"
// ([TopicOf]). For a message that declares its topic, protoc-gen-micro
// generates the topic's constant and typed functions that publish and
// subscribe on it:
//
//	message OrderCreated {
//	  option (micro.v1.topic) = "orders.created";
//	  string id = 1;
//	}
//
//	err := ordersv1.PublishOrderCreated(ctx, svc.Broker(), &ordersv1.OrderCreated{Id: "42"})
//	err = ordersv1.SubscribeOrderCreated(svc.Broker(), ship)
//
// A declared topic carries its one type: publishing or subscribing another
// type on it is an error naming both ([CheckTopic]).
//
// Delivery is at least once. A handler returning nil acknowledges the event;
// returning an error has it delivered again after a backoff, up to a maximum
// number of deliveries ([WithMaxDeliveries]), after which the event goes to a
// dead-letter topic ([WithDeadLetterTopic], "<topic>.dead" by default) with
// the reason and the number of deliveries as extension attributes. A handler
// that returns [Drop] sends its event there at once; a handler that panics
// has failed that delivery; an event that cannot be decoded is dead-lettered
// without reaching the handler.
//
// An event may carry its publisher's credential in the
// [ExtensionAuthorization] extension, "Bearer <token>": a service with a
// token source sets it, and a service with auth verifies it before its
// handlers run, dead-lettering an event whose token is not valid, or that
// has none when the subscription says [RequireToken] (see micro.WithAuth).
//
// Subscribers in one queue group ([WithGroup]) share the events of a topic,
// each event going to one of them; every group gets every event. By default
// a subscription's group is the program's name, so the nodes of a service
// share its events and each service gets each event once; [Broadcast] gives
// a subscription every event.
//
// [Broker] is the interface every backend implements; each backend is a
// child package named after the system it uses (broker/memory for tests,
// broker/local for the processes of one host, with nothing installed, the
// default of a service; broker/nats for NATS JetStream), and every backend passes the same
// conformance suite, broker/brokertest. Backends build a [Subscription] from
// Subscribe's arguments and let it run each delivery, so the semantics above
// are the same everywhere; so are a subscription's observers
// ([WithObserver]), told what became of each delivery, through which package
// metrics counts deliveries, redeliveries and dead letters.
package broker
