package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// keySet is the verification keys by key ID; the key of ID "" is used for
// tokens that name none.
type keySet map[string]crypto.PublicKey

// parseKeys reads keys from data: PEM blocks (public keys, certificates,
// private keys, whose public halves are taken) or JSON (one JWK, or a JWK
// Set).
func parseKeys(data []byte) (keySet, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		return parseJWKS([]byte(trimmed))
	}
	keys := make(keySet)
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		key, err := parsePEMBlock(block)
		if err != nil {
			return nil, err
		}
		if key == nil {
			continue
		}
		if _, ok := keys[""]; !ok {
			keys[""] = key
		}
		keys[fmt.Sprintf("#%d", len(keys))] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in it: want PEM (PUBLIC KEY, CERTIFICATE or PRIVATE KEY) or a JWK Set")
	}
	return keys, nil
}

func parsePEMBlock(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		key, err := parsePrivateKey(block)
		if err != nil {
			return nil, err
		}
		return key.Public(), nil
	}
	return nil, nil // another kind of block: not a key
}

func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a private key of type %T cannot sign", key)
	}
	return signer, nil
}

// jwk is the JSON Web Key fields of the key types micro verifies with.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func parseJWKS(data []byte) (keySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWK Set: %w", err)
	}
	if set.Keys == nil { // a single JWK
		set.Keys = []json.RawMessage{data}
	}
	keys := make(keySet)
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("parse JWK %d: %w", i, err)
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("JWK %d (kid %q): %w", i, k.Kid, err)
		}
		if key == nil {
			continue // a key type micro does not verify with
		}
		keys[k.Kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWK Set has no signing key of type RSA, EC or OKP")
	}
	return keys, nil
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := decodeInt(k.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := decodeInt(k.E)
		if err != nil {
			return nil, fmt.Errorf("e: %w", err)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errors.New("e is out of range")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unknown curve %q", k.Crv)
		}
		x, err := decodeInt(k.X)
		if err != nil {
			return nil, fmt.Errorf("x: %w", err)
		}
		y, err := decodeInt(k.Y)
		if err != nil {
			return nil, fmt.Errorf("y: %w", err)
		}
		size := (curve.Params().BitSize + 7) / 8
		point := make([]byte, 1+2*size)
		point[0] = 4 // uncompressed
		x.FillBytes(point[1 : 1+size])
		y.FillBytes(point[1+size:])
		key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, err
		}
		return key, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unknown curve %q", k.Crv)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("x is not a base64url Ed25519 public key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, nil
}

func decodeInt(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, errors.New("not a base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// publicJWK returns key as a JWK with kid, for a JWK Set (tests and micro
// auth keygen publish keys with it).
func publicJWK(key crypto.PublicKey, kid string) (map[string]string, error) {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := key.(type) {
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": enc(k), "kid": kid, "use": "sig", "alg": "EdDSA"}, nil
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		size := (len(point) - 1) / 2
		return map[string]string{"kty": "EC", "crv": k.Curve.Params().Name, "x": enc(point[1 : 1+size]), "y": enc(point[1+size:]), "kid": kid, "use": "sig"}, nil
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes()), "kid": kid, "use": "sig"}, nil
	}
	return nil, fmt.Errorf("a public key of type %T has no JWK form here", key)
}
