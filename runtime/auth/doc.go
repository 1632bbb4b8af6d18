// Package auth enforces the access a proto declares for each method (the
// micro.v1.access and micro.v1.service_access options, carried in
// [rpc.Spec.Access]) on the calls a server answers, and presents
// credentials on the calls a client makes.
//
// A [Verifier] turns a bearer token into [Claims]; package
// [github.com/protomicro/micro/runtime/auth/jwt] verifies JWTs, and any other
// scheme plugs in through the same interface. [NewServerInterceptor]
// checks every call, unary and streaming:
//
//   - a public method passes with or without a token;
//   - otherwise a call without a valid token (none, malformed, a bad
//     signature, expired, the wrong issuer or audience) fails with
//     [errors.CodeUnauthenticated];
//   - a valid token without one of the method's scopes fails with
//     [errors.CodePermissionDenied], naming the scope.
//
// Methods that declare no access get the default, [WithDefaultAccess]:
// authenticated, no scopes. Health checks and server reflection are public
// unless [WithPublicProcedures] says otherwise. Handlers read the caller's
// claims with [FromContext].
//
// # Credentials on outgoing calls
//
// A caller's token never leaves the service implicitly. When the method
// being handled declares delegate, the server interceptor marks the
// handler's context, and [NewClientInterceptor] sends the caller's token on
// the calls the handler makes with it. Otherwise the client sends the
// service's own token, from a [TokenSource], or none.
//
// [errors.CodeUnauthenticated]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeUnauthenticated
// [errors.CodePermissionDenied]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodePermissionDenied
package auth
