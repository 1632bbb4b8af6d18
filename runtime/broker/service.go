package broker

import "github.com/protomicro/micro/runtime/rpc"

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
}

// Subscribe puts the service's defaults before opts, which win over them.
func (b *serviceBroker) Subscribe(topic string, h Handler, opts ...SubscribeOption) error {
	defaults := []SubscribeOption{WithGroup(b.name)}
	if len(b.interceptors) > 0 {
		defaults = append(defaults, WithInterceptors(b.interceptors...))
	}
	return b.Broker.Subscribe(topic, h, append(defaults, opts...)...)
}

// publishDefaults returns the options b puts before those of a typed
// Publish.
func publishDefaults(b Broker) []PublishOption {
	if sb, ok := b.(*serviceBroker); ok {
		return []PublishOption{WithSource(sb.name)}
	}
	return nil
}
