package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Token is what [Sign] puts in a token.
type Token struct {
	Subject  string
	Issuer   string   // omitted when empty
	Audience []string // omitted when empty
	Scopes   []string // the "scope" claim, space-separated
	// TTL is how long the token is valid from IssuedAt; it must be positive.
	TTL time.Duration
	// IssuedAt is when the token is issued; zero means now.
	IssuedAt time.Time
	// KeyID is the "kid" header, naming the key in a JWK Set; omitted when
	// empty.
	KeyID string
}

// Sign returns t as a JWT signed with key (Ed25519, ECDSA or RSA), for
// development and tests: production tokens come from an identity provider.
func Sign(key crypto.Signer, t Token) (string, error) {
	if t.TTL <= 0 {
		return "", fmt.Errorf("sign token for %q: the TTL is %v, want more than 0", t.Subject, t.TTL)
	}
	var method gojwt.SigningMethod
	switch k := key.(type) {
	case ed25519.PrivateKey:
		method = gojwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().BitSize {
		case 256:
			method = gojwt.SigningMethodES256
		case 384:
			method = gojwt.SigningMethodES384
		default:
			method = gojwt.SigningMethodES512
		}
	case *rsa.PrivateKey:
		method = gojwt.SigningMethodRS256
	default:
		return "", fmt.Errorf("sign token for %q: a key of type %T cannot sign JWTs", t.Subject, key)
	}
	issued := t.IssuedAt
	if issued.IsZero() {
		issued = time.Now()
	}
	claims := gojwt.MapClaims{
		"sub": t.Subject,
		"iat": issued.Unix(),
		"exp": issued.Add(t.TTL).Unix(),
	}
	if t.Issuer != "" {
		claims["iss"] = t.Issuer
	}
	if len(t.Audience) > 0 {
		claims["aud"] = t.Audience
	}
	if len(t.Scopes) > 0 {
		claims["scope"] = strings.Join(t.Scopes, " ")
	}
	token := gojwt.NewWithClaims(method, claims)
	if t.KeyID != "" {
		token.Header["kid"] = t.KeyID
	}
	s, err := token.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token for %q: %w", t.Subject, err)
	}
	return s, nil
}

// GenerateKey returns a new Ed25519 signing key, as PKCS #8 PEM ("PRIVATE
// KEY"), which [WithKeyFile] verifies with and [ParsePrivateKey] signs with.
func GenerateKey() ([]byte, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads the first private key in PEM data (PKCS #8, PKCS #1
// RSA or SEC 1 EC).
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key in it")
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return parsePrivateKey(block)
		}
	}
}

// MarshalJWKS returns the public halves of keys as a JWK Set, each named by
// its key ID, for serving at a JWKS URL.
func MarshalJWKS(keys map[string]crypto.PublicKey) ([]byte, error) {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for kid, key := range keys {
		k, err := publicJWK(key, kid)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, k)
	}
	return json.Marshal(set)
}
