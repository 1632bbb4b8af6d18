package errors

import (
	"fmt"
	"strconv"
	"strings"
)

// Code is an RPC status code. The values and their meaning are those of gRPC
// (google.rpc.Code), so a Code crosses the wire as the gRPC status code.
type Code uint32

// The status codes, with gRPC's numbering.
const (
	// CodeOK is not an error; [CodeOf] returns it for a nil error.
	CodeOK Code = 0
	// CodeCanceled: the operation was canceled, usually by the caller.
	CodeCanceled Code = 1
	// CodeUnknown: an error with no better code; also what a caller sees when a
	// handler returns an error that is not an [*Error].
	CodeUnknown Code = 2
	// CodeInvalidArgument: the caller sent an invalid request.
	CodeInvalidArgument Code = 3
	// CodeDeadlineExceeded: the deadline passed before the operation finished.
	CodeDeadlineExceeded Code = 4
	// CodeNotFound: a requested entity (or service) does not exist.
	CodeNotFound Code = 5
	// CodeAlreadyExists: the entity the caller tried to create exists.
	CodeAlreadyExists Code = 6
	// CodePermissionDenied: the caller may not perform the operation.
	CodePermissionDenied Code = 7
	// CodeResourceExhausted: a quota or resource ran out.
	CodeResourceExhausted Code = 8
	// CodeFailedPrecondition: the system is not in a state the operation needs.
	CodeFailedPrecondition Code = 9
	// CodeAborted: the operation was aborted, typically by a concurrency conflict.
	CodeAborted Code = 10
	// CodeOutOfRange: the operation went past a valid range.
	CodeOutOfRange Code = 11
	// CodeUnimplemented: the procedure is not implemented by the server.
	CodeUnimplemented Code = 12
	// CodeInternal: an invariant of the server is broken, such as a handler panic.
	CodeInternal Code = 13
	// CodeUnavailable: the service cannot be reached now; a retry may succeed.
	CodeUnavailable Code = 14
	// CodeDataLoss: unrecoverable data loss or corruption.
	CodeDataLoss Code = 15
	// CodeUnauthenticated: the caller has no valid credentials.
	CodeUnauthenticated Code = 16

	maxCode = CodeUnauthenticated
)

var codeNames = [...]string{
	CodeOK:                 "ok",
	CodeCanceled:           "canceled",
	CodeUnknown:            "unknown",
	CodeInvalidArgument:    "invalid_argument",
	CodeDeadlineExceeded:   "deadline_exceeded",
	CodeNotFound:           "not_found",
	CodeAlreadyExists:      "already_exists",
	CodePermissionDenied:   "permission_denied",
	CodeResourceExhausted:  "resource_exhausted",
	CodeFailedPrecondition: "failed_precondition",
	CodeAborted:            "aborted",
	CodeOutOfRange:         "out_of_range",
	CodeUnimplemented:      "unimplemented",
	CodeInternal:           "internal",
	CodeUnavailable:        "unavailable",
	CodeDataLoss:           "data_loss",
	CodeUnauthenticated:    "unauthenticated",
}

// String returns the code's name in snake case, "not_found", or "code_N" for a
// code outside gRPC's range.
func (c Code) String() string {
	if c <= maxCode {
		return codeNames[c]
	}
	return "code_" + strconv.FormatUint(uint64(c), 10)
}

// MarshalText implements [encoding.TextMarshaler] with [Code.String].
func (c Code) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]. It accepts what
// [Code.String] returns, and gRPC's upper-case names such as "NOT_FOUND".
func (c *Code) UnmarshalText(text []byte) error {
	name := strings.ToLower(string(text))
	for code, known := range codeNames {
		if name == known {
			*c = Code(code)
			return nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "code_"); ok {
		if n, err := strconv.ParseUint(rest, 10, 32); err == nil {
			*c = Code(n)
			return nil
		}
	}
	return fmt.Errorf("unknown error code %q", text)
}
