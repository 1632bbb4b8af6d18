// Package mcp serves the services of a registry to AI models as tools of the
// Model Context Protocol (https://modelcontextprotocol.io), on the official
// Go SDK (github.com/modelcontextprotocol/go-sdk).
//
// Every unary and server-streaming method of every registered service is a
// tool (a call of a stream collects up to [WithStreamLimit] responses, with
// progress notifications), named after the
// service's registry name and the method, "greeter_Hello" (sanitized to
// [A-Za-z0-9_-], at most 64 characters, and made unique with a hash suffix
// where two would collide). Its input and output schemas are the JSON Schemas of the
// method's request and response in protobuf's JSON mapping, derived from the
// descriptors the service's nodes serve through gRPC server reflection
// ([InputSchema], [OutputSchema]); its description is the method's comment
// in the proto, and the request fields' comments describe their properties,
// as protoc-gen-micro carries them into the registration. Methods declared
// with idempotency_level NO_SIDE_EFFECTS are marked read-only, IDEMPOTENT
// idempotent.
//
// A call returns the response as structured content and as JSON text; a
// call the service fails is an error result (isError) whose text is the
// error's code, message and details in JSON, never a protocol error. The
// tool list follows the registry: tools of a service that registers,
// changes or leaves are added or removed, and connected clients told.
//
//	s, err := mcp.New(ctx, reg)
//	...
//	defer s.Close()
//	err = s.Run(ctx, &sdk.StdioTransport{})     // micro mcp
//	http.Handle("/mcp", s.Handler())            // micro api --mcp
//
// # Access
//
// A tool the caller may not call is not listed, and calling it is an error
// result with the refusal the service would answer. The services that
// enforce the access their protos declare (micro.WithAuth, which registers
// [auth.EnforcedMetadata]) are judged as their server interceptor judges a
// call ([auth.Policy]): public methods are everyone's, others need a valid
// bearer token, scoped ones every scope. The caller's token is the
// Authorization header of its HTTP request, or on stdio the token of
// [WithToken]; every tool call carries it to the service, which enforces
// its access itself too. With a verifier ([WithAuth]) the server checks
// tokens as the services do; without one it cannot, and lists a caller
// without a token only the public tools and one with a token every tool.
// The tools of services that enforce no access are listed to everyone.
// [WithFilter] narrows what a caller sees further.
package mcp
