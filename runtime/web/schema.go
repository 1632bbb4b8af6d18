package web

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/registry"
)

// resolveTimeout bounds reading a service's schema for its page.
const resolveTimeout = 5 * time.Second

// Detail is one service as its page shows it, as GET /api/services/{name}
// answers.
type Detail struct {
	Service ServiceView `json:"service"`
	// Endpoints are its methods, in the order the service declares them.
	Endpoints []EndpointView `json:"endpoints"`
	// Messages and Enums are the types the endpoints use, in the order
	// first met; google.protobuf's well-known types are left out.
	Messages []MessageView `json:"messages"`
	Enums    []EnumView    `json:"enums"`
	// Unavailable says why the schema could not be read, if it could not.
	Unavailable string `json:"unavailable,omitempty"`
}

// EndpointView is one method of a service.
type EndpointView struct {
	// Procedure is "/greeter.v1.Greeter/Hello", and Name "Greeter.Hello".
	Procedure string `json:"procedure"`
	Name      string `json:"name"`
	// Kind is unary, client_stream, server_stream or bidi_stream.
	Kind string `json:"kind"`
	// Idempotency is unknown, no_side_effects or idempotent.
	Idempotency string `json:"idempotency"`
	// Routes are the REST routes the gateway serves for it.
	Routes []gateway.Route `json:"routes"`
	// Request and Response are the full names of its message types.
	Request  string `json:"request"`
	Response string `json:"response"`
	// Template is a JSON request with every field of the request message,
	// each holding a value of its type, for the call form.
	Template string `json:"template"`
}

// MessageView is a message type.
type MessageView struct {
	Name   string      `json:"name"`
	Fields []FieldView `json:"fields"`
}

// FieldView is a field of a message.
type FieldView struct {
	// Name is the field's JSON name, "displayName".
	Name   string `json:"name"`
	Number int    `json:"number"`
	// Type is how a person reads it: "string", "repeated Book",
	// "map<string, int32>", "optional string", "google.protobuf.Timestamp".
	Type string `json:"type"`
	// Ref is the full name of the message or enum type it holds, when the
	// page describes that type.
	Ref string `json:"ref,omitempty"`
	// Oneof is the oneof the field is a member of.
	Oneof string `json:"oneof,omitempty"`
	// JSON says how protobuf's JSON mapping writes a well-known type.
	JSON string `json:"json,omitempty"`
}

// EnumView is an enum type.
type EnumView struct {
	Name   string      `json:"name"`
	Values []EnumValue `json:"values"`
}

// EnumValue is a value of an enum.
type EnumValue struct {
	Name   string `json:"name"`
	Number int    `json:"number"`
}

// schemas caches the schema of each service, read through reflection, until
// the registry says the service changed.
type schemas struct {
	client client.Client
	mu     sync.Mutex
	byName map[string]*cachedSchema
}

type cachedSchema struct {
	once   chan struct{} // closed once schema and err are set
	schema *dynamic.Schema
	err    error
	at     time.Time
}

// forget drops the schema of the service called name.
func (c *schemas) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byName, name)
}

