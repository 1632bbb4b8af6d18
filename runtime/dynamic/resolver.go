package dynamic

import (
	stderrors "errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// resolver finds the types of a schema's messages, and of the Any values in
// them, among the schema's own types and then google.rpc's error details,
// which a failed call may carry though the service's protos never mention
// them.
type resolver struct{ *dynamicpb.Types }

// FindMessageByName implements [protoregistry.MessageTypeResolver].
func (r resolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	mt, err := r.Types.FindMessageByName(name)
	if stderrors.Is(err, protoregistry.NotFound) {
		return errorDetails.FindMessageByName(name)
	}
	return mt, err
}

// FindMessageByURL implements [protoregistry.MessageTypeResolver].
func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	mt, err := r.Types.FindMessageByURL(url)
	if stderrors.Is(err, protoregistry.NotFound) {
		return errorDetails.FindMessageByURL(url)
	}
	return mt, err
}

// errorDetails are the types of google.rpc's error details
// (google/rpc/error_details.proto).
var errorDetails = func() *protoregistry.Types {
	types := new(protoregistry.Types)
	for _, m := range []proto.Message{
		(*errdetails.ErrorInfo)(nil),
		(*errdetails.RetryInfo)(nil),
		(*errdetails.DebugInfo)(nil),
		(*errdetails.QuotaFailure)(nil),
		(*errdetails.PreconditionFailure)(nil),
		(*errdetails.BadRequest)(nil),
		(*errdetails.RequestInfo)(nil),
		(*errdetails.ResourceInfo)(nil),
		(*errdetails.Help)(nil),
		(*errdetails.LocalizedMessage)(nil),
	} {
		if err := types.RegisterMessage(m.ProtoReflect().Type()); err != nil {
			panic(err) // each type is listed once
		}
	}
	return types
}()

// UnpackAny returns the message that a holds, such as a detail of a failed
// call's [errors.Error]: a message of one of the schema's types, or of one of
// google.rpc's error details (google.rpc.ErrorInfo, google.rpc.BadRequest,
// google.rpc.RetryInfo, ...). An Any of another type is an error.
//
// [errors.Error]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#Error
func (s *Schema) UnpackAny(a *anypb.Any) (proto.Message, error) {
	mt, err := s.types.FindMessageByURL(a.GetTypeUrl())
	if err != nil {
		return nil, fmt.Errorf("unpack %q: %w", a.GetTypeUrl(), err)
	}
	msg := mt.New().Interface()
	if err := (proto.UnmarshalOptions{Resolver: s.types}).Unmarshal(a.GetValue(), msg); err != nil {
		return nil, fmt.Errorf("unpack %q: %s", a.GetTypeUrl(), protoMessage(err))
	}
	return msg, nil
}
