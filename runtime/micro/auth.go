package micro

import (
	"context"
	"fmt"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/runtime/server"
)

// The settings of jwt.FromEnv, which a service without auth refuses to
// ignore.
var (
	authKeySetting  = setting{"auth_key", "MICRO_AUTH_KEY"}
	authJWKSSetting = setting{"auth_jwks", "MICRO_AUTH_JWKS"}
)

// WithAuth enforces the access each method's proto declares with v (see
// package [auth]): calls without a valid token fail with Unauthenticated,
// without a needed scope with PermissionDenied. opts set the default for
// methods that declare none (authenticated) and the procedures that are
// public (health and reflection). The service's client then forwards a
// caller's token on the calls a handler makes only when the handler's
// method declares delegate. The service's event handlers get the claims of
// the token an event carries ([broker.ExtensionAuthorization]); an event
// whose token is not valid, or without one when the subscription says
// [broker.RequireToken], goes to the dead-letter topic with why as the
// reason, unhandled. Default: no auth; a service started with
// MICRO_AUTH_KEY or MICRO_AUTH_JWKS set but no WithAuth fails to start.
// To verify JWTs as those variables say:
//
//	v, err := jwt.FromEnv(os.Getenv) // package runtime/auth/jwt
//	if err != nil { ... }
//	svc, err := micro.NewService("orders", micro.WithAuth(v))
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) {
		c.verifier = v
		c.authOptions = append(c.authOptions, opts...)
	})
}

// WithTokenSource presents ts's token as the service's own on the calls its
// client makes (unless a handler's method delegates the caller's), and on
// the events it publishes through its broker, in the event's
// [broker.ExtensionAuthorization] extension (unless the event carries one
// already). A caller's token never goes on an event. Default: none.
func WithTokenSource(ts auth.TokenSource) Option {
	return optionFunc(func(c *config) { c.tokenSource = ts })
}

// checkAuthSettings fails when MICRO_AUTH_KEY or MICRO_AUTH_JWKS (or
// their flags) ask for auth the program does not configure: the JWT
// verifier is not linked into every service (it is most of a megabyte), so
// a program that wants these settings reads them with jwt.FromEnv, and one
// that does not must not serve unprotected while the operator believes
// otherwise.
func (c *config) checkAuthSettings() error {
	if c.verifier != nil {
		return nil
	}
	for _, s := range []setting{authKeySetting, authJWKSSetting} {
		if _, ok, err := s.lookup(c.args); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%s or --%s is set, but the program configures no auth: "+
				"pass micro.WithAuth with a verifier from jwt.FromEnv (package github.com/protomicro/micro/runtime/auth/jwt)", s.env, s.flag)
		}
	}
	return nil
}

// authServerClientOptions returns the server and client options of the
// service's auth.
func (c *config) authServerClientOptions() ([]server.Option, []client.Option, error) {
	// The event side is wired in NewService: eventInterceptor and
	// tokenBroker.
	if err := c.checkAuthSettings(); err != nil {
		return nil, nil, err
	}
	var serverOptions []server.Option
	var clientOptions []client.Option
	if c.verifier != nil {
		serverOptions = append(serverOptions, server.WithInterceptors(auth.NewServerInterceptor(c.verifier, c.authOptions...)))
	}
	if c.verifier != nil || c.tokenSource != nil {
		clientOptions = append(clientOptions, client.WithInterceptors(auth.NewClientInterceptor(c.tokenSource)))
	}
	return serverOptions, clientOptions, nil
}

// eventInterceptor verifies the tokens events carry, for a service's
// subscriptions, with the policy of its calls: a delivery whose
// [broker.ExtensionAuthorization] is not a valid token granting the
// subscription's scopes, or that carries none when the subscription
// requires one ([broker.RequireToken]), is dropped to the dead-letter topic;
// one with a valid token runs with its claims ([auth.FromContext]).
type eventInterceptor struct {
	policy *auth.Policy
}

func (i eventInterceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		spec := req.Spec()
		authorization := req.Header().Get(broker.ExtensionAuthorization)
		if authorization == "" && spec.Access == nil {
			return next(ctx, req) // no token, and none required
		}
		// A token carried is checked even where none is required: an event
		// is not handled with a credential that does not hold.
		access := rpc.Access{}
		if spec.Access != nil {
			access.Scopes = spec.Access.Scopes
		}
		spec.Access = &access
		ctx, err := i.policy.Check(ctx, spec, authorization)
		if err != nil {
			return nil, broker.Drop(err)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves streams alone: events are unary deliveries.
func (i eventInterceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

// WrapStreamingHandler leaves streams alone: events are unary deliveries.
func (i eventInterceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}

// tokenBroker puts the service's own token on the events it publishes.
type tokenBroker struct {
	broker.Broker
	source auth.TokenSource
}

func (b tokenBroker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	if e.Extensions[broker.ExtensionAuthorization] != "" {
		return b.Broker.Publish(ctx, topic, e)
	}
	token, err := b.source.Token(ctx)
	if err != nil {
		return fmt.Errorf("publish on %q: get the service's token: %w", topic, err)
	}
	e = e.Clone()
	if e.Extensions == nil {
		e.Extensions = make(map[string]string, 1)
	}
	e.Extensions[broker.ExtensionAuthorization] = "Bearer " + token
	return b.Broker.Publish(ctx, topic, e)
}

// eventAuth returns the interceptor of the service's event handlers and
// the broker it publishes through, as its auth settings make them.
func (c *config) eventAuth(b broker.Broker) ([]rpc.Interceptor, broker.Broker) {
	var interceptors []rpc.Interceptor
	if c.verifier != nil {
		interceptors = append(interceptors, eventInterceptor{policy: auth.NewPolicy(c.verifier, c.authOptions...)})
	}
	if c.tokenSource != nil {
		b = tokenBroker{Broker: b, source: c.tokenSource}
	}
	return interceptors, b
}
