// Package route carries the route an HTTP handler serves a request by out to
// the middleware around it, which labels its metrics with the route (a
// template, so that the label's values are few) rather than the raw path.
// The middleware makes a slot in the request's context with [Track]; the
// handler fills it with [Set] once it has routed the request.
package route

import "context"

type key struct{}

// Track returns ctx with an empty slot for the route, and the slot: read it
// once the handler has returned.
func Track(ctx context.Context) (context.Context, *string) {
	slot := new(string)
	return context.WithValue(ctx, key{}, slot), slot
}

// Tracked reports whether something around the handler tracks the route of
// ctx's request, so that a handler need not work the route out otherwise.
func Tracked(ctx context.Context) bool {
	_, ok := ctx.Value(key{}).(*string)
	return ok
}

// Set records route as the one ctx's request is served by, if it is
// tracked. It must be called on the goroutine serving the request.
func Set(ctx context.Context, route string) {
	if slot, ok := ctx.Value(key{}).(*string); ok {
		*slot = route
	}
}
