// Package micro is the entry point of a micro service: [NewService] builds a
// service whose [Service.Run] serves it, registers it for discovery, keeps the
// registration alive and, on SIGINT, SIGTERM or the end of its context,
// deregisters, drains and returns.
//
//	svc, err := micro.NewService("greeter")
//	if err != nil { ... }
//	if err := greeterv1.RegisterGreeterHandler(svc.Server(), &handler{}); err != nil { ... }
//	if err := svc.Run(context.Background()); err != nil { ... }
//
// An operator configures a service without touching its code, with
// environment variables, and with flags too when the program passes its
// arguments with [WithArgs] (flags win):
//
//	MICRO_ADDRESS, --address                    where to listen, ":8080" (default: a free port)
//	MICRO_ADVERTISE, --advertise                the address to register (default: derived)
//	MICRO_REGISTRY, --registry                  local (default), mdns, etcd or memory
//	MICRO_REGISTRY_ADDRESS, --registry_address  the registry's address: a directory for
//	                                            local, endpoints (a:2379,b:2379) for etcd
//	MICRO_SYNC, --sync                          locks and elections: local (default), etcd or memory
//	MICRO_SYNC_ADDRESS, --sync_address          its address, as for the registry
//	MICRO_ADMIN_ADDRESS, --admin_address        the admin HTTP listener, "127.0.0.1:9090":
//	                                            /metrics, /healthz, /readyz (default: off)
//	MICRO_ADMIN_PPROF, --admin_pprof            true: /debug/pprof/ on it too (default: false)
//	MICRO_BROKER, --broker                      events: local (default), memory, or a kind
//	                                            the program adds with WithBrokers (nats)
//	MICRO_BROKER_ADDRESS, --broker_address      its address: a directory for local, server
//	                                            URLs for nats
//	MICRO_LOG_FORMAT, MICRO_LOG_LEVEL           text (default) or json; debug, info (default),
//	                                            warn or error (see WithLogger)
//	OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_*         OTLP trace export, as in every OpenTelemetry SDK
//	                                            (default: no tracing; see package tracing/otlp)
//	MICRO_TLS_CERT, --tls_cert                  serve TLS with this PEM certificate (and key),
//	MICRO_TLS_KEY, --tls_key                    re-read when the files change (default: plain text)
//	MICRO_TLS_CA, --tls_ca                      require client certificates it signed, and verify
//	                                            the services this one calls against it
//	MICRO_AUTH_KEY, MICRO_AUTH_JWKS             read by jwt.FromEnv for WithAuth; set without
//	                                            WithAuth, the service refuses to start
//
// NewService reads no command-line arguments unless given [WithArgs], so a
// program's own flags (package flag, cobra), even one named --address, are
// its own.
//
// The runtime's version, and the constants generated code checks it against
// at compile time, are in package rpc ([github.com/protomicro/micro/runtime/rpc.Version]),
// so that a program that only calls services does not link the registry
// backends this package brings in.
package micro
