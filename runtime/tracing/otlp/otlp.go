// Package otlp turns on tracing from the standard OpenTelemetry environment
// variables: a tracer provider that exports spans over OTLP, as every
// OpenTelemetry SDK does when an operator sets them. Service entry points
// (micro.NewService) call [FromEnvironment]; a program that only calls
// services does not link this package, nor the exporters.
//
// The variables read, with what they mean here:
//
//	OTEL_SDK_DISABLED                     true: no tracing, whatever else is set
//	OTEL_TRACES_EXPORTER                  otlp (default) or none
//	OTEL_EXPORTER_OTLP_ENDPOINT           the collector, "http://collector:4317"; tracing is
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT    on only when one of these two is set
//	OTEL_EXPORTER_OTLP_PROTOCOL           grpc or http/protobuf (default, as the
//	OTEL_EXPORTER_OTLP_TRACES_PROTOCOL    specification says); the second wins
//	OTEL_SERVICE_NAME                     the service.name resource attribute
//	                                      (default: the micro service's name)
//	OTEL_RESOURCE_ATTRIBUTES              more resource attributes, "k=v,k2=v2"
//	OTEL_TRACES_SAMPLER, ..._ARG          the sampler (default parentbased_always_on)
//
// and the exporters' own OTEL_EXPORTER_OTLP_* variables (headers, timeout,
// certificates, compression), which the exporters read themselves.
package otlp

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Environment variables [FromEnvironment] reads itself; the exporters and
// the SDK read the others.
const (
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvServiceName    = "OTEL_SERVICE_NAME"
)

// FromEnvironment returns a tracer provider that batches spans to the OTLP
// collector the environment names (see the package documentation), with
// service as the service.name unless OTEL_SERVICE_NAME says otherwise, or
// nil when the environment turns no tracing on. It fails on a malformed
// variable, naming it. The caller shuts the provider down, which flushes the
// spans still batched.
func FromEnvironment(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	get := func(name string) string { return strings.TrimSpace(os.Getenv(name)) }
	switch v := strings.ToLower(get(EnvSDKDisabled)); v {
	case "", "false":
	case "true":
		return nil, nil
	default:
		return nil, fmt.Errorf("%s is %q, want true or false", EnvSDKDisabled, v)
	}
	switch v := get(EnvTracesExporter); v {
	case "", "otlp":
	case "none":
		return nil, nil
	default:
		return nil, fmt.Errorf("%s is %q, want otlp or none (no other exporter is built in)", EnvTracesExporter, v)
	}
	if get(EnvEndpoint) == "" && get(EnvTracesEndpoint) == "" {
		return nil, nil
	}
	protocol, name := get(EnvTracesProtocol), EnvTracesProtocol
	if protocol == "" {
		protocol, name = get(EnvProtocol), EnvProtocol
	}
	var (
		exporter *otlptrace.Exporter
		err      error
	)
	switch protocol {
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("%s is %q, want grpc or http/protobuf", name, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	// Later wins: the SDK's defaults, then the service's name, then
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err == nil {
		res, err = resource.Merge(res, resource.Environment())
	}
	if err != nil {
		_ = exporter.Shutdown(ctx)
		return nil, fmt.Errorf("tracing resource from OTEL_RESOURCE_ATTRIBUTES and %s: %w", EnvServiceName, err)
	}
	// The SDK reads OTEL_TRACES_SAMPLER and OTEL_BSP_* itself.
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}
