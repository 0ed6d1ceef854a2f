package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one token key: a private key that signs (the gateway's current
// key) or only a public key that verifies (a key being rotated in or out).
type Key struct {
	// ID is the key's "kid": a hash of its public key, so every replica given
	// the same key file names it the same way.
	ID     string
	Method jwt.SigningMethod
	Public crypto.PublicKey
	// Private is nil for a verification-only key.
	Private crypto.Signer
}

// KeyID is the kid of a public key: the first 16 base64url characters of
// the sha256 of its PKIX form.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:12]), nil
}

// LoadKeys reads every key in a PEM file: Ed25519 (EdDSA) or ECDSA P-256
// (ES256) private keys ("PRIVATE KEY", "EC PRIVATE KEY") or public keys
// ("PUBLIC KEY"). Other key types are refused: the token's alg follows from
// the key, and only these two are accepted.
func LoadKeys(path string) ([]Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the key file %s: %w", path, unwrapPath(err))
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return keys, nil
}

// ParseKeys parses the PEM blocks of data; see LoadKeys.
func ParseKeys(data []byte) ([]Key, error) {
	var keys []Key
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		k, err := parseBlock(b)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, b.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM key in it")
	}
	return keys, nil
}

func parseBlock(b *pem.Block) (Key, error) {
	var raw any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		raw, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		raw, err = x509.ParseECPrivateKey(b.Bytes)
	case "PUBLIC KEY":
		raw, err = x509.ParsePKIXPublicKey(b.Bytes)
	default:
		return Key{}, errors.New("not a key; want PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY")
	}
	if err != nil {
		return Key{}, err
	}
	return newKey(raw)
}

func newKey(raw any) (Key, error) {
	var k Key
	switch v := raw.(type) {
	case ed25519.PrivateKey:
		k = Key{Method: jwt.SigningMethodEdDSA, Public: v.Public(), Private: v}
	case ed25519.PublicKey:
		k = Key{Method: jwt.SigningMethodEdDSA, Public: v}
	case *ecdsa.PrivateKey:
		if v.Curve != elliptic.P256() {
			return Key{}, fmt.Errorf("ECDSA curve %s; only P-256 (ES256) is accepted", v.Curve.Params().Name)
		}
		k = Key{Method: jwt.SigningMethodES256, Public: &v.PublicKey, Private: v}
	case *ecdsa.PublicKey:
		if v.Curve != elliptic.P256() {
			return Key{}, fmt.Errorf("ECDSA curve %s; only P-256 (ES256) is accepted", v.Curve.Params().Name)
		}
		k = Key{Method: jwt.SigningMethodES256, Public: v}
	default:
		return Key{}, fmt.Errorf("key type %T; only Ed25519 and ECDSA P-256 are accepted", raw)
	}
	id, err := KeyID(k.Public)
	if err != nil {
		return Key{}, err
	}
	k.ID = id
	return k, nil
}

// NewKey wraps a private key (ed25519.PrivateKey or a P-256 *ecdsa.PrivateKey).
func NewKey(priv crypto.Signer) (Key, error) { return newKey(priv) }
