// Package errors is micro's one model of an RPC error: a [Code] aligned with
// gRPC's status codes, a message, an optional wrapped cause and optional
// protobuf details.
//
// A handler that returns an [*Error] decides what its caller sees: the code,
// the message and the details cross the wire unchanged, and the caller gets an
// [*Error] back with the same code and message. Any other error a handler
// returns reaches the caller as [CodeUnknown] with a generic message, so that
// internal details (file paths, SQL, addresses) never leak; the server logs
// the original.
//
// Callers inspect errors with [CodeOf] or the standard library's errors.As:
//
//	res, err := greeter.Hello(ctx, req)
//	switch errors.CodeOf(err) {
//	case errors.CodeNotFound:
//		...
//	}
//
// The package is named errors so that call sites read naturally; programs
// that also need the standard library's errors package import one of them
// under another name.
package errors
