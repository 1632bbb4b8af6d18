package micro

import (
	"fmt"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/auth/jwt"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/server"
)

var (
	authKeySetting      = setting{"auth_key", "MICRO_AUTH_KEY"}
	authJWKSSetting     = setting{"auth_jwks", "MICRO_AUTH_JWKS"}
	authIssuerSetting   = setting{"auth_issuer", "MICRO_AUTH_ISSUER"}
	authAudienceSetting = setting{"auth_audience", "MICRO_AUTH_AUDIENCE"}
)

// WithAuth enforces the access each method's proto declares with v (see
// package [auth]): calls without a valid token fail with Unauthenticated,
// without a needed scope with PermissionDenied. opts set the default for
// methods that declare none (authenticated) and the procedures that are
// public (health and reflection). The service's client then forwards a
// caller's token on the calls a handler makes only when the handler's
// method declares delegate. Default: no auth, unless MICRO_AUTH_KEY or
// MICRO_AUTH_JWKS configures a JWT verifier.
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) {
		c.verifier = v
		c.authOptions = append(c.authOptions, opts...)
	})
}

// WithTokenSource presents ts's token as the service's own on the calls its
// client makes (unless a handler's method delegates the caller's). Default:
// none.
func WithTokenSource(ts auth.TokenSource) Option {
	return optionFunc(func(c *config) { c.tokenSource = ts })
}

// envVerifier returns the JWT verifier that MICRO_AUTH_KEY (a key file) or
// MICRO_AUTH_JWKS (a JWKS URL), with MICRO_AUTH_ISSUER and
// MICRO_AUTH_AUDIENCE, configure, or nil when neither is set.
func envVerifier(args []string) (auth.Verifier, error) {
	values := make(map[setting]string)
	for _, s := range []setting{authKeySetting, authJWKSSetting, authIssuerSetting, authAudienceSetting} {
		value, _, err := s.lookup(args)
		if err != nil {
			return nil, err
		}
		values[s] = value
	}
	var opts []jwt.Option
	switch key, jwks := values[authKeySetting], values[authJWKSSetting]; {
	case key != "" && jwks != "":
		return nil, fmt.Errorf("%s and %s are both set: give one", authKeySetting.env, authJWKSSetting.env)
	case key != "":
		opts = append(opts, jwt.WithKeyFile(key))
	case jwks != "":
		opts = append(opts, jwt.WithJWKSURL(jwks))
	default:
		return nil, nil
	}
	if issuer := values[authIssuerSetting]; issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	if audience := values[authAudienceSetting]; audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	return jwt.New(opts...)
}

// authOptions returns the server and client options of the service's auth.
func (c *config) authServerClientOptions() ([]server.Option, []client.Option, error) {
	if c.verifier == nil {
		v, err := envVerifier(c.args)
		if err != nil {
			return nil, nil, err
		}
		if v != nil {
			c.verifier = v
		}
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
