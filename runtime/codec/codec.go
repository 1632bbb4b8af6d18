// Package codec turns messages into bytes and back. micro speaks two
// encodings: protobuf's binary form ([Proto], the default on the wire) and
// protobuf's canonical JSON form ([JSON]), which lets a caller that lacks the
// proto (a shell, a browser, micro call) talk to any service.
//
// A codec's [Codec.Name] is its gRPC content subtype: a call made with [JSON]
// travels as "application/grpc+json".
package codec

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Codec marshals and unmarshals messages. Implementations must be safe for
// concurrent use.
type Codec interface {
	// Name is the gRPC content subtype, "proto" or "json".
	Name() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, which is a pointer.
	Unmarshal(data []byte, v any) error
}

// Proto is the protobuf binary codec. It handles [proto.Message] values.
type Proto struct{}

// Name returns "proto".
func (Proto) Name() string { return "proto" }

// Marshal encodes a [proto.Message] in protobuf's binary form.
func (Proto) Marshal(v any) ([]byte, error) {
	m, err := message(v)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

// Unmarshal decodes protobuf's binary form into a [proto.Message].
func (Proto) Unmarshal(data []byte, v any) error {
	m, err := message(v)
	if err != nil {
		return err
	}
	return proto.Unmarshal(data, m)
}

// JSON is the protobuf JSON codec (protojson). It handles [proto.Message]
// values and passes [json.RawMessage] through untouched, so a program holding
// only JSON text can send a request and read the reply without the proto.
//
// Unmarshal rejects fields the message does not have, naming them in the
// error. Marshal uses protojson's defaults: lowerCamelCase field names and no
// fields that hold their zero value.
type JSON struct{}

// Name returns "json".
func (JSON) Name() string { return "json" }

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) {
	switch raw := v.(type) {
	case json.RawMessage:
		return raw, nil
	case *json.RawMessage:
		return *raw, nil
	}
	m, err := message(v)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(m)
}

// Unmarshal decodes JSON into v.
func (JSON) Unmarshal(data []byte, v any) error {
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	m, err := message(v)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(data, m)
}

func message(v any) (proto.Message, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("codec: %T is not a proto.Message", v)
	}
	return m, nil
}
