package mcp

import (
	"context"
	"slices"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/errors"
)

// caller is who made an MCP request, as the server judges it.
type caller struct {
	// token is the caller's bearer token, "" for none.
	token string
	// claims are what the server's verifier read in token; nil without a
	// verifier, a token, or when the token did not verify (err says why).
	claims *auth.Claims
	err    error
}

type callerKey struct{}

// callerOf returns the caller of the request whose context ctx is.
func callerOf(ctx context.Context) *caller {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		return c
	}
	return &caller{}
}

// caller judges who made req: its HTTP request's bearer token when it came
// over HTTP, else the server's own token (WithToken), verified once.
func (s *Server) caller(ctx context.Context, req sdk.Request) *caller {
	c := &caller{token: s.config.token}
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		c.token, _ = auth.BearerToken(extra.Header.Get("Authorization"))
	}
	if c.token != "" && s.config.verifier != nil {
		c.claims, c.err = s.config.verifier.Verify(ctx, c.token)
	}
	return c
}

// allow returns nil when c may call t, else the error its call gets: the
// refusal of the service's access policy, as the service would answer it,
// or of the program's filter.
func (s *Server) allow(ctx context.Context, c *caller, t *tool) error {
	info := t.info()
	if t.enforced {
		spec := info.Spec
		spec.Access = info.Access
		err := s.config.policy.Allow(spec, c.claims)
		switch {
		case err == nil:
		case s.config.verifier == nil && c.token != "":
			// Unjudged: the service decides.
		case c.err != nil && errors.CodeOf(err) == errors.CodeUnauthenticated:
			return errors.Errorf(errors.CodeUnauthenticated, "%s: token rejected: %w", spec.Procedure, c.err)
		default:
			return err
		}
	}
	if f := s.config.filter; f != nil && !f(ctx, info) {
		return errors.Errorf(errors.CodePermissionDenied, "the caller may not call %s", info.Spec.Procedure)
	}
	return nil
}

// accessMiddleware judges the caller of tools/list and tools/call, hands
// the caller on to the tool's handler in the context (which checks a call),
// and leaves the tools the caller may not call out of tools/list.
func (s *Server) accessMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		if method != "tools/list" && method != "tools/call" {
			return next(ctx, method, req)
		}
		c := s.caller(ctx, req)
		ctx = context.WithValue(ctx, callerKey{}, c)
		if c.claims != nil {
			ctx = auth.NewContext(ctx, c.claims)
		}
		res, err := next(ctx, method, req)
		list, ok := res.(*sdk.ListToolsResult)
		if err != nil || !ok {
			return res, err
		}
		s.mu.Lock()
		tools := s.tools
		s.mu.Unlock()
		list.Tools = slices.DeleteFunc(list.Tools, func(def *sdk.Tool) bool {
			t, ok := tools[def.Name]
			return !ok || s.allow(ctx, c, t) != nil
		})
		return list, nil
	}
}
