package client

import (
	"time"

	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// Call describes one outgoing call: where it goes and how. The client builds
// it from its own options and the [CallOption]s of the call; middleware may
// read and change it before passing it on.
type Call struct {
	// Service is the name the service is registered under, "greeter".
	Service string
	Spec    rpc.Spec
	// Addresses, when not empty, are used instead of looking Service up.
	Addresses []string
	// Timeout, set by a call's [WithTimeout], bounds the call together with
	// the context's deadline; zero leaves the context's deadline, or else the
	// client's default timeout.
	Timeout time.Duration
	// Metadata is sent in addition to the metadata of the call's context.
	Metadata metadata.Metadata
	// Codec encodes the messages; nil means protobuf binary.
	Codec codec.Codec
	// Retry says how a unary call is retried when it may be; see [RetryPolicy].
	Retry RetryPolicy
}
