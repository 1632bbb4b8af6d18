// Package metrics counts and times the calls a service serves and makes, in
// Prometheus under the names grpc-go programs use, so that dashboards made
// for them (grpc_server_handled_total, grpc_server_handling_seconds, ...)
// work unchanged:
//
//	grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//	grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//	grpc_server_msg_received_total, grpc_server_msg_sent_total
//	grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (a histogram)
//
// and the same with grpc_client_ for calls made. They are kept by
// github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus,
// installed as grpc-go interceptors, so that they see every method (health
// checks and reflection too) and the status code the caller got. A client's
// figures count attempts: each retry is a call of its own.
//
// Beside them it counts a service's events ([Metrics.InstrumentBroker]), the
// same way on every broker backend since they come from the deliveries the
// broker layer sees ([broker.WithObserver]):
//
//	micro_broker_published_total{topic,outcome}            outcome: ok, error
//	micro_broker_handled_total{topic,group,outcome}        outcome: ok, error, dropped (broker.Drop), abandoned (stopping)
//	micro_broker_redelivered_total{topic,group}            deliveries of an event delivered before
//	micro_broker_dead_lettered_total{topic,group,reason}   reason: failed (the last delivery), dropped, undecodable, unacknowledged
//	micro_broker_handling_seconds{topic,group}             how long handlers ran (a histogram)
//
// where group is the queue group ("" for a broadcast subscription). A
// subscription's series are there, at zero, from its first delivery, but for
// the rare dead letters of undecodable and unacknowledged events. It counts
// a program's registry lookups and watches ([Metrics.InstrumentRegistry]):
//
//	micro_registry_lookups_total{backend,operation,outcome}  operation: get_service, list_services; outcome: ok, not_found, error
//	micro_registry_watch_events_total{backend,type}           type: create, update, delete
//
// and a gateway's HTTP requests ([Metrics.InstrumentGateway]), by the route
// they matched, never their raw path, so that the series stay few:
//
//	micro_gateway_requests_total{route,method,code}
//	micro_gateway_request_duration_seconds{route,method} (a histogram)
//
// A service turns them on with micro.WithAdminAddress, which serves
// [Metrics.Handler] at /metrics, or with micro.WithMetrics to share a
// [Metrics] (and its registry) with the program's own metrics:
//
//	m := metrics.New()
//	m.Registry().MustRegister(myCounter)
//	svc, err := micro.NewService("greeter", micro.WithMetrics(m))
//
// micro api --admin_address serves a gateway's. Outside a service,
// [Metrics.ServerOptions] and [Metrics.ClientOptions] give the options for
// server.New and client.New, and the Instrument methods wrap a broker, a
// registry or an HTTP handler. This package is linked only by programs that
// build services (package micro) or import it: a program that only calls
// services does not link Prometheus, and neither does one that uses a
// broker, a registry or a gateway without it.
package metrics
