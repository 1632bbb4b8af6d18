package jwt

import (
	"container/list"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/auth"
)

const (
	// DefaultCacheSize is how many verified tokens a verifier remembers
	// unless [WithCache] says otherwise.
	DefaultCacheSize = 1024
	// DefaultCacheTTL is how long a verified token is remembered at most
	// unless [WithCache] says otherwise; never past its expiry.
	DefaultCacheTTL = time.Minute
)

// tokenCache remembers the claims of tokens that verified, least recently
// used out first, so that a caller presenting the same token on every call
// (a service's token source, a browser's session) pays for the signature
// once and not per call. It is keyed by the whole token, signature
// included, so only the exact string that verified hits. An entry is
// dropped at its deadline: the token's expiry plus the leeway, as the
// parser allows, ttl after it was verified, or when the keys from a JWKS
// URL are due to be fetched again, whichever is first; and all are dropped
// when those keys change, so that a key withdrawn from the set stops
// admitting tokens no later than without the cache. It is safe for concurrent use.
type tokenCache struct {
	size int
	ttl  time.Duration

	mu         sync.Mutex
	order      *list.List // of *cached, most recently used first
	entries    map[string]*list.Element
	generation uint64 // of the keys the entries verified with
}

type cached struct {
	token    string
	claims   *auth.Claims
	deadline time.Time
}

func newTokenCache(size int, ttl time.Duration) *tokenCache {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	return &tokenCache{size: size, ttl: ttl, order: list.New(), entries: make(map[string]*list.Element, size)}
}

// get returns the claims token verified to, if it is remembered and its
// deadline has not passed at now.
func (c *tokenCache) get(token string, now time.Time) (*auth.Claims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok {
		return nil, false
	}
	entry := e.Value.(*cached)
	if !now.Before(entry.deadline) {
		c.order.Remove(e)
		delete(c.entries, token)
		return nil, false
	}
	c.order.MoveToFront(e)
	return entry.claims, true
}

// put remembers that token, verified at now, has claims; leeway is the
// clock skew allowed past its expiry, notAfter, unless zero, when the keys
// it verified with are due to be fetched again, and generation which fetch
// of them that was: a token verified with keys since replaced is not kept.
func (c *tokenCache) put(token string, claims *auth.Claims, now time.Time, leeway time.Duration, notAfter time.Time, generation uint64) {
	if c == nil {
		return
	}
	deadline := now.Add(c.ttl)
	if !claims.ExpiresAt.IsZero() {
		if exp := claims.ExpiresAt.Add(leeway); exp.Before(deadline) {
			deadline = exp
		}
	}
	if !notAfter.IsZero() && notAfter.Before(deadline) {
		deadline = notAfter
	}
	if !now.Before(deadline) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if e, ok := c.entries[token]; ok {
		e.Value = &cached{token: token, claims: claims, deadline: deadline}
		c.order.MoveToFront(e)
		return
	}
	for c.order.Len() >= c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cached).token)
	}
	c.entries[token] = c.order.PushFront(&cached{token: token, claims: claims, deadline: deadline})
}

// clear forgets every token, when the keys they verified with change to
// those of generation.
func (c *tokenCache) clear(generation uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation = generation
	c.order.Init()
	clear(c.entries)
}
