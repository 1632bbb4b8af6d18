package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func newKeyFile(t testing.TB) (crypto.Signer, string) {
	t.Helper()
	pemKey, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

func sign(t *testing.T, key crypto.Signer, tok Token) string {
	t.Helper()
	s, err := Sign(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	t.Parallel()
	key, path := newKeyFile(t)
	other, _ := newKeyFile(t)
	v, err := New(WithKeyFile(path), WithIssuer("https://issuer.test"), WithAudience("orders"), WithLeeway(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	good := Token{Subject: "ada", Issuer: "https://issuer.test", Audience: []string{"orders"}, Scopes: []string{"orders:read", "orders:write"}, TTL: time.Hour}
	withIssuer, withAudience, expired, skewed := good, good, good, good
	withIssuer.Issuer = "https://evil.test"
	withAudience.Audience = []string{"payments"}
	expired.IssuedAt = time.Now().Add(-2 * time.Hour)
	skewed.IssuedAt = time.Now().Add(-time.Hour - 30*time.Second) // expired 30s ago, within the leeway
	valid := sign(t, key, good)
	for _, tt := range []struct {
		name, token, want string // want is part of the error, "" for success
	}{
		{"valid", valid, ""},
		{"within leeway", sign(t, key, skewed), ""},
		{"malformed", "not-a-jwt", "malformed"},
		{"bad signature", sign(t, other, good), "bad signature"},
		{"tampered", valid[:strings.LastIndex(valid, ".")] + ".AAAA", "bad signature"},
		{"expired", sign(t, key, expired), "expired"},
		{"wrong issuer", sign(t, key, withIssuer), "issuer"},
		{"wrong audience", sign(t, key, withAudience), "audience"},
	} {
		claims, err := v.Verify(t.Context(), tt.token)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Verify = %v, want nil", tt.name, err)
				continue
			}
			if claims.Subject != "ada" || !claims.HasScope("orders:write") {
				t.Errorf("%s: claims = %+v, want subject ada with orders:write", tt.name, claims)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Verify = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// TestAlgorithmConfusion checks that a token whose algorithm does not fit
// the key is refused, whatever it is signed with: HS256 keyed with the
// public key's bytes, or none.
func TestAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	key, path := newKeyFile(t)
	v, err := New(WithKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	claims := gojwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}
	hs, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	none, err := gojwt.NewWithClaims(gojwt.SigningMethodNone, claims).SignedString(gojwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"HS256": hs, "none": none} {
		if _, err := v.Verify(t.Context(), token); err == nil {
			t.Errorf("Verify(%s token) = nil, want an error", name)
		}
	}
}

func TestScopeClaims(t *testing.T) {
	t.Parallel()
	key, path := newKeyFile(t)
	exp := time.Now().Add(time.Hour).Unix()
	for _, tt := range []struct {
		name   string
		claim  string // WithScopeClaim, "" for the default
		claims gojwt.MapClaims
		want   []string
	}{
		{"scope string", "", gojwt.MapClaims{"scope": "a b  c"}, []string{"a", "b", "c"}},
		{"scp array", "", gojwt.MapClaims{"scp": []string{"a", "b"}}, []string{"a", "b"}},
		{"named claim", "permissions", gojwt.MapClaims{"permissions": []string{"x"}, "scope": "ignored"}, []string{"x"}},
	} {
		var opts []Option
		if tt.claim != "" {
			opts = append(opts, WithScopeClaim(tt.claim))
		}
		v, err := New(append(opts, WithKeyFile(path))...)
		if err != nil {
			t.Fatal(err)
		}
		tt.claims["exp"] = exp
		token, err := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, tt.claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(t.Context(), token)
		if err != nil {
			t.Fatalf("%s: Verify = %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, claims.Scopes); diff != "" {
			t.Errorf("%s: scopes (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestJWKSURL checks keys of every kind from a JWKS URL, and that a key
// added there (a rotation) is fetched when a token first names it.
func TestJWKSURL(t *testing.T) {
	t.Parallel()
	edPublic, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	published := map[string]crypto.PublicKey{"ed": edPublic, "ec": ecKey.Public()}
	var jwks atomic.Value
	set, err := MarshalJWKS(published)
	if err != nil {
		t.Fatal(err)
	}
	jwks.Store(set)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(jwks.Load().([]byte))
	}))
	defer srv.Close()
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	v, err := New(WithJWKSURL(srv.URL), withClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	if err != nil {
		t.Fatal(err)
	}
	verify := func(key crypto.Signer, kid string) error {
		_, err := v.Verify(context.Background(), sign(t, key, Token{Subject: kid, TTL: time.Hour, IssuedAt: now, KeyID: kid}))
		return err
	}
	for kid, key := range map[string]crypto.Signer{"ed": edKey, "ec": ecKey} {
		if err := verify(key, kid); err != nil {
			t.Errorf("Verify(%s) = %v", kid, err)
		}
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("fetched the JWKS %d times, want once: the keys are cached", got)
	}
	published["rsa"] = rsaKey.Public()
	set, err = MarshalJWKS(published)
	if err != nil {
		t.Fatal(err)
	}
	jwks.Store(set)
	clock.Add(int64(minRefetch))
	if err := verify(rsaKey, "rsa"); err != nil {
		t.Errorf("Verify(rsa, a key added to the set) = %v", err)
	}
	if err := verify(rsaKey, "unknown"); err == nil {
		t.Error("Verify(unknown kid) = nil, want an error")
	}
	if got := fetches.Load(); got != 2 {
		t.Errorf("fetched the JWKS %d times, want 2: an unknown key ID refetches at most every %v", got, minRefetch)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]Option{
		"no keys":      nil,
		"both":         {WithKeyFile(bad), WithJWKSURL("http://127.0.0.1:1")},
		"missing file": {WithKeyFile(filepath.Join(t.TempDir(), "none"))},
		"not a key":    {WithKeyFile(bad)},
	} {
		if _, err := New(opts...); err == nil {
			t.Errorf("New(%s) = nil error, want one", name)
		}
	}
}
