package broker

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/rpc"
)

// SubscribeOption configures one subscription: by [Broker.Subscribe] or the
// typed [Subscribe].
type SubscribeOption interface {
	applySubscribe(*subscribeConfig)
}

type subscribeConfig struct {
	group           string
	broadcast       bool
	maxDeliveries   int
	backoffMin      time.Duration
	backoffMax      time.Duration
	deadLetterTopic string
	interceptors    []rpc.Interceptor
	observers       []func(Delivery)
	eventType       string      // the message type of a typed Subscribe
	access          *rpc.Access // from RequireToken
}

// ofType records the message type a typed [Subscribe] decodes, for the
// service's registration.
func ofType(name string) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.eventType = name })
}

type subscribeOptionFunc func(*subscribeConfig)

func (f subscribeOptionFunc) applySubscribe(c *subscribeConfig) { f(c) }

// WithGroup puts the subscription in the named queue group: the
// subscriptions of one group, in this process or others, share the topic's
// events, each event going to one of them. The default group is the
// program's name (its executable's base name), so that the nodes of one
// service share its events; a service's broker ([ForService]) uses the
// service's name.
// Two handlers of one program on one topic must be in different groups, or
// they share the events instead of each getting them.
func WithGroup(name string) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.group, c.broadcast = name, false })
}

// Broadcast gives the subscription every event of the topic, whoever else
// subscribes: for caches and other per-node state. By default subscriptions
// share events in their queue group ([WithGroup]).
func Broadcast() SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.broadcast = true })
}

// WithMaxDeliveries sets how many times an event is delivered to a failing
// handler before it is dead-lettered. The default is 5; n below 1 means 1.
func WithMaxDeliveries(n int) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.maxDeliveries = max(n, 1) })
}

// WithBackoff sets how long a failed event waits before it is delivered
// again: first after the first failure, doubling after each further one up
// to limit. The default is 500ms doubling up to 30s.
func WithBackoff(first, limit time.Duration) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.backoffMin, c.backoffMax = first, max(first, limit) })
}

// WithDeadLetterTopic sets the topic events go to once they have failed
// their last delivery, been dropped ([Drop]) or could not be decoded. The
// default is the topic followed by ".dead".
func WithDeadLetterTopic(topic string) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) { c.deadLetterTopic = topic })
}

// WithInterceptors wraps the handler in interceptors, the first given
// outermost, through their WrapUnary: each delivery is a unary call whose
// [rpc.Spec.Procedure] is "event:<topic>", whose [rpc.Request.Header] holds
// the event's attributes (see [Subscription.Handle]) and whose
// [rpc.Request.Any] is the *[Event]; the response is empty. An error an
// interceptor returns counts as the handler's. By default there are none; a
// service entry point passes its server interceptors, so that auth, tracing
// and metrics see events as they see calls.
func WithInterceptors(interceptors ...rpc.Interceptor) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) {
		c.interceptors = append(c.interceptors, interceptors...)
	})
}

// WithObserver has observe called after every delivery of the
// subscription's events, with what became of it ([Delivery]), once the
// verdict is known and before the backend acts on it: to count deliveries,
// redeliveries and dead letters the same way on every backend (package
// metrics does). observe runs on the delivering goroutine, so it must be
// quick and must not block; several run in the order given. By default
// there are none.
func WithObserver(observe func(Delivery)) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) {
		if observe != nil {
			c.observers = append(c.observers, observe)
		}
	})
}

// RequireToken has the subscription's handler get only the events that
// carry a valid token ([ExtensionAuthorization]) granting every one of
// scopes, when the service verifies tokens (micro.WithAuth): any other
// event goes to the dead-letter topic at once, with why as the reason. By
// default a token is optional: an event without one is handled as any
// other, and one with a token is handled only if the token is valid (the
// handler reads its claims with auth.FromContext). The requirement reaches
// interceptors as the delivery's [rpc.Spec.Access]: nil by default, else
// not public, with scopes.
func RequireToken(scopes ...string) SubscribeOption {
	return subscribeOptionFunc(func(c *subscribeConfig) {
		c.access = &rpc.Access{Scopes: append([]string(nil), scopes...)}
	})
}

// PublishOption configures one event published with the typed [Publish].
type PublishOption interface {
	applyPublish(*publishConfig)
}

type publishConfig struct {
	id, source string
	json       bool
	time       time.Time
	extensions map[string]string
}

type publishOptionFunc func(*publishConfig)

func (f publishOptionFunc) applyPublish(c *publishConfig) { f(c) }

// WithID sets the event's ID, its deduplication key: publishing again with
// the same ID, after a timeout for instance, does not make a second event on
// backends that deduplicate. The default is a new random ID.
func WithID(id string) PublishOption {
	return publishOptionFunc(func(c *publishConfig) { c.id = id })
}

// WithSource sets the event's source, the publisher's name. The default is
// the program's name (its executable's base name); through a service's
// broker ([ForService]), the service's name.
func WithSource(source string) PublishOption {
	return publishOptionFunc(func(c *publishConfig) { c.source = source })
}

// WithJSON encodes the message as protojson ([ContentTypeJSON]), for
// consumers without the proto. The default is proto binary
// ([ContentTypeProto]).
func WithJSON() PublishOption {
	return publishOptionFunc(func(c *publishConfig) { c.json = true })
}

// WithTime sets the event's time. The default is the time of publishing.
func WithTime(t time.Time) PublishOption {
	return publishOptionFunc(func(c *publishConfig) { c.time = t })
}

// WithExtension sets an extension attribute of the event; name is 1 to 20
// lowercase letters or digits. By default an event carries the traceparent
// and tracestate of the context's outgoing metadata, if any, and nothing
// else.
func WithExtension(name, value string) PublishOption {
	return publishOptionFunc(func(c *publishConfig) {
		if c.extensions == nil {
			c.extensions = make(map[string]string)
		}
		c.extensions[name] = value
	})
}

// programName is the default queue group and source.
func programName() string {
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
}
