package broker

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/metadata"
)

// Content types of an event's data.
const (
	ContentTypeProto = "application/protobuf" // proto binary, the default
	ContentTypeJSON  = "application/json"     // protojson
)

// Extension attributes set on a dead-lettered event, beside the event's own.
const (
	// ExtensionDeadLetterReason is why the event was dead-lettered: the last
	// handler error, the decode error, or the error given to [Drop].
	ExtensionDeadLetterReason = "deadletterreason"
	// ExtensionDeliveryCount is how many times the event had been delivered,
	// in decimal.
	ExtensionDeliveryCount = "deliverycount"
	// ExtensionOriginTopic is the topic the event was published on.
	ExtensionOriginTopic = "origintopic"
)

// ExtensionAuthorization is the extension attribute (the ce-authorization
// header on the wire) that carries the publisher's credential, "Bearer
// <token>", as the authorization metadata of a call does. A service with a
// token source (micro.WithTokenSource) sets it on the events it publishes;
// a service with auth (micro.WithAuth) verifies it before its handlers run
// and hands them the claims (see [RequireToken]). Handlers and interceptors
// read it as the "authorization" incoming metadata.
const ExtensionAuthorization = "authorization"

// specVersion is the CloudEvents version events follow.
const specVersion = "1.0"

// Event is one event: a proto message, encoded in Data, and its CloudEvents
// 1.0 attributes. An Event handed to a [Handler] belongs to that delivery; a
// handler may keep it.
//
// In binary mode, as events travel, each attribute is a header: ce-id,
// ce-source, ce-type, ce-time (RFC 3339), ce-specversion ("1.0"),
// content-type for DataContentType, and ce-<name> for each extension.
type Event struct {
	// ID identifies the event; it is also the deduplication key: a backend
	// that deduplicates keeps one event of those published with an ID.
	// Required.
	ID string
	// Source names who published it, the publishing service. Required.
	Source string
	// Type is the full name of the message in Data,
	// "orders.v1.OrderCreated". Required.
	Type string
	// Time is when the event happened; the zero time is left out.
	Time time.Time
	// DataContentType is how Data is encoded: [ContentTypeProto] (the
	// default when empty) or [ContentTypeJSON].
	DataContentType string
	// Extensions are the extension attributes, such as "traceparent" and
	// "tracestate". Names are 1 to 20 lowercase letters or digits.
	Extensions map[string]string
	// Data is the encoded message.
	Data []byte
}

// Clone returns a deep copy of e.
func (e *Event) Clone() *Event {
	c := *e
	c.Extensions = maps.Clone(e.Extensions)
	c.Data = append([]byte(nil), e.Data...)
	return &c
}

// Validate reports what makes e unfit to publish: a missing ID, Source or
// Type, an unknown content type, a badly named extension, or a line break in
// an attribute (they travel as headers).
func (e *Event) Validate() error {
	switch {
	case e.ID == "":
		return errors.New("event has no id")
	case e.Source == "":
		return fmt.Errorf("event %q has no source", e.ID)
	case e.Type == "":
		return fmt.Errorf("event %q has no type", e.ID)
	}
	for _, a := range [...]struct{ name, value string }{{"id", e.ID}, {"source", e.Source}, {"type", e.Type}} {
		if strings.ContainsAny(a.value, "\r\n") {
			return fmt.Errorf("event %q: %s contains a line break", e.ID, a.name)
		}
	}
	switch e.DataContentType {
	case "", ContentTypeProto, ContentTypeJSON:
	default:
		return fmt.Errorf("event %q: unknown content type %q: want %s or %s", e.ID, e.DataContentType, ContentTypeProto, ContentTypeJSON)
	}
	for name := range e.Extensions {
		if !validExtension(name) {
			return fmt.Errorf("event %q: extension %q: want 1 to 20 lowercase letters or digits", e.ID, name)
		}
		switch name {
		case "id", "source", "type", "time", "specversion", "datacontenttype", "dataschema", "subject":
			return fmt.Errorf("event %q: extension %q is a CloudEvents attribute", e.ID, name)
		}
		if strings.ContainsAny(e.Extensions[name], "\r\n") {
			return fmt.Errorf("event %q: extension %q contains a line break", e.ID, name)
		}
	}
	return nil
}

