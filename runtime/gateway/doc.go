// Package gateway serves the services of a registry over HTTP: REST by the
// google.api.http rules of their methods, and every method by its procedure
// in the Connect, gRPC-Web and gRPC protocols, without their proto files and
// without generated gateway code.
//
//	g, err := gateway.New(ctx, reg, gateway.WithLogger(logger))
//	...
//	defer g.Close()
//	err = http.ListenAndServe("127.0.0.1:8080", g)
//
// # Routes
//
// A [Gateway] finds services, their endpoints and the endpoints' HTTP rules
// in the registry, and their message types through gRPC server reflection
// ([dynamic.Resolve]). It follows a registry watch: when a service appears,
// changes its endpoints or leaves, the gateway reads it again and swaps in
// new routes whole, so that a request is served by one set of routes or the
// next, never a mix. GET /_routes answers an [Index] of the routes in JSON,
// and so does GET / unless a service claims it.
//
// When two services claim one route (the same HTTP method and URL template,
// whatever its variables are called), or serve the same proto service, the
// one whose registry name sorts first wins; the conflict is logged, naming
// both, and listed in the index.
//
// # Transcoding
//
// The protocols and REST's semantics (path templates, body "*" or a field,
// query parameters by field path, response_body, additional_bindings) are
// connectrpc.com/vanguard's: the gateway builds a vanguard transcoder from
// the services' descriptors and the registry's rules, and rebuilds it when
// they change (a transcoder is immutable). JSON is protojson, and a field
// the message does not have is an error. Where vanguard departs from
// grpc-gateway the gateway follows grpc-gateway: a query parameter for a
// field the path or the body binds is ignored (for body "*", every query
// parameter is), an empty body where the rule takes the whole request is
// {}, a last segment's ":suffix" that is no route's verb is part of the
// last variable, and a unary Connect POST may leave out
// Connect-Protocol-Version, as connect-go allows.
//
// The plainest REST calls, by a unary method's route that is a literal
// path or has only simple variables (a whole segment, {id}, binding a
// top-level string or integer field) and takes the whole body or none
// (POST /v1/echo with body "*", GET /v1/things/{id}), with a JSON body
// (or none) and no query, the gateway serves itself with the transcoder's
// codecs, as the transcoder would answer them; any call whose answer could
// differ (a body that does not decode, a variable's value with anything
// but unreserved URL characters or that is no plain decimal for an
// integer, another route matching the path too, an error, metadata in the
// answer) still goes to the transcoder, after the one call to the service.
//
// A REST call of a server-streaming method is answered as it streams, as
// grpc-gateway answers it: newline-delimited JSON, {"result": message} a
// line (the response_body field's value, if the route names one), and
// {"error": google.rpc.Status} as the last line when the stream fails.
// A caller that accepts text/event-stream gets Server-Sent Events instead:
// each message as an event's data, a failure as an event named "error"
// whose data is the Status. A stream that fails before its first message
// answers the error's HTTP status. (The transcoder streams no REST response,
// so the gateway frames these itself; a method given several routes streams
// with the response_body of the first.)
//
// Behind the transcoder, every call goes to the service through a
// [client.Client], by service name. The transcoder hands the gateway each
// call in gRPC; the gateway passes its messages on still encoded, without
// decoding them, and the client picks a node, balances, and retries calls of
// idempotent methods. The other design, a reverse proxy speaking gRPC over
// HTTP/2 to a node's address, would have to pick nodes, balance and retry
// by itself, and keep a second pool of connections beside the client's.
//
// # Errors
//
// Errors are answered as google.rpc.Status JSON with their details, with the
// HTTP status of grpc-gateway's table: invalid_argument, failed_precondition
// and out_of_range 400, unauthenticated 401, permission_denied 403,
// not_found 404, already_exists and aborted 409, resource_exhausted 429,
// canceled 499, unimplemented 501, unavailable 503, deadline_exceeded 504,
// others 500. A path that matches no route is 404 (saying nothing of the
// routes there are); a route asked with the wrong method is 405 with Allow;
// malformed JSON, or a field or query parameter the request does not have,
// is 400; a body over the limit (default 4 MiB, [WithBodyLimit]) is 413; a
// service with no node is 503.
//
// # Headers
//
// Of a request's headers, only Authorization and Grpc-Metadata-* (without
// the prefix) become the call's metadata; the service's response headers
// come back as Grpc-Metadata-* (and, in Connect, its trailers as
// Trailer-Grpc-Metadata-*). A call's deadline is what the request asks for
// in grpc-timeout or Connect-Timeout-Ms, and is sent to the service; else
// the gateway's default ([WithTimeout], 30 seconds) bounds the call
// without being sent, as grpc-gateway sends no deadline either (see
// [WithTimeout] for streams and a client of the caller's). Cross-origin requests are refused unless a
// [CORS] policy is given ([WithCORS]).
//
// # Auth
//
// The gateway forwards a request's Authorization header to the service as
// the call's authorization metadata, the caller's own credential for that
// one hop; the service checks it against the access its proto declares (see
// package auth). A call the service refuses as Unauthenticated is answered
// 401 with WWW-Authenticate: Bearer, one refused as PermissionDenied 403,
// each with the service's error (and its details) in the body.
//
// By default the gateway itself authenticates no one: a service without
// auth is open through it. With [WithAuth] it also verifies the token at
// the edge, by the access each method declares in the registry and with
// the same rules as the services (package auth's [auth.Policy]): a request
// the policy refuses is answered 401 or 403 as above without reaching the
// service, and a method that declares no access gets the policy's default
// (authenticated), whether or not its service enforces auth.
//
// # Metrics
//
// Wrapped in metrics.Metrics.InstrumentGateway, the gateway's requests are
// counted and timed by the route each matched, which the gateway names: the
// URL template of a REST route ("/v1/{name=shelves/*}"), the procedure of a
// Connect, gRPC or gRPC-Web call, "/_routes" for the index, or "unmatched";
// never the raw path, so that the series stay few. The gateway itself links
// no metrics library. [WithClientOptions] counts the calls it makes
// (metrics.Metrics.ClientOptions); micro api --admin_address does both.
package gateway
