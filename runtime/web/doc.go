// Package web is the micro dashboard: a web page that lists every service of
// a registry with its versions, nodes and their health, shows each service's
// endpoints and message schemas, and calls them from a form, through a
// [gateway.Gateway].
//
//	d, err := web.New(ctx, reg)
//	...
//	defer d.Close()
//	err = http.ListenAndServe("127.0.0.1:8082", d)
//
// Everything it serves is in the binary: the pages are html/template
// templates and the script and style sheet are embedded, so it needs no
// network beyond the registry and the services. The pages follow the
// registry live: the browser holds a server-sent events stream (GET
// /events) that sends the list of services, their nodes, the nodes' health
// (grpc.health.v1, checked every few seconds) and the gateway's counts of
// calls and errors per minute, whenever any of it changes.
//
// Calls from the page go to the gateway, which the dashboard serves under
// /rpc/, in the Connect protocol: unary calls as JSON, streams as enveloped
// JSON read message by message as they arrive. A request is checked against
// the method's schema (POST /api/services/{name}/validate) before it is sent.
//
// JSON: GET /api/services answers a [Snapshot], GET /api/services/{name} a
// [Detail].
//
// Every value that comes from a service (names, metadata, messages) is
// escaped: html/template escapes what the server renders, and the script
// only ever sets text, never markup. The pages forbid inline scripts by
// their Content-Security-Policy.
//
// By default the dashboard does not authenticate its users: anyone who can
// reach it can call every service, so serve it on a loopback address. With
// [WithAuth] it serves nothing but a sign-in form (and its static files)
// without a bearer token its verifier accepts, given in Authorization or
// through the form, which keeps it in an HttpOnly, SameSite=Strict cookie;
// calls from a signed-in browser carry the token, and the dashboard's own
// gateway checks it against each method's declared access.
package web
