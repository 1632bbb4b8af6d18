package broker

import (
	"sync"

	"github.com/protomicro/micro/runtime/rpc"
)

// ForService returns b as the service named name uses it: events published
// through it with the typed [Publish] have name as their source (unless
// [WithSource] says otherwise), and subscriptions made through it have name
// as their queue group (unless [WithGroup] or [Broadcast]) and the given
// interceptors around their handlers, outside those of [WithInterceptors].
// Raw [Broker.Publish] calls, Close and String go to b unchanged, so closing
// the result closes b. Used by service entry points (micro.Service.Broker).
func ForService(b Broker, name string, interceptors ...rpc.Interceptor) Broker {
	return &serviceBroker{Broker: b, name: name, interceptors: interceptors}
}

// serviceBroker is a broker with a service's defaults.
type serviceBroker struct {
	Broker
	name         string
	interceptors []rpc.Interceptor

	mu            sync.Mutex
	subscriptions []SubscriptionInfo
}

// SubscriptionInfo describes one subscription made through a service's
// broker, as the service's registration lists it.
type SubscriptionInfo struct {
	Topic string
	// Group is the queue group, "" for a broadcast subscription.
	Group string
	// Type is the full name of the message type of a typed [Subscribe], ""
	// for a raw [Handler].
	Type string
}

// Subscriptions returns the subscriptions made through b, in the order they
// were made, when b is a service's broker ([ForService]); nil otherwise.
func Subscriptions(b Broker) []SubscriptionInfo {
	sb, ok := b.(*serviceBroker)
	if !ok {
		return nil
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]SubscriptionInfo(nil), sb.subscriptions...)
}

// Subscribe puts the service's defaults before opts, which win over them.
func (b *serviceBroker) Subscribe(topic string, h Handler, opts ...SubscribeOption) error {
	defaults := []SubscribeOption{WithGroup(b.name)}
	if len(b.interceptors) > 0 {
		defaults = append(defaults, WithInterceptors(b.interceptors...))
	}
	all := append(defaults, opts...)
	if err := b.Broker.Subscribe(topic, h, all...); err != nil {
		return err
	}
	c := newSubscribeConfig(topic, all)
	b.mu.Lock()
	b.subscriptions = append(b.subscriptions, SubscriptionInfo{Topic: topic, Group: c.group, Type: c.eventType})
	b.mu.Unlock()
	return nil
}

// publishDefaults returns the options b puts before those of a typed
// Publish.
func publishDefaults(b Broker) []PublishOption {
	if sb, ok := b.(*serviceBroker); ok {
		return []PublishOption{WithSource(sb.name)}
	}
	return nil
}
