package auth

import (
	"context"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/rpc"
)

// TokenSource gives the bearer token a service presents as itself on the
// calls it makes. Token is called for every call and must be safe for
// concurrent use; cache in it what is costly to get.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenSourceFunc adapts a function to [TokenSource].
type TokenSourceFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// StaticToken returns a [TokenSource] that always gives token.
func StaticToken(token string) TokenSource {
	return TokenSourceFunc(func(context.Context) (string, error) { return token, nil })
}

// NewClientInterceptor returns the client interceptor that sets each
// outgoing call's "authorization" metadata: the caller's token when the
// call is made from a handler whose method declares delegation
// ([DelegatedToken]), else the token of ts, else nothing (ts may be nil).
// An authorization the call sets itself (client.WithHeaders) is kept.
func NewClientInterceptor(ts TokenSource) rpc.Interceptor {
	return &clientInterceptor{source: ts}
}

type clientInterceptor struct {
	source TokenSource
}

// token returns the token a call made with ctx presents, or "".
func (c *clientInterceptor) token(ctx context.Context, spec rpc.Spec) (string, error) {
	if token, ok := DelegatedToken(ctx); ok {
		return token, nil
	}
	if c.source == nil {
		return "", nil
	}
	token, err := c.source.Token(ctx)
	if err != nil {
		return "", errors.Errorf(errors.CodeUnauthenticated, "%s: get the service's token: %w", spec.Procedure, err)
	}
	return token, nil
}

func (c *clientInterceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		if err := c.present(ctx, req); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (c *clientInterceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.ClientConn, error) {
		if err := c.present(ctx, req); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingHandler leaves handled streams alone: this interceptor
// concerns the calls a service makes.
func (c *clientInterceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return next
}

func (c *clientInterceptor) present(ctx context.Context, req rpc.Request) error {
	token, err := c.token(ctx, req.Spec())
	if err != nil || token == "" {
		return err
	}
	md := req.Header()
	if md.Get("authorization") == "" {
		md.Set("authorization", "Bearer "+token)
	}
	return nil
}