// get returns the schema of the service called name, reading it from one of
// its nodes unless it is cached. A failure is cached for a few seconds.
func (c *schemas) get(ctx context.Context, name string, versions []*registry.Service) (*dynamic.Schema, error) {
	c.mu.Lock()
	if c.byName == nil {
		c.byName = make(map[string]*cachedSchema)
	}
	e := c.byName[name]
	if e != nil {
		select {
		case <-e.once:
			if e.err != nil && time.Since(e.at) > 3*time.Second {
				e = nil
			}
		default:
		}
	}
	if e == nil {
		e = &cachedSchema{once: make(chan struct{})}
		c.byName[name] = e
		c.mu.Unlock()
		var nodes []string
		for _, v := range versions {
			for _, n := range v.Nodes {
				nodes = append(nodes, client.NodeAddress(n))
			}
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
		e.schema, e.err = dynamic.Resolve(ctx, c.client, name, nodes...)
		cancel()
		e.at = time.Now()
		close(e.once)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.once:
		return e.schema, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// describe returns the detail of the service whose schema is s.
func describe(view ServiceView, s *dynamic.Schema, index gateway.Index) Detail {
	d := Detail{Service: view, Endpoints: []EndpointView{}, Messages: []MessageView{}, Enums: []EnumView{}}
	var names []string
	for _, m := range s.Methods() {
		spec := dynamic.Spec(m)
		e := EndpointView{
			Procedure:   spec.Procedure,
			Name:        string(m.Parent().Name()) + "." + string(m.Name()),
			Kind:        spec.StreamType.String(),
			Idempotency: spec.Idempotency.String(),
			Routes:      []gateway.Route{},
			Request:     string(m.Input().FullName()),
			Response:    string(m.Output().FullName()),
			Template:    requestTemplate(m.Input()),
		}
		for _, r := range index.Routes {
			if r.Service == view.Name && r.Procedure == spec.Procedure {
				e.Routes = append(e.Routes, r)
			}
		}
		d.Endpoints = append(d.Endpoints, e)
		names = append(names, e.Request, e.Response)
	}
	messages, enums := s.UsedTypes(names...)
	described := make(map[protoreflect.FullName]bool)
	for _, md := range messages {
		described[md.FullName()] = true
	}
	for _, ed := range enums {
		described[ed.FullName()] = true
	}
	for _, md := range messages {
		d.Messages = append(d.Messages, messageView(md, described))
	}
	for _, ed := range enums {
		v := EnumView{Name: string(ed.FullName())}
		for i := range ed.Values().Len() {
			value := ed.Values().Get(i)
			v.Values = append(v.Values, EnumValue{Name: string(value.Name()), Number: int(value.Number())})
		}
		d.Enums = append(d.Enums, v)
	}
	return d
}

func messageView(md protoreflect.MessageDescriptor, described map[protoreflect.FullName]bool) MessageView {
	v := MessageView{Name: string(md.FullName()), Fields: []FieldView{}}
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		fv := FieldView{Name: f.JSONName(), Number: int(f.Number()), Type: fieldType(f)}
		target := f
		if f.IsMap() {
			target = f.MapValue()
		}
		switch {
		case target.Message() != nil && described[target.Message().FullName()]:
			fv.Ref = string(target.Message().FullName())
		case target.Enum() != nil && described[target.Enum().FullName()]:
			fv.Ref = string(target.Enum().FullName())
		case target.Message() != nil:
			fv.JSON = wellKnownJSON[target.Message().FullName()]
		}
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			fv.Oneof = string(o.Name())
		}
		v.Fields = append(v.Fields, fv)
	}
	return v
}

// fieldType returns the type of f as a person reads it.
func fieldType(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return "map<" + kindName(f.MapKey()) + ", " + kindName(f.MapValue()) + ">"
	case f.IsList():
		return "repeated " + kindName(f)
	case f.HasPresence() && f.ContainingOneof() != nil && f.ContainingOneof().IsSynthetic():
		return "optional " + kindName(f)
	}
	return kindName(f)
}