func validExtension(name string) bool {
	if name == "" || len(name) > 20 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// contentType returns DataContentType, or its default.
func (e *Event) contentType() string {
	if e.DataContentType == "" {
		return ContentTypeProto
	}
	return e.DataContentType
}

// Header returns e's attributes as the headers of CloudEvents binary mode,
// for backends to put on the wire: ce-specversion, ce-id, ce-source,
// ce-type, ce-time, content-type and ce-<extension>.
func (e *Event) Header() metadata.Metadata {
	n := 6 + len(e.Extensions)
	h := make(metadata.Metadata, n)
	// One array holds every value, each key getting a one-element slice of
	// it capped at its length: a backend builds these headers for every
	// event, and an allocation per attribute showed in its profiles.
	values := make([]string, 0, n)
	put := func(key, value string) {
		values = append(values, value)
		h[key] = values[len(values)-1 : len(values) : len(values)]
	}
	put("ce-specversion", specVersion)
	put("ce-id", e.ID)
	put("ce-source", e.Source)
	put("ce-type", e.Type)
	if !e.Time.IsZero() {
		put("ce-time", e.Time.UTC().Format(time.RFC3339Nano))
	}
	put("content-type", e.contentType())
	for name, value := range e.Extensions {
		put(strings.ToLower("ce-"+name), value)
	}
	return h
}

// ParseEvent builds an event from CloudEvents binary-mode headers, as
// [Event.Header] writes them, and its data; used by backends. Header names
// are matched without regard to case; headers that are not CloudEvents
// attributes are ignored. It fails for a missing required attribute, a
// specversion other than 1.0 or a time that is not RFC 3339.
func ParseEvent(header map[string][]string, data []byte) (*Event, error) {
	e := &Event{Data: data}
	var version string
	for key, values := range header {
		if len(values) == 0 {
			continue
		}
		key, value := strings.ToLower(key), values[0]
		if key == "content-type" {
			e.DataContentType = value
			continue
		}
		name, ok := strings.CutPrefix(key, "ce-")
		if !ok {
			continue
		}
		switch name {
		case "specversion":
			version = value
		case "id":
			e.ID = value
		case "source":
			e.Source = value
		case "type":
			e.Type = value
		case "time":
			t, err := time.Parse(time.RFC3339Nano, value)
			if err != nil {
				return nil, fmt.Errorf("parse ce-time %q: %w", value, err)
			}
			e.Time = t
		default:
			if e.Extensions == nil {
				e.Extensions = make(map[string]string)
			}
			e.Extensions[name] = value
		}
	}
	if version != specVersion {
		return nil, fmt.Errorf("ce-specversion is %q, want %q", version, specVersion)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// DeadLetterHeader returns a copy of the headers of a message received on
// topic, to publish it on a dead-letter topic: with the extensions
// [ExtensionDeadLetterReason], [ExtensionDeliveryCount] and
// [ExtensionOriginTopic] set (as ce-<name> headers), and header names in
// lower case. It works on headers, not on an [Event], because a message that
// could not be parsed as an event is dead-lettered too: what such a message
// lacks to be an event is filled in (specversion; a new id; source
// "micro.broker"; type "micro.broker.Undecodable"; no time if its own is
// not RFC 3339; the content type, if unknown, as extension
// origcontenttype; badly named extensions dropped), so that the dead letter can be read as one. Used by
// backends.
func DeadLetterHeader(header map[string][]string, topic, reason string, deliveries int) map[string][]string {
	out := make(metadata.Metadata, len(header)+3)
	for key, values := range header {
		out.Append(key, values...)
	}
	out.Set("ce-"+ExtensionDeadLetterReason, reason)
	out.Set("ce-"+ExtensionDeliveryCount, strconv.Itoa(deliveries))
	out.Set("ce-"+ExtensionOriginTopic, topic)
	if _, err := ParseEvent(out, nil); err != nil {
		for key, value := range map[string]string{
			"ce-specversion": specVersion,
			"ce-id":          rand.Text(),
			"ce-source":      "micro.broker",
			"ce-type":        "micro.broker.Undecodable",
		} {
			if out.Get(key) == "" || key == "ce-specversion" {
				out.Set(key, value)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, out.Get("ce-time")); err != nil {
			out.Delete("ce-time")
		}
		if ct := out.Get("content-type"); ct != "" && ct != ContentTypeProto && ct != ContentTypeJSON {
			out.Set("ce-origcontenttype", ct)
			out.Delete("content-type")
		}
		for key := range out {
			name, ok := strings.CutPrefix(key, "ce-")
			if ok && !validExtension(name) {
				delete(out, key) // not an attribute a CloudEvents reader could take
			}
		}
	}
	return out
}

// incomingMetadata is what a handler's context and interceptors see: the core
// attributes under their binary-mode header names and the extensions under
// their own names ("traceparent"), as an RPC carries them, so that one
// tracing or auth interceptor reads events and calls alike.
func (e *Event) incomingMetadata() metadata.Metadata {
	md := e.Header() // fresh: rename the extensions in place
	for name := range e.Extensions {
		key := "ce-" + name
		md[name] = md[key]
		delete(md, key)
	}
	return md
}

// ValidateTopic reports whether topic can be published and subscribed to
// on every backend: dot-separated tokens of letters, digits, '_' and '-',
// as proto full names are. Used by backends.
func ValidateTopic(topic string) error {
	if topic == "" {
		return errors.New("empty topic")
	}
	for token := range strings.SplitSeq(topic, ".") {
		if token == "" {
			return fmt.Errorf("topic %q has an empty token", topic)
		}
		for _, r := range token {
			if !topicChar(r) {
				return fmt.Errorf("topic %q: character %q: want letters, digits, '_', '-' and '.'", topic, r)
			}
		}
	}
	return nil
}

// topicChar reports whether r may appear in a token of a topic.
func topicChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-'
}
