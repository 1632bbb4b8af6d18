package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/internal/tracecontext"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// tracerName is the instrumentation scope of the spans this package makes
// itself (otelgrpc names its own).
const tracerName = "github.com/protomicro/micro/runtime/tracing"

// Broker returns b with its events traced in tp, by the OpenTelemetry
// messaging conventions:
//
//   - Publish records a producer span "send <topic>", a child of the span in
//     the publisher's context, and sends its trace context in the event's
//     traceparent, tracestate and baggage extensions (CloudEvents headers
//     ce-traceparent, ...), replacing what the event carried.
//   - Every delivery to a handler subscribed through it runs in a consumer
//     span "process <topic>" that is both a child of the producer's span (so
//     that a trace viewer shows the event's handling inside the trace that
//     published it) and linked to it (the form the conventions prescribe
//     when a consumer span cannot be a child, kept so that tools reading
//     links find it). A delivery that fails records the error.
//
// Spans carry messaging.system (the backend's name), messaging.operation.type
// and .name, messaging.destination.name (the topic),
// messaging.consumer.group.name (the queue group, on consumer spans) and
// messaging.message.id (the event's ID).
func Broker(b broker.Broker, tp trace.TracerProvider) broker.Broker {
	return &tracedBroker{Broker: b, tracer: tp.Tracer(tracerName)}
}

type tracedBroker struct {
	broker.Broker
	tracer trace.Tracer
}

func (b *tracedBroker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	ctx, span := b.tracer.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		attribute.String("messaging.system", b.String()),
		attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.operation.name", "send"),
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.message.id", e.ID),
	))
	defer span.End()
	md := metadata.Metadata{}
	tracecontext.Inject(ctx, md)
	e = e.Clone()
	if e.Extensions == nil {
		e.Extensions = make(map[string]string, len(md))
	}
	for _, name := range []string{"traceparent", "tracestate", "baggage"} {
		if value := md.Get(name); value != "" {
			e.Extensions[name] = value
		} else {
			delete(e.Extensions, name)
		}
	}
	err := b.Broker.Publish(ctx, topic, e)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func (b *tracedBroker) Subscribe(topic string, h broker.Handler, opts ...broker.SubscribeOption) error {
	return b.Broker.Subscribe(topic, h, append(opts, broker.WithInterceptors(consumer{tracer: b.tracer, system: b.String()}))...)
}

// consumer is the interceptor that runs each delivery in its consumer span.
type consumer struct {
	tracer trace.Tracer
	system string
}

func (c consumer) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		topic, ok := strings.CutPrefix(req.Spec().Procedure, "event:")
		if !ok {
			return next(ctx, req)
		}
		header := req.Header()
		ctx = tracecontext.Extract(ctx, header)
		attrs := []attribute.KeyValue{
			attribute.String("messaging.system", c.system),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.operation.name", "process"),
			attribute.String("messaging.destination.name", topic),
			attribute.String("messaging.message.id", header.Get("ce-id")),
		}
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
		if producer := trace.SpanContextFromContext(ctx); producer.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: producer}))
		}
		ctx, span := c.tracer.Start(ctx, "process "+topic, opts...)
		defer span.End()
		res, err := next(ctx, req)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return res, err
	}
}

func (consumer) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

func (consumer) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}
