package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/protomicro/micro/runtime/auth"
)

const (
	// DefaultScopeClaim is the claim scopes are read from unless
	// [WithScopeClaim] names another.
	DefaultScopeClaim = "scope"
	// DefaultLeeway is the clock skew allowed in exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultRefresh is how often keys from a JWKS URL are fetched again.
	DefaultRefresh = time.Hour
	// minRefetch bounds how often a token naming an unknown key makes the
	// verifier fetch the JWKS URL again, so bad tokens cannot flood it.
	minRefetch = 10 * time.Second
)

// Option configures [New].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	keyFile    string
	jwksURL    string
	issuer     string
	audience   string
	leeway     time.Duration
	scopeClaim string
	refresh    time.Duration
	httpClient *http.Client
	now        func() time.Time
	cacheSize  int
	cacheTTL   time.Duration
}

// WithKeyFile reads the verification keys from path: PEM (PUBLIC KEY, RSA
// PUBLIC KEY, CERTIFICATE, or a private key whose public half is used) or
// JSON (one JWK or a JWK Set). The file is read once, by [New].
func WithKeyFile(path string) Option {
	return optionFunc(func(c *config) { c.keyFile = path })
}

// WithJWKSURL fetches the verification keys from a JWK Set at url: on the
// first token, every [WithRefresh] interval after, and when a token names a
// key ID the set lacks (at most every ten seconds).
func WithJWKSURL(url string) Option {
	return optionFunc(func(c *config) { c.jwksURL = url })
}

// WithIssuer requires tokens' "iss" to be issuer. By default any issuer is
// accepted.
func WithIssuer(issuer string) Option {
	return optionFunc(func(c *config) { c.issuer = issuer })
}

// WithAudience requires tokens' "aud" to include audience. By default any
// audience is accepted.
func WithAudience(audience string) Option {
	return optionFunc(func(c *config) { c.audience = audience })
}

// WithLeeway sets the clock skew allowed when checking exp, nbf and iat;
// the default is [DefaultLeeway].
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(c *config) { c.leeway = d })
}

// WithScopeClaim names the claim scopes are read from; the default is
// [DefaultScopeClaim]. The claim may be a space-separated string ("scope",
// as in RFC 8693) or an array of strings ("scp", as some issuers send);
// when the named claim is absent, "scp" is read too.
func WithScopeClaim(name string) Option {
	return optionFunc(func(c *config) { c.scopeClaim = name })
}

// WithRefresh sets how often keys from a JWKS URL are fetched again; the
// default is [DefaultRefresh].
func WithRefresh(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refresh = d })
}

// WithHTTPClient sets the client that fetches the JWKS URL; the default has
// a ten-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) { c.httpClient = hc })
}

// WithCache sets how many verified tokens the verifier remembers, and for
// how long at most, so that a token presented again skips the signature
// check: the default is [DefaultCacheSize] tokens for [DefaultCacheTTL].
// A remembered token is still refused once it expires (with the leeway),
// and all are forgotten when keys from a JWKS URL change. A size or ttl of
// zero turns the cache off: every call then verifies its token's
// signature.
func WithCache(size int, ttl time.Duration) Option {
	return optionFunc(func(c *config) { c.cacheSize, c.cacheTTL = size, ttl })
}

// withClock sets the verifier's clock, for tests.
func withClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// FromEnv returns the verifier the environment configures, as getenv
// (os.Getenv) reads it: MICRO_AUTH_KEY, a key file (see [WithKeyFile]), or
// MICRO_AUTH_JWKS, a JWKS URL; MICRO_AUTH_ISSUER and MICRO_AUTH_AUDIENCE,
// when set, are required of tokens. It fails when neither key setting is
// set, or both are.
func FromEnv(getenv func(string) string) (*Verifier, error) {
	var opts []Option
	switch key, jwks := getenv("MICRO_AUTH_KEY"), getenv("MICRO_AUTH_JWKS"); {
	case key != "" && jwks != "":
		return nil, errors.New("JWT verifier from the environment: MICRO_AUTH_KEY and MICRO_AUTH_JWKS are both set: give one")
	case key != "":
		opts = append(opts, WithKeyFile(key))
	case jwks != "":
		opts = append(opts, WithJWKSURL(jwks))
	default:
		return nil, errors.New("JWT verifier from the environment: set MICRO_AUTH_KEY (a key file) or MICRO_AUTH_JWKS (a JWKS URL)")
	}
	if issuer := getenv("MICRO_AUTH_ISSUER"); issuer != "" {
		opts = append(opts, WithIssuer(issuer))
	}
	if audience := getenv("MICRO_AUTH_AUDIENCE"); audience != "" {
		opts = append(opts, WithAudience(audience))
	}
	return New(opts...)
}

