package jwt

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/protomicro/micro/runtime/auth"
)

// clock is a settable clock for withClock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := new(clock)
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func mustVerify(t *testing.T, v *Verifier, token string) *auth.Claims {
	t.Helper()
	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	return claims
}

// TestCache checks that a token presented again is answered from the cache
// (the same claims, no signature check) and that the cache never admits
// what the verifier without it would refuse: an expired token, or one past
// the cache's TTL, is checked again.
func TestCache(t *testing.T) {
	t.Parallel()
	key, path := newKeyFile(t)
	start := time.Now()
	clk := newClock(start)
	v, err := New(WithKeyFile(path), WithLeeway(time.Second), WithCache(2, time.Minute), withClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	token := func(subject string, ttl time.Duration) string {
		return sign(t, key, Token{Subject: subject, TTL: ttl, IssuedAt: start})
	}
	ada := token("ada", time.Hour)
	first := mustVerify(t, v, ada)
	if again := mustVerify(t, v, ada); again != first {
		t.Error("Verify(the same token again) verified it again, want the remembered claims")
	}
	// The cache is keyed by the whole token: another signature misses it.
	forged := ada[:strings.LastIndexByte(ada, '.')+1] + "AAAA"
	if _, err := v.Verify(context.Background(), forged); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("Verify(ada's claims, bad signature) = %v, want a bad signature", err)
	}

	// Least recently used out: ada was used after bob, so carol evicts bob.
	bob := token("bob", time.Hour)
	bobClaims := mustVerify(t, v, bob)
	mustVerify(t, v, ada)
	mustVerify(t, v, token("carol", time.Hour))
	if mustVerify(t, v, ada) != first {
		t.Error("ada was evicted, want bob (the least recently used)")
	}
	if mustVerify(t, v, bob) == bobClaims {
		t.Error("bob was still remembered in a cache of 2 after ada and carol")
	}

	// Past the TTL a token is verified again.
	clk.advance(time.Minute)
	if mustVerify(t, v, ada) == first {
		t.Error("Verify after the cache's TTL answered from the cache")
	}

	// A remembered token expires on time: exp plus the leeway.
	short := token("dan", 2*time.Minute)
	mustVerify(t, v, short)
	mustVerify(t, v, short)
	clk.advance(time.Minute + time.Second) // 2m1s after issue: past exp and the leeway
	if _, err := v.Verify(context.Background(), short); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Verify(a remembered token, expired) = %v, want expired", err)
	}

	off, err := New(WithKeyFile(path), WithCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	once := mustVerify(t, off, ada)
	if twice := mustVerify(t, off, ada); once == twice {
		t.Error("WithCache(0, 0): the same claims twice, want every token verified")
	}
}

// TestCacheJWKSRotation checks that a key withdrawn from the JWK Set stops
// admitting the tokens it signed at the next refresh, remembered or not.
func TestCacheJWKSRotation(t *testing.T) {
	t.Parallel()
	oldPublic, oldKey, _ := ed25519.GenerateKey(rand.Reader)
	newPublic, _, _ := ed25519.GenerateKey(rand.Reader)
	var jwks atomic.Value
	publish := func(keys map[string]crypto.PublicKey) {
		set, err := MarshalJWKS(keys)
		if err != nil {
			t.Fatal(err)
		}
		jwks.Store(set)
	}
	publish(map[string]crypto.PublicKey{"old": oldPublic})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(jwks.Load().([]byte))
	}))
	defer srv.Close()
	start := time.Now()
	clk := newClock(start)
	v, err := New(WithJWKSURL(srv.URL), WithRefresh(30*time.Second), WithCache(16, time.Hour), withClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	token := sign(t, oldKey, Token{Subject: "ada", TTL: time.Hour, IssuedAt: start, KeyID: "old"})
	first := mustVerify(t, v, token)
	if mustVerify(t, v, token) != first {
		t.Error("Verify(the same token again) verified it again, want the remembered claims")
	}
	publish(map[string]crypto.PublicKey{"new": newPublic})
	clk.advance(30 * time.Second)
	if _, err := v.Verify(context.Background(), token); err == nil {
		t.Error("Verify(a remembered token whose key left the set, after the refresh) = nil, want an error")
	}
}

// BenchmarkVerify times verifying a token presented on every call, with the
// cache of verified tokens and without.
//
//	go test -run '^$' -bench Verify -benchmem ./runtime/auth/jwt
func BenchmarkVerify(b *testing.B) {
	key, path := newKeyFile(b)
	token, err := Sign(key, Token{Subject: "ada", Scopes: []string{"orders:read"}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts []Option
	}{{"cached", nil}, {"uncached", []Option{WithCache(0, 0)}}} {
		b.Run(tt.name, func(b *testing.B) {
			v, err := New(append([]Option{WithKeyFile(path)}, tt.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCacheSharedScopes checks that a call appending to the scopes of
// remembered claims, which the calls presenting the same token share, does
// not grant the scope it appended to the others.
func TestCacheSharedScopes(t *testing.T) {
	t.Parallel()
	key, path := newKeyFile(t)
	v, err := New(WithKeyFile(path), WithCache(2, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// An array of scopes with a member that is not one leaves room in the
	// list made of it.
	claims := gojwt.MapClaims{"sub": "ada", "exp": time.Now().Add(time.Hour).Unix(), "scp": []any{"read", 7, "list"}}
	token, err := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	first := mustVerify(t, v, token)
	_ = append(first.Scopes, "admin") // a handler's own list, it thinks
	again := mustVerify(t, v, token)
	if shared := again.Scopes[:cap(again.Scopes)]; slices.Contains(shared, "admin") || len(again.Scopes) != 2 {
		t.Errorf("scopes after a caller appended to its own = %v (up to capacity %v), want read and list only", again.Scopes, shared)
	}
}
