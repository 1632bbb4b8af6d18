// Package metadata carries key/value headers with a call: what a handler
// received from its caller, and what a caller sends.
//
// The two directions are kept apart, as in grpc-go. A handler's context holds
// the metadata its caller sent, read with [FromIncomingContext]. A call sends
// only the metadata put on its own context with [NewOutgoingContext] or
// [AppendToOutgoingContext] (and its call options): a handler that passes its
// context on to the calls it makes does not forward what its caller sent, so
// a caller's authorization header or cookies never reach a downstream service,
// or a fixed address outside the system, by accident. What does cross from an
// incoming call to the calls a handler makes is the deadline, and the headers
// a client is told to propagate (client.WithPropagatedHeaders), never
// credentials ([IsCredential]).
//
// Keys are case-insensitive and stored in lower case. Keys ending in "-bin"
// carry binary values, base64-encoded on the wire; keys starting with "grpc-"
// are reserved for the transport.
package metadata

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
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

type (
	incomingKey struct{}
	outgoingKey struct{}
)

// NewIncomingContext returns a context whose incoming metadata is md, as a
// transport builds a handler's context, or a test a handler's. The context
// owns md from then on: do not change it.
func NewIncomingContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, incomingKey{}, md)
}

// NewIncomingContextFunc returns a context whose incoming metadata is what
// load returns for ctx, loaded at most once, when first asked for. Used by
// transports, so that a call whose handler never reads its metadata pays
// nothing for it; load must return metadata the context may own.
func NewIncomingContextFunc(ctx context.Context, load func(context.Context) Metadata) context.Context {
	return &incomingContext{Context: ctx, load: load}
}

// NewIncomingContextLookup is [NewIncomingContextFunc] with lookup, which
// returns the values of one lower-case key of the metadata load would
// return, for [ValuesFromIncomingContext] to read one header without
// loading them all. Used by transports.
func NewIncomingContextLookup(ctx context.Context, load func(context.Context) Metadata, lookup func(ctx context.Context, key string) []string) context.Context {
	return &incomingContext{Context: ctx, load: load, lookup: lookup}
}

type incomingContext struct {
	context.Context
	load   func(context.Context) Metadata
	lookup func(context.Context, string) []string
	once   sync.Once
	loaded atomic.Bool
	md     Metadata
}

func (c *incomingContext) Value(key any) any {
	if key == (incomingKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *incomingContext) metadata() Metadata {
	c.once.Do(func() {
		c.md = c.load(c.Context)
		c.loaded.Store(true)
	})
	return c.md
}

func (c *incomingContext) values(key string) []string {
	if c.lookup == nil || c.loaded.Load() {
		return c.metadata().Values(key)
	}
	return c.lookup(c.Context, strings.ToLower(key))
}

// FromIncomingContext returns what the caller of a handler sent, or nil
// outside a handler. The result is shared: [Metadata.Clone] it before
// changing it.
func FromIncomingContext(ctx context.Context) Metadata {
	switch v := ctx.Value(incomingKey{}).(type) {
	case Metadata:
		return v
	case *incomingContext:
		return v.metadata()
	}
	return nil
}

// ValuesFromIncomingContext returns the values of key in what the caller
// of a handler sent, as FromIncomingContext(ctx).Values(key) does, but
// without copying the rest of the metadata out of the transport when it can
// look one key up. ok is false outside a handler, where ctx carries no
// incoming metadata at all. The slice must not be changed.
func ValuesFromIncomingContext(ctx context.Context, key string) (values []string, ok bool) {
	switch v := ctx.Value(incomingKey{}).(type) {
	case Metadata:
		return v.Values(key), true
	case *incomingContext:
		return v.values(key), true
	}
	return nil, false
}

// NewOutgoingContext returns a context whose calls send md, in place of any
// outgoing metadata ctx already holds. The context owns md from then on: do
// not change it.
func NewOutgoingContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, outgoingKey{}, md)
}

// AppendToOutgoingContext returns a context whose calls send ctx's outgoing
// metadata plus the given key/value pairs; ctx's own metadata is left as it
// was. Like [New], it panics if pairs has an odd length.
func AppendToOutgoingContext(ctx context.Context, pairs ...string) context.Context {
	if len(pairs)%2 == 1 {
		panic("metadata: AppendToOutgoingContext got an odd number of strings; it takes key/value pairs")
	}
	md := FromOutgoingContext(ctx).Clone()
	for i := 0; i < len(pairs); i += 2 {
		md.Append(pairs[i], pairs[i+1])
	}
	return NewOutgoingContext(ctx, md)
}

// FromOutgoingContext returns the metadata calls made with ctx send, or nil.
// The result is shared: [Metadata.Clone] it before changing it.
func FromOutgoingContext(ctx context.Context) Metadata {
	md, _ := ctx.Value(outgoingKey{}).(Metadata)
	return md
}

// IsCredential reports whether key names a header that carries a credential:
// authorization, proxy-authorization, cookie, set-cookie, and any key
// containing "api-key", "token", "secret" or "password". Such headers are
// never propagated from an incoming call to outgoing ones, even when a client
// is told to propagate them.
func IsCredential(key string) bool {
	key = strings.ToLower(key)
	switch key {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, part := range []string{"api-key", "apikey", "token", "secret", "password"} {
		if strings.Contains(key, part) {
			return true
		}
	}
	return false
}
