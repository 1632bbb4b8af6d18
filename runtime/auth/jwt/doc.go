// Package jwt verifies JSON Web Tokens for [auth.Verifier], with
// github.com/golang-jwt/jwt/v5, and mints development tokens.
//
// Keys come from a file ([WithKeyFile]: a PEM public key, certificate or
// private key, or a JWK or JWK Set in JSON) or from a JWKS URL ([WithJWKSURL]),
// fetched when first needed, kept, refreshed every hour and again when a
// token names a key it has not seen. Only asymmetric algorithms are
// accepted (RS*, PS*, ES*, EdDSA), each only with a key of its kind.
//
// Only programs that import this package link the JWT library: a service
// that does not use auth, or gives [micro.WithAuth] a verifier of its own,
// carries none of it.
//
// [micro.WithAuth]: https://pkg.go.dev/github.com/protomicro/micro/runtime/micro#WithAuth
package jwt