// Verifier verifies JWTs; it is an [auth.Verifier], safe for concurrent use.
type Verifier struct {
	config *config
	parser *gojwt.Parser
	cache  *tokenCache // nil when off

	mu       sync.Mutex
	keys     keySet
	fetched  time.Time // when keys were last fetched from the JWKS URL
	attempts time.Time // when a fetch was last tried
	// generation counts the fetches that changed keys, for the cache.
	generation uint64
}

// New returns a verifier with keys from a file or a JWKS URL; it needs one of
// [WithKeyFile] and [WithJWKSURL].
func New(opts ...Option) (*Verifier, error) {
	c := &config{leeway: DefaultLeeway, scopeClaim: DefaultScopeClaim, refresh: DefaultRefresh, now: time.Now, cacheSize: DefaultCacheSize, cacheTTL: DefaultCacheTTL}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	v := &Verifier{config: c, cache: newTokenCache(c.cacheSize, c.cacheTTL)}
	switch {
	case c.keyFile != "" && c.jwksURL != "":
		return nil, errors.New("new JWT verifier: give a key file or a JWKS URL, not both")
	case c.keyFile != "":
		data, err := os.ReadFile(c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("new JWT verifier: read the key file: %w", err)
		}
		if v.keys, err = parseKeys(data); err != nil {
			return nil, fmt.Errorf("new JWT verifier: key file %q: %w", c.keyFile, err)
		}
	case c.jwksURL == "":
		return nil, errors.New("new JWT verifier: no keys: give a key file or a JWKS URL")
	}
	parserOptions := []gojwt.ParserOption{
		gojwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}),
		gojwt.WithLeeway(c.leeway),
		gojwt.WithTimeFunc(c.now),
		gojwt.WithExpirationRequired(),
	}
	if c.issuer != "" {
		parserOptions = append(parserOptions, gojwt.WithIssuer(c.issuer))
	}
	if c.audience != "" {
		parserOptions = append(parserOptions, gojwt.WithAudience(c.audience))
	}
	v.parser = gojwt.NewParser(parserOptions...)
	return v, nil
}

// Verify checks token's signature, expiry (a token must have "exp"),
// issuer and audience, and returns its claims. A token that verified is
// remembered (see [WithCache]): the claims returned for it again are the
// same, shared by the calls that present it, and must not be modified.
func (v *Verifier) Verify(ctx context.Context, token string) (*auth.Claims, error) {
	now := v.config.now()
	if claims, ok := v.cache.get(token, now); ok {
		return claims, nil
	}
	var used keysUsed
	var claims gojwt.MapClaims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *gojwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, keys, err := v.key(ctx, kid)
		used = keys
		if err != nil {
			return nil, err
		}
		if !fits(t.Method, key) {
			return nil, fmt.Errorf("algorithm %s does not fit the key of ID %q", t.Method.Alg(), kid)
		}
		return key, nil
	})
	if err != nil {
		return nil, describe(err)
	}
	out := &auth.Claims{Raw: claims}
	out.Subject, _ = claims.GetSubject()
	out.Issuer, _ = claims.GetIssuer()
	audience, _ := claims.GetAudience()
	out.Audience = audience
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		out.ExpiresAt = exp.Time
	}
	out.Scopes = scopes(claims, v.config.scopeClaim)
	// Clipped: the claims are shared by the calls that present the token,
	// and an append by one of them must not write into the others'.
	out.Audience, out.Scopes = slices.Clip(out.Audience), slices.Clip(out.Scopes)
	v.cache.put(token, out, now, v.config.leeway, used.due, used.generation)
	return out, nil
}

