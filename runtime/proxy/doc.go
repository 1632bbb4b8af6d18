// Package proxy serves the services of a registry on one gRPC address: it
// forwards every call, unary or streaming, to the service that serves its
// procedure, for callers that cannot reach the registry or its nodes (from
// another host, or in another language).
//
//	p, err := proxy.New(ctx, reg, proxy.WithLogger(logger))
//	...
//	lis, err := net.Listen("tcp", "127.0.0.1:9090")
//	...
//	err = p.Serve(lis) // until p.Shutdown
//
// # Routing
//
// A [Proxy] learns from the registry which service serves which procedure:
// each registered service lists its procedures as endpoints (a service
// registered without endpoints, by hand or by another framework, is asked
// through its server reflection once, when it joins). It follows a
// registry watch, so that a service that starts, changes or stops is
// forwarded to, or not, without a restart. When two services list the same
// procedure, the one whose registry name sorts first serves it, and the
// conflict is logged, naming both. A call to a procedure no registered
// service lists fails with Unimplemented.
//
// # Forwarding
//
// Every call goes to its service through a [client.Client], by service name:
// the client picks a node, balances, and retries failed calls of the methods
// whose endpoints say they are idempotent (never those of others, and never
// streams). Messages pass through still encoded: the proxy neither decodes
// nor re-encodes them, so it needs no schema to forward, and it sends each
// on in the buffers grpc-go read it into, uncopied. The caller's
// metadata reaches the service, less gRPC's own headers, and the service's
// response headers and trailers come back the same way. The caller's
// deadline is the call's, and the proxy sets none of its own; a caller that
// cancels cancels the call to the service, and a service that fails ends
// the caller's call with its status and details.
//
// # Health and reflection
//
// The proxy answers grpc.health.v1.Health itself: "" (the proxy) is
// SERVING, and so is a service, by registry name or by proto service name,
// while the registry lists it with a node; any other is NOT_FOUND (Check)
// or SERVICE_UNKNOWN (Watch). It answers gRPC server reflection (v1 and
// v1alpha) for the union of the services behind it, whose schemas it reads
// from their nodes' own reflection ([dynamic.Resolve]) when a reflection
// call starts, and keeps until their endpoints change; grpcurl and other
// reflection clients can list, describe and call through it.
//
// # Auth
//
// By default the proxy authenticates no one: it passes the caller's
// authorization metadata on, and each service checks it. With [WithAuth] it
// also verifies the token before forwarding, by the access each method
// declares in the registry and with the same rules as the services
// (package auth's [auth.Policy]): a call refused there never reaches the
// service.
package proxy
