// Package metadata carries key/value headers with a call: what a client sends
// beside the request, and what a handler received.
//
// Metadata travels in a [context.Context]. A handler's context holds the
// metadata its caller sent, and a client sends whatever metadata its context
// holds, so a handler that passes its context on to the calls it makes
// forwards its caller's metadata (a trace ID, an auth token) without writing
// any code. To add to what is sent, derive a context with [AppendToContext];
// to send exactly a set of keys, use [NewContext].
//
// Keys are case-insensitive and stored in lower case. Keys ending in "-bin"
// carry binary values, base64-encoded on the wire; keys starting with "grpc-"
// are reserved for the transport.
package metadata

import (
	"context"
	"strings"
	"sync"
)

// Metadata maps lower-case keys to their values. The zero value is an empty,
// read-only map; use [New] or make to build one.
type Metadata map[string][]string

// New returns metadata holding the given key/value pairs; a key repeated
// gets several values. It panics if pairs has an odd length, as that is a
// mistake in the calling code.
func New(pairs ...string) Metadata {
	if len(pairs)%2 == 1 {
		panic("metadata: New got an odd number of strings; it takes key/value pairs")
	}
	md := make(Metadata, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		md.Append(pairs[i], pairs[i+1])
	}
	return md
}

// Get returns the first value of key, or "" when key is absent.
func (md Metadata) Get(key string) string {
	if values := md.Values(key); len(values) > 0 {
		return values[0]
	}
	return ""
}

// Values returns every value of key. The slice must not be changed.
func (md Metadata) Values(key string) []string {
	if values, ok := md[key]; ok {
		return values
	}
	return md[strings.ToLower(key)]
}

// Set replaces the values of key.
func (md Metadata) Set(key string, values ...string) {
	md[strings.ToLower(key)] = values
}

// Append adds values to those key already has.
func (md Metadata) Append(key string, values ...string) {
	key = strings.ToLower(key)
	md[key] = append(md[key], values...)
}

// Delete removes key.
func (md Metadata) Delete(key string) {
	delete(md, strings.ToLower(key))
}

// Clone returns a deep copy of md.
func (md Metadata) Clone() Metadata {
	out := make(Metadata, len(md))
	for key, values := range md {
		out[key] = append([]string(nil), values...)
	}
	return out
}

type contextKey struct{}

// NewContext returns a context carrying md in place of any metadata ctx
// already holds. The context owns md from then on: do not change it.
func NewContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, contextKey{}, md)
}

// FromContext returns the metadata ctx carries, or nil. In a handler this is
// what the caller sent, plus whatever was appended since. The result is
// shared: [Metadata.Clone] it before changing it.
func FromContext(ctx context.Context) Metadata {
	md, _ := ctx.Value(contextKey{}).(Metadata)
	return md
}

// NewIncomingContext returns a context whose metadata is what load returns
// for ctx, loaded at most once, when first asked for. Used by transports, so
// that a call whose handler never reads its metadata pays nothing for it; load
// must return metadata the context may own.
func NewIncomingContext(ctx context.Context, load func(context.Context) Metadata) context.Context {
	return &incomingContext{Context: ctx, load: load}
}

type incomingContext struct {
	context.Context
	load func(context.Context) Metadata
	once sync.Once
	md   Metadata
}

func (c *incomingContext) Value(key any) any {
	if key == (contextKey{}) {
		c.once.Do(func() { c.md = c.load(c.Context) })
		return c.md
	}
	return c.Context.Value(key)
}

// AppendToContext returns a context carrying ctx's metadata plus the given
// key/value pairs; ctx's own metadata is left as it was. Like [New], it
// panics if pairs has an odd length.
func AppendToContext(ctx context.Context, pairs ...string) context.Context {
	if len(pairs)%2 == 1 {
		panic("metadata: AppendToContext got an odd number of strings; it takes key/value pairs")
	}
	md := FromContext(ctx).Clone()
	for i := 0; i < len(pairs); i += 2 {
		md.Append(pairs[i], pairs[i+1])
	}
	return NewContext(ctx, md)
}