// describe shortens the JWT library's errors to what a caller should be
// told: expired, not yet valid, wrong issuer or audience, bad signature, or
// malformed.
func describe(err error) error {
	switch {
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return fmt.Errorf("malformed token: %w", err)
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid), errors.Is(err, gojwt.ErrTokenUnverifiable):
		return fmt.Errorf("bad signature: %w", err)
	}
	return err
}

// scopes reads the scopes from claim, a space-separated string or an array
// of strings, falling back to "scp".
func scopes(claims gojwt.MapClaims, claim string) []string {
	value, ok := claims[claim]
	if !ok {
		value = claims["scp"]
	}
	switch v := value.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// fits reports whether a token signed with method may be checked with key,
// so that a key of one kind is never used with another kind's algorithm.
func fits(method gojwt.SigningMethod, key crypto.PublicKey) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		switch method.(type) {
		case *gojwt.SigningMethodRSA, *gojwt.SigningMethodRSAPSS:
			return true
		}
	case *ecdsa.PublicKey:
		_, ok := method.(*gojwt.SigningMethodECDSA)
		return ok
	case ed25519.PublicKey:
		_, ok := method.(*gojwt.SigningMethodEd25519)
		return ok
	}
	return false
}

// keysUsed says, for the cache, which keys a token verified with: when
// those from the JWKS URL are next due to be fetched again, so that no token
// is remembered past it (the zero time for keys from a file, which do not
// change), and which fetch of them they are, so that a token verified with
// keys replaced meanwhile is not remembered.
type keysUsed struct {
	due        time.Time
	generation uint64
}

// key returns the key of ID kid, fetching the JWKS URL when the keys are
// stale or lack it, and which keys it was one of.
func (v *Verifier) key(ctx context.Context, kid string) (crypto.PublicKey, keysUsed, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	key, err := v.keyLocked(ctx, kid)
	used := keysUsed{generation: v.generation}
	if v.config.jwksURL != "" {
		used.due = v.fetched.Add(v.config.refresh)
	}
	return key, used, err
}

// keyLocked is [Verifier.key] with v.mu held.
func (v *Verifier) keyLocked(ctx context.Context, kid string) (crypto.PublicKey, error) {
	now := v.config.now()
	if v.config.jwksURL != "" {
		_, known := v.keys[kid]
		stale := now.Sub(v.fetched) >= v.config.refresh
		if (stale || !known) && now.Sub(v.attempts) >= minRefetch {
			v.attempts = now
			keys, err := v.fetch(ctx)
			switch {
			case err == nil:
				v.keys, v.fetched = keys, now
				v.generation++
				v.cache.clear(v.generation) // tokens verified with the old keys are checked again
			case v.keys == nil:
				return nil, err
			}
			// On a failed refresh the keys known are kept.
		}
		if v.keys == nil {
			return nil, fmt.Errorf("no keys from JWKS %q yet; the next try is within %v", v.config.jwksURL, minRefetch)
		}
	}
	if key, ok := v.keys[kid]; ok {
		return key, nil
	}
	if kid == "" && len(v.keys) == 1 {
		for _, key := range v.keys {
			return key, nil
		}
	}
	return nil, fmt.Errorf("no key of ID %q", kid)
}

func (v *Verifier) fetch(ctx context.Context) (keySet, error) {
	ctx = context.WithoutCancel(ctx) // a caller's deadline must not spoil the cache for the others
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.config.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %q: %w", v.config.jwksURL, err)
	}
	res, err := v.config.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %q: %s", v.config.jwksURL, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %q: %w", v.config.jwksURL, err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("JWKS %q: %w", v.config.jwksURL, err)
	}
	return keys, nil
}
