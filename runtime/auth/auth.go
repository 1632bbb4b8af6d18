package auth

import (
	"context"
	stderrors "errors"
	"slices"
	"strings"
	"time"
)

// Verifier checks a bearer token and returns what it says about the caller.
// An error means the token is not acceptable (malformed, badly signed,
// expired, from another issuer or for another audience); the server
// interceptor answers it with Unauthenticated. Verify must be safe for
// concurrent use.
type Verifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

// VerifierFunc adapts a function to [Verifier].
type VerifierFunc func(ctx context.Context, token string) (*Claims, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, token string) (*Claims, error) {
	return f(ctx, token)
}

// Claims is what a verified token says about its bearer.
type Claims struct {
	// Subject is who the token was issued to ("sub").
	Subject string
	// Issuer is who issued it ("iss").
	Issuer string
	// Audience is who it is meant for ("aud").
	Audience []string
	// Scopes are what the bearer may do.
	Scopes []string
	// ExpiresAt is when the token stops being valid; zero for never.
	ExpiresAt time.Time
	// Raw holds every claim of the token as decoded, for schemes that carry
	// more than the fields above; nil when the verifier has none.
	Raw map[string]any
}

// HasScope reports whether the claims grant scope.
func (c *Claims) HasScope(scope string) bool {
	return c != nil && slices.Contains(c.Scopes, scope)
}

type claimsKey struct{}

// NewContext returns ctx carrying claims, as the server interceptor hands
// them to handlers.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// FromContext returns the claims of the caller whose call ctx belongs to, or
// nil when the call carried no verified token (a public method called
// without one, or a server without auth). The claims may be shared with
// the other calls that presented the same token (verifiers remember the
// tokens they checked): read them, and copy what is to be changed.
func FromContext(ctx context.Context) *Claims {
	claims, _ := ctx.Value(claimsKey{}).(*Claims)
	return claims
}

// ErrNoToken is wrapped by the error of a call to a protected method that
// carries no bearer token.
var ErrNoToken = stderrors.New("no bearer token")

// BearerToken returns the token of an Authorization header value,
// "Bearer <token>" (the scheme in any case), and whether it is one.
func BearerToken(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// EnforcedMetadata is the node metadata key whose value "true" says that
// the node enforces its methods' access with [NewServerInterceptor]: a
// service run with micro.WithAuth registers its nodes with it, and the MCP
// gateway lists the tools of such a service only to the callers its
// [Policy] lets call them (the tools of other services, which anyone may
// call, to everyone).
const EnforcedMetadata = "auth"
