// Package dynamic lets a program call services whose protos it does not
// have, as the micro command, the HTTP gateway, the dashboard and the MCP
// server do.
//
// [Resolve] reads a [Schema] from a running node through gRPC server
// reflection (grpc.reflection.v1, falling back to v1alpha): the services it
// serves and every message type they use, built from the node's answers
// alone, never from the types linked into the program. With the schema,
// [Schema.FindMethod] finds a method by any of the spellings micro accepts,
// [Schema.DecodeJSON] builds a request as a [dynamicpb.Message] from JSON,
// reporting a mistake at its line and column, [Spec] gives what a
// [client.Client] needs to call it, and [Schema.EncodeJSON] renders the
// response as JSON:
//
//	s, err := dynamic.Resolve(ctx, c, "greeter")
//	...
//	m, err := s.FindMethod("greeter", "Hello")
//	...
//	req, err := s.DecodeJSON([]byte(`{"name": "Ada"}`), m.Input(), dynamic.Position{})
//	...
//	res := dynamicpb.NewMessage(m.Output())
//	if err := c.Invoke(ctx, "greeter", dynamic.Spec(m), req, res); err != nil {
//		...
//	}
//	err = s.EncodeJSON(os.Stdout, res, true)
//
// JSON is protobuf's JSON mapping. Besides the schema's own types, it knows
// the error details of google.rpc (ErrorInfo, BadRequest, RetryInfo, ...),
// so that [Schema.UnpackAny] can read the details of a failed call.
package dynamic
