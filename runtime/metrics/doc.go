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
// A service turns them on with micro.WithAdminAddress, which serves
// [Metrics.Handler] at /metrics, or with micro.WithMetrics to share a
// [Metrics] (and its registry) with the program's own metrics:
//
//	m := metrics.New()
//	m.Registry().MustRegister(myCounter)
//	svc, err := micro.NewService("greeter", micro.WithMetrics(m))
//
// Outside a service, [Metrics.ServerOptions] and [Metrics.ClientOptions] give
// the options for server.New and client.New. This package is linked only by
// programs that build services (package micro) or import it: a program that
// only calls services does not link Prometheus.
package metrics
