package micro

import (
	"fmt"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
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
// method declares delegate. Default: no auth; a service started with
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
// client makes (unless a handler's method delegates the caller's). Default:
// none.
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
