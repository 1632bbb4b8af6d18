// Package jwt verifies JSON Web Tokens for [auth.Verifier], with
// github.com/golang-jwt/jwt/v5, and mints development tokens.
//
// Keys come from a file ([WithKeyFile]: a PEM public key, certificate or
// private key, or a JWK or JWK Set in JSON) or from a JWKS URL ([WithJWKSURL]),
// fetched when first needed, kept, refreshed every hour and again when a
// token names a key it has not seen. Only asymmetric algorithms are
// accepted (RS*, PS*, ES*, EdDSA), each only with a key of its kind.
//
// A signature check costs more CPU than a whole unary call, and a caller
// presents the same token on call after call, so the verifier remembers the
// tokens that verified ([WithCache]; by default 1024 of them, least
// recently used out, for at most a minute), as most gateways do. The cache
// is keyed by the whole token, signature included, and never admits what
// verifying again would refuse: an entry ends at the token's expiry (plus
// the leeway) and when keys from a JWKS URL are due to be fetched again, and
// all end when those keys change. Only tokens that verified are kept.
//
// Only programs that import this package link the JWT library: a service
// that does not use auth, or gives [micro.WithAuth] a verifier of its own,
// carries none of it.
//
// [micro.WithAuth]: https://pkg.go.dev/github.com/protomicro/micro/runtime/micro#WithAuth
package jwt