func kindName(f protoreflect.FieldDescriptor) string {
	switch {
	case f.Message() != nil:
		return string(f.Message().FullName())
	case f.Enum() != nil:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

// wellKnownJSON says how protobuf's JSON mapping writes the well-known
// types, which the page does not describe field by field.
var wellKnownJSON = map[protoreflect.FullName]string{
	"google.protobuf.Timestamp":   `an RFC 3339 string, "2024-01-02T15:04:05Z"`,
	"google.protobuf.Duration":    `seconds as a string, "1.5s"`,
	"google.protobuf.FieldMask":   `field paths joined by commas, "name,shelf.id"`,
	"google.protobuf.Struct":      "any JSON object",
	"google.protobuf.Value":       "any JSON value",
	"google.protobuf.ListValue":   "any JSON array",
	"google.protobuf.Any":         `an object with "@type" and the message's fields`,
	"google.protobuf.Empty":       "{}",
	"google.protobuf.DoubleValue": "a number or null",
	"google.protobuf.FloatValue":  "a number or null",
	"google.protobuf.Int64Value":  "an integer (or string) or null",
	"google.protobuf.UInt64Value": "an integer (or string) or null",
	"google.protobuf.Int32Value":  "an integer or null",
	"google.protobuf.UInt32Value": "an integer or null",
	"google.protobuf.BoolValue":   "true, false or null",
	"google.protobuf.StringValue": "a string or null",
	"google.protobuf.BytesValue":  "base64 string or null",
}

// requestTemplate returns a JSON object of message type md with each of its fields
// (the first of each oneof) holding a value of its type, indented: what the
// call form starts from. Messages nest three deep; a message that contains
// itself is {} where it recurs.
func requestTemplate(md protoreflect.MessageDescriptor) string {
	var b strings.Builder
	writeTemplate(&b, md, "", nil)
	return b.String()
}

func writeTemplate(b *strings.Builder, md protoreflect.MessageDescriptor, indent string, path []protoreflect.FullName) {
	if value, ok := wellKnownTemplate[md.FullName()]; ok {
		b.WriteString(value)
		return
	}
	if len(path) >= 3 || slices.Contains(path, md.FullName()) {
		b.WriteString("{}")
		return
	}
	path = append(path, md.FullName())
	fields := md.Fields()
	seenOneofs := make(map[protoreflect.FullName]bool)
	first := true
	for i := range fields.Len() {
		f := fields.Get(i)
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if seenOneofs[o.FullName()] {
				continue
			}
			seenOneofs[o.FullName()] = true
		}
		if first {
			b.WriteString("{\n")
			first = false
		} else {
			b.WriteString(",\n")
		}
		name, _ := json.Marshal(f.JSONName())
		b.WriteString(indent + "  ")
		b.Write(name)
		b.WriteString(": ")
		switch {
		case f.IsMap():
			b.WriteString("{}")
		case f.IsList():
			b.WriteString("[]")
		case f.Message() != nil:
			writeTemplate(b, f.Message(), indent+"  ", path)
		default:
			b.WriteString(scalarTemplate(f))
		}
	}
	if first {
		b.WriteString("{}")
		return
	}
	b.WriteString("\n" + indent + "}")
}

// scalarTemplate returns a JSON value of the scalar or enum field f.
func scalarTemplate(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return "false"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return `""`
	case protoreflect.EnumKind:
		if values := f.Enum().Values(); values.Len() > 0 {
			return strconv.Quote(string(values.Get(0).Name()))
		}
		return "0"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "0.0"
	}
	return "0"
}

// wellKnownTemplate is a JSON value of each well-known type.
var wellKnownTemplate = map[protoreflect.FullName]string{
	"google.protobuf.Timestamp":   `"1970-01-01T00:00:00Z"`,
	"google.protobuf.Duration":    `"0s"`,
	"google.protobuf.FieldMask":   `""`,
	"google.protobuf.Struct":      "{}",
	"google.protobuf.Value":       "null",
	"google.protobuf.ListValue":   "[]",
	"google.protobuf.Any":         "{}",
	"google.protobuf.Empty":       "{}",
	"google.protobuf.DoubleValue": "0.0",
	"google.protobuf.FloatValue":  "0.0",
	"google.protobuf.Int64Value":  "0",
	"google.protobuf.UInt64Value": "0",
	"google.protobuf.Int32Value":  "0",
	"google.protobuf.UInt32Value": "0",
	"google.protobuf.BoolValue":   "false",
	"google.protobuf.StringValue": `""`,
	"google.protobuf.BytesValue":  `""`,
}

// validate checks a request for m: one JSON object for a method whose
// client sends one message, else a JSON array of them.
func validate(s *dynamic.Schema, m protoreflect.MethodDescriptor, data []byte) error {
	if !m.IsStreamingClient() {
		_, err := s.DecodeJSON(data, m.Input(), dynamic.Position{})
		return err
	}
	var messages []json.RawMessage
	if err := json.Unmarshal(data, &messages); err != nil {
		return fmt.Errorf("%s streams its requests: want a JSON array of %s messages: %w", m.FullName(), m.Input().FullName(), err)
	}
	for i, raw := range messages {
		if _, err := s.DecodeJSON(raw, m.Input(), dynamic.Position{}); err != nil {
			return fmt.Errorf("message %d: %w", i+1, err)
		}
	}
	return nil
}
