package errors

import (
	"context"
	stderrors "errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Error is an RPC error: a [Code], a message and optional details. Its message
// is the text of the error it wraps.
//
// Handlers return an *Error to choose what their caller sees; clients return
// an *Error for every failed call. An *Error is not safe to change from several
// goroutines at once.
type Error struct {
	code    Code
	err     error
	details []*anypb.Any
	wire    bool // received from the other end of a call
}

// New returns an error with the given code whose message is underlying's text.
// The underlying error is kept for [errors.Is] and [errors.As] on this side of
// the wire; only its text is sent. A nil underlying error gives an empty
// message.
func New(code Code, underlying error) *Error {
	return &Error{code: code, err: underlying}
}

// NewWire returns an error with the given code and message that the other
// end of a call sent, as [IsWire] reports. Used by transports; handlers and
// programs use [New] and [Errorf].
func NewWire(code Code, underlying error) *Error {
	return &Error{code: code, err: underlying, wire: true}
}

// IsWire reports whether the first [*Error] in err's chain came over the
// wire: a status the server (or a proxy in front of it) answered with, as
// opposed to an error this process made up, such as a client's NotFound for a
// service no registry knows, a call's own deadline passing, or a
// configuration mistake. A caller that maps codes to meanings ("NotFound:
// no such user") should check it first.
//
// Failures of the transport itself (a refused connection, a reset stream)
// reach the caller as gRPC statuses made by grpc-go, and count as wire
// errors: grpc-go does not tell them apart.
func IsWire(err error) bool {
	e, ok := stderrors.AsType[*Error](err)
	return ok && e.wire
}

// Errorf returns an error with the given code and a message formatted as by
// [fmt.Errorf]; a %w verb wraps its operand as the cause.
func Errorf(code Code, format string, args ...any) *Error {
	return New(code, fmt.Errorf(format, args...))
}

// Code returns the error's status code.
func (e *Error) Code() Code {
	return e.code
}

// Message returns the message sent over the wire: the wrapped error's text, or
// "" when there is none.
func (e *Error) Message() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// Error returns the code and message, "not_found: user \"ada\" does not exist".
func (e *Error) Error() string {
	message := e.Message()
	if message == "" {
		return e.code.String()
	}
	return e.code.String() + ": " + message
}

// Unwrap returns the wrapped error, or nil.
func (e *Error) Unwrap() error {
	return e.err
}

// AddDetail attaches a protobuf message that travels with the error, such as
// google.rpc.ErrorInfo or google.rpc.BadRequest. A detail that is already an
// [*anypb.Any] is attached as it is. It fails only if m cannot be marshaled.
func (e *Error) AddDetail(m proto.Message) error {
	if packed, ok := m.(*anypb.Any); ok {
		e.details = append(e.details, packed)
		return nil
	}
	packed, err := anypb.New(m)
	if err != nil {
		return fmt.Errorf("add error detail %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	e.details = append(e.details, packed)
	return nil
}

// Details returns the attached details, packed. Use [anypb.Any.UnmarshalTo] to
// read one into its type. The returned slice must not be changed.
func (e *Error) Details() []*anypb.Any {
	return e.details
}

// CodeOf returns the code of the first [*Error] in err's chain. For an error
// without one it returns [CodeCanceled] or [CodeDeadlineExceeded] when err is
// the matching context error, [CodeOK] for nil and [CodeUnknown] otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	if e, ok := stderrors.AsType[*Error](err); ok {
		return e.code
	}
	switch {
	case stderrors.Is(err, context.Canceled):
		return CodeCanceled
	case stderrors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	}
	return CodeUnknown
}
