package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// DefaultPublicProcedures are the procedure prefixes the server interceptor
// lets through without a token unless [WithPublicProcedures] replaces them:
// gRPC health checking and server reflection, which load balancers and
// tools call before they have credentials. Reflection tells the schema, not
// data.
var DefaultPublicProcedures = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Option configures [NewServerInterceptor] and [NewPolicy].
type Option interface {
	apply(*serverConfig)
}

type optionFunc func(*serverConfig)

func (f optionFunc) apply(c *serverConfig) { f(c) }

type serverConfig struct {
	defaultAccess rpc.Access
	public        []string
}

// WithDefaultAccess sets the access of methods whose proto declares none.
// The default is authenticated with no scopes: any valid token.
// rpc.Access{Public: true} opens them instead.
func WithDefaultAccess(access rpc.Access) Option {
	return optionFunc(func(c *serverConfig) { c.defaultAccess = access })
}

// WithPublicProcedures replaces [DefaultPublicProcedures]: calls whose
// procedure starts with one of prefixes pass without a token. With no
// prefixes, health checks and reflection need a token like anything else.
func WithPublicProcedures(prefixes ...string) Option {
	return optionFunc(func(c *serverConfig) { c.public = prefixes })
}

// Policy is the access decision of [NewServerInterceptor], for what
// enforces it in front of the services too: the gateway and the proxy
// verify a request's token at the edge with the same rules, so that a
// request the service would refuse is refused before it reaches the
// service. A Policy is safe for concurrent use.
type Policy struct {
	verifier Verifier
	config   *serverConfig
}

// NewPolicy returns the policy that decides calls with v and opts, as
// [NewServerInterceptor] does. v may be nil for a policy that only judges
// claims verified elsewhere ([Policy.Allow]); [Policy.Check] then takes
// every token for one that did not verify.
func NewPolicy(v Verifier, opts ...Option) *Policy {
	c := &serverConfig{public: DefaultPublicProcedures}
	for _, opt := range opts {
		opt.apply(c)
	}
	return &Policy{verifier: v, config: c}
}

// NewServerInterceptor returns the server interceptor that enforces each
// method's declared access with v, on unary and streaming calls alike (see
// the package doc). It reads the token from the call's "authorization"
// metadata, "Bearer <token>". Its errors say why a call was refused; they
// never echo the token.
func NewServerInterceptor(v Verifier, opts ...Option) rpc.Interceptor {
	return &serverInterceptor{policy: NewPolicy(v, opts...)}
}

type serverInterceptor struct {
	policy *Policy
}

