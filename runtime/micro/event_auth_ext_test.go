package micro_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/broker"
	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestEventAuth publishes events, from a service with a token source and
// raw with tokens of every kind, to a service with auth: a valid token's
// claims reach the handler, an event without a token is handled unless the
// subscription requires one (broker.RequireToken), and every other event
// goes to the dead-letter topic, unhandled, with why as the reason.
func TestEventAuth(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	b := brokermemory.New()
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	newService := func(name string, opts ...micro.Option) *micro.Service {
		svc, err := micro.NewService(name, append([]micro.Option{micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"),
			micro.WithLogger(quiet), micro.WithBroker(b)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	orders := newService("orders", micro.WithTokenSource(auth.StaticToken(keys.Token(t, "orders:read", "orders:write"))))
	shipping := newService("shipping", micro.WithAuth(keys.Verifier(t)))

	// outcome is what became of one event: handled (with the claims'
	// subject, "" for none) or dead-lettered with a reason.
	type outcome struct {
		value, subject, dead string
	}
	outcomes := make(chan outcome, 16)
	handle := func(ctx context.Context, m *wrapperspb.StringValue) error {
		o := outcome{value: m.GetValue()}
		if claims := auth.FromContext(ctx); claims != nil {
			o.subject = claims.Subject
		}
		outcomes <- o
		return nil
	}
	if err := broker.Subscribe(shipping.Broker(), "orders.any", handle); err != nil {
		t.Fatal(err)
	}
	if err := broker.Subscribe(shipping.Broker(), "orders.strict", handle, broker.RequireToken("orders:write")); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"orders.any.dead", "orders.strict.dead"} {
		if err := broker.Subscribe(b, topic, func(_ context.Context, m *wrapperspb.StringValue) error {
			outcomes <- outcome{value: m.GetValue(), dead: "?"}
			return nil
		}, broker.Broadcast()); err != nil {
			t.Fatal(err)
		}
	}
	// The reason is in the dead letter's extensions, which the typed
	// handler does not see: read it from the raw event too.
	reasons := make(chan string, 16)
	for _, topic := range []string{"orders.any.dead", "orders.strict.dead"} {
		if err := b.Subscribe(topic, func(_ context.Context, e *broker.Event) error {
			reasons <- e.Extensions[broker.ExtensionDeadLetterReason]
			return nil
		}, broker.WithGroup("reasons")); err != nil {
			t.Fatal(err)
		}
	}
	runService(t, orders)
	runService(t, shipping)

	tokens := map[string]string{}
	for _, c := range keys.Cases(t) {
		tokens[c.Name] = c.Token
	}
	for _, tt := range []struct {
		name, topic, token string
		fromOrders         bool
		subject, dead      string
	}{
		{name: "the service's token", topic: "orders.any", fromOrders: true, subject: "ada"},
		{name: "no token", topic: "orders.any"},
		{name: "expired", topic: "orders.any", token: tokens["expired"], dead: "expired"},
		{name: "bad signature", topic: "orders.any", token: tokens["bad signature"], dead: "bad signature"},
		{name: "required, the service's token", topic: "orders.strict", fromOrders: true, subject: "ada"},
		{name: "required, no token", topic: "orders.strict", dead: "needs a bearer token"},
		{name: "required, malformed", topic: "orders.strict", token: "not-a-jwt", dead: "malformed"},
		{name: "required, missing scope", topic: "orders.strict", token: keys.Token(t, "orders:read"), dead: `needs scope "orders:write"`},
	} {
		ctx := testutil.Context(t)
		var err error
		if tt.fromOrders {
			err = broker.Publish(ctx, orders.Broker(), tt.topic, wrapperspb.String(tt.name))
		} else {
			var opts []broker.PublishOption
			if tt.token != "" {
				opts = append(opts, broker.WithExtension(broker.ExtensionAuthorization, "Bearer "+tt.token))
			}
			err = broker.Publish(ctx, b, tt.topic, wrapperspb.String(tt.name), opts...)
		}
		if err != nil {
			t.Fatalf("%s: publish: %v", tt.name, err)
		}
		var got outcome
		select {
		case got = <-outcomes:
		case <-ctx.Done():
			t.Fatalf("%s: the event was neither handled nor dead-lettered", tt.name)
		}
		if tt.dead == "" {
			if got != (outcome{value: tt.name, subject: tt.subject}) {
				t.Errorf("%s on %s = %+v, want it handled with subject %q", tt.name, tt.topic, got, tt.subject)
			}
			continue
		}
		if got.value != tt.name || got.dead == "" {
			t.Errorf("%s on %s = %+v, want it dead-lettered, not handled", tt.name, tt.topic, got)
			continue
		}
		select {
		case reason := <-reasons:
			if !strings.Contains(reason, tt.dead) {
				t.Errorf("%s on %s: dead-letter reason %q, want it to say %q", tt.name, tt.topic, reason, tt.dead)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no dead letter with a reason", tt.name)
		}
	}
}
