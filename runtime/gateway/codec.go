package gateway

import (
	"sync"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// codecs makes the transcoders' codecs for one set of routes. The
// transcoder asks for a codec on every call; codecs makes one per type
// resolver (a service's types) and hands it out again. And a codec skips
// the check for missing required fields where a message type has none, nor
// any message inside it: the check walks every field of a dynamic message
// on each encode and decode, to find nothing (proto3 has no required
// fields).
type codecs struct {
	mu    sync.Mutex
	json  map[typeResolver]vanguard.Codec
	proto map[typeResolver]vanguard.Codec
	// checked caches whether a message type needs the check, by
	// descriptor.
	checked sync.Map
}

func newCodecs() *codecs {
	return &codecs{json: make(map[typeResolver]vanguard.Codec), proto: make(map[typeResolver]vanguard.Codec)}
}

// newJSON returns the JSON codec of types, which rejects a field the
// message does not have rather than drop it: a misspelt field is a mistake
// the caller should hear of.
func (c *codecs) newJSON(types vanguard.TypeResolver) vanguard.Codec {
	return c.get(c.json, types, func() vanguard.Codec {
		strict := vanguard.NewJSONCodec(types)
		strict.UnmarshalOptions.DiscardUnknown = false
		partial := *strict
		partial.MarshalOptions.AllowPartial, partial.UnmarshalOptions.AllowPartial = true, true
		return jsonCodec{JSONCodec: strict, partial: &partial, codecs: c}
	})
}

// newProto returns the protobuf codec of types.
func (c *codecs) newProto(types vanguard.TypeResolver) vanguard.Codec {
	return c.get(c.proto, types, func() vanguard.Codec {
		return protoCodec{ProtoCodec: vanguard.NewProtoCodec(types), unmarshal: proto.UnmarshalOptions{Resolver: types, AllowPartial: true}, codecs: c}
	})
}

func (c *codecs) get(made map[typeResolver]vanguard.Codec, types vanguard.TypeResolver, build func() vanguard.Codec) vanguard.Codec {
	key, ok := types.(typeResolver)
	if !ok {
		return build() // a resolver of the transcoder's own: not the gateway's to keep
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	codec := made[key]
	if codec == nil {
		codec = build()
		made[key] = codec
	}
	return codec
}

// check reports whether m's type may have required fields, in itself or in
// a message inside it (or an extension, which may add them).
func (c *codecs) check(m proto.Message) bool {
	md := m.ProtoReflect().Descriptor()
	if v, ok := c.checked.Load(md); ok {
		return v.(bool)
	}
	needs := mayRequire(md, make(map[protoreflect.FullName]bool))
	c.checked.Store(md, needs)
	return needs
}

func mayRequire(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false // looked at already, or being looked at
	}
	seen[md.FullName()] = true
	if md.RequiredNumbers().Len() > 0 || md.ExtensionRanges().Len() > 0 {
		return true
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if inner := fd.Message(); inner != nil && mayRequire(inner, seen) {
			return true
		}
	}
	return false
}

// jsonCodec is vanguard's JSON codec, checking required fields only where
// there may be some.
type jsonCodec struct {
	*vanguard.JSONCodec
	partial *vanguard.JSONCodec
	codecs  *codecs
}

func (j jsonCodec) pick(m proto.Message) *vanguard.JSONCodec {
	if j.codecs.check(m) {
		return j.JSONCodec
	}
	return j.partial
}

// MarshalAppend implements vanguard.Codec.
func (j jsonCodec) MarshalAppend(base []byte, m proto.Message) ([]byte, error) {
	return j.pick(m).MarshalAppend(base, m)
}

// MarshalAppendStable implements vanguard.StableCodec.
func (j jsonCodec) MarshalAppendStable(base []byte, m proto.Message) ([]byte, error) {
	return j.pick(m).MarshalAppendStable(base, m)
}

// Unmarshal implements vanguard.Codec.
func (j jsonCodec) Unmarshal(data []byte, m proto.Message) error {
	return j.pick(m).Unmarshal(data, m)
}

// protoCodec is vanguard's protobuf codec, checking required fields only
// where there may be some.
type protoCodec struct {
	*vanguard.ProtoCodec
	unmarshal proto.UnmarshalOptions // without the check
	codecs    *codecs
}

// MarshalAppend implements vanguard.Codec.
func (p protoCodec) MarshalAppend(base []byte, m proto.Message) ([]byte, error) {
	if p.codecs.check(m) {
		return p.ProtoCodec.MarshalAppend(base, m)
	}
	return proto.MarshalOptions{AllowPartial: true}.MarshalAppend(base, m)
}

// MarshalAppendStable implements vanguard.StableCodec.
func (p protoCodec) MarshalAppendStable(base []byte, m proto.Message) ([]byte, error) {
	if p.codecs.check(m) {
		return p.ProtoCodec.MarshalAppendStable(base, m)
	}
	return proto.MarshalOptions{AllowPartial: true, Deterministic: true}.MarshalAppend(base, m)
}

// Unmarshal implements vanguard.Codec.
func (p protoCodec) Unmarshal(data []byte, m proto.Message) error {
	if p.codecs.check(m) {
		return p.ProtoCodec.Unmarshal(data, m)
	}
	return p.unmarshal.Unmarshal(data, m)
}

// unmarshalNew is Unmarshal for m, a message just made: it leaves out the
// Unmarshal's clearing of m first, which finds nothing to clear and, for a
// dynamic message, allocates its fields anew.
func (p protoCodec) unmarshalNew(data []byte, m proto.Message) error {
	opts := p.unmarshal
	opts.AllowPartial = !p.codecs.check(m)
	opts.Merge = true
	return opts.Unmarshal(data, m)
}