func (s *serverInterceptor) WrapUnary(next rpc.UnaryFunc) rpc.UnaryFunc {
	return func(ctx context.Context, req rpc.Request) (rpc.Response, error) {
		ctx, err := s.policy.Check(ctx, req.Spec(), authorization(ctx, req.Header))
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves outgoing streams alone: the server interceptor
// guards what a server answers.
func (s *serverInterceptor) WrapStreamingClient(next rpc.StreamingClientFunc) rpc.StreamingClientFunc {
	return next
}

func (s *serverInterceptor) WrapStreamingHandler(next rpc.StreamingHandlerFunc) rpc.StreamingHandlerFunc {
	return func(ctx context.Context, conn rpc.HandlerConn) error {
		checked, err := s.policy.Check(ctx, conn.Spec(), authorization(ctx, conn.Header))
		if err != nil {
			return err
		}
		if checked != ctx {
			conn = contextConn{HandlerConn: conn, ctx: checked}
		}
		return next(checked, conn)
	}
}

// authorization returns the "authorization" header of a call served with
// ctx: looked up alone in the call's incoming metadata, which on a server
// is what header returns, without converting the rest of it; from header
// when ctx carries none.
func authorization(ctx context.Context, header func() metadata.Metadata) string {
	values, ok := metadata.ValuesFromIncomingContext(ctx, "authorization")
	if !ok {
		return header().Get("authorization")
	}
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// contextConn is a stream whose context carries the caller's claims.
type contextConn struct {
	rpc.HandlerConn
	ctx context.Context
}

func (c contextConn) Context() context.Context { return c.ctx }

// Check decides one call of spec that presents authorization, the value of
// its "authorization" metadata ("Bearer <token>", or "" for none), and
// returns the context its handler runs with: the caller's claims
// ([FromContext]), and the delegation marker when the method declares it.
// A refused call's error has code Unauthenticated (no valid token) or
// PermissionDenied (a scope missing); it never echoes the token.
func (p *Policy) Check(ctx context.Context, spec rpc.Spec, authorization string) (context.Context, error) {
	access := p.Access(spec)
	if authorization == "" {
		return ctx, allow(spec.Procedure, access, nil)
	}
	token, ok := BearerToken(authorization)
	if !ok {
		if access.Public {
			return ctx, nil
		}
		return ctx, errors.Errorf(errors.CodeUnauthenticated, "%s: the authorization header is not \"Bearer <token>\"", spec.Procedure)
	}
	claims, err := p.verify(ctx, token)
	if err != nil {
		if access.Public { // a bad token on a public method is no token
			return ctx, nil
		}
		return ctx, errors.Errorf(errors.CodeUnauthenticated, "%s: token rejected: %w", spec.Procedure, err)
	}
	if err := allow(spec.Procedure, access, claims); err != nil {
		return ctx, err
	}
	ctx = NewContext(ctx, claims)
	if access.Delegate {
		ctx = context.WithValue(ctx, delegatedKey{}, token)
	}
	return ctx, nil
}

// Access returns what a call of spec must satisfy: the method's declared
// access, else public for the procedures [WithPublicProcedures] exempts,
// else the default ([WithDefaultAccess]).
func (p *Policy) Access(spec rpc.Spec) rpc.Access {
	if spec.Access != nil {
		return *spec.Access
	}
	for _, prefix := range p.config.public {
		if strings.HasPrefix(spec.Procedure, prefix) {
			return rpc.Access{Public: true}
		}
	}
	return p.config.defaultAccess
}

func (p *Policy) verify(ctx context.Context, token string) (*Claims, error) {
	if p.verifier == nil {
		return nil, fmt.Errorf("no verifier is configured")
	}
	return p.verifier.Verify(ctx, token)
}

// Allow decides a call of spec by a caller whose token has already been
// verified to claims (nil for no token, or one that did not verify), for
// programs that judge calls before they make them: the MCP gateway lists a
// caller only the tools it may call. It returns nil, or the error [Check]
// refuses the call with: Unauthenticated wrapping [ErrNoToken] when claims
// is nil and the access is not public, PermissionDenied naming the first
// scope the claims lack.
func (p *Policy) Allow(spec rpc.Spec, claims *Claims) error {
	return allow(spec.Procedure, p.Access(spec), claims)
}

func allow(procedure string, access rpc.Access, claims *Claims) error {
	if access.Public {
		return nil
	}
	if claims == nil {
		return errors.Errorf(errors.CodeUnauthenticated, "%s needs a bearer token: %w", procedure, ErrNoToken)
	}
	for _, scope := range access.Scopes {
		if !claims.HasScope(scope) {
			return errors.Errorf(errors.CodePermissionDenied, "%s needs scope %q, which the token of %q does not grant", procedure, scope, claims.Subject)
		}
	}
	return nil
}

type delegatedKey struct{}

// DelegatedToken returns the caller's bearer token when ctx is the context
// of a handler whose method declares delegation, so that the handler's
// downstream calls act for the caller; otherwise "" and false.
// [NewClientInterceptor] uses it.
func DelegatedToken(ctx context.Context) (string, bool) {
	token, ok := ctx.Value(delegatedKey{}).(string)
	return token, ok
}

// String describes the interceptor, for logs.
func (s *serverInterceptor) String() string {
	return fmt.Sprintf("auth(%T)", s.policy.verifier)
}
