package gateway

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func edKey(t testing.TB) Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTokens(t testing.TB, signer *Key, verify ...Key) (*Tokens, *time.Time) {
	t.Helper()
	tk, err := NewTokens("https://gw.test", "", time.Hour, signer, verify)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	tk.Now = func() time.Time { return now }
	return tk, &now
}

func TestIssueAndVerify(t *testing.T) {
	k := edKey(t)
	tk, now := newTokens(t, &k)
	tok, exp, err := tk.Issue("alice", "uid=alice", []string{"payments-leads"})
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(time.Hour)) {
		t.Errorf("expiry %v", exp)
	}
	hdr := decodeSegment(t, tok, 0)
	if hdr["alg"] != "EdDSA" || hdr["kid"] != k.ID {
		t.Errorf("header %v", hdr)
	}
	c, err := tk.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.DN != "uid=alice" || len(c.Groups) != 1 || c.Groups[0] != "payments-leads" || c.Issuer != "https://gw.test" {
		t.Errorf("claims %+v", c)
	}
	// Cached, and still checked for expiry.
	*now = t0.Add(time.Hour + time.Minute)
	if _, err := tk.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired cached token: %v", err)
	}
	// A fresh verifier (another replica) says the same.
	tk2, now2 := newTokens(t, &k)
	*now2 = t0.Add(time.Hour + time.Minute)
	if _, err := tk2.Verify(tok); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
}

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encodeSegment(m map[string]any) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRefuses(t *testing.T) {
	k := edKey(t)
	tk, _ := newTokens(t, &k)
	good, _, err := tk.Issue("bob", "", []string{"team-payments"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	claims := decodeSegment(t, good, 1)

	// Another key that claims the same kid.
	other := edKey(t)
	other.ID = k.ID
	forger, _ := newTokens(t, &other)
	wrongKey, _, _ := forger.Issue("bob", "", []string{"ops"})

	// An unknown kid.
	stranger := edKey(t)
	strangerTokens, _ := newTokens(t, &stranger)
	unknownKid, _, _ := strangerTokens.Issue("bob", "", nil)

	// More groups, same signature.
	forged := decodeSegment(t, good, 1)
	forged["groups"] = []string{"ops"}
	tampered := parts[0] + "." + encodeSegment(forged) + "." + parts[2]

	// alg none, with and without a signature.
	none := encodeSegment(map[string]any{"alg": "none", "typ": "JWT", "kid": k.ID}) + "." + parts[1] + "."
	noneSig := encodeSegment(map[string]any{"alg": "none", "typ": "JWT", "kid": k.ID}) + "." + parts[1] + "." + parts[2]

	// HS256 with the public key as the secret (the classic confusion).
	pub := k.Public.(ed25519.PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims))
	hs.Header["kid"] = k.ID
	hsTok, err := hs.SignedString([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}

	// Right key, wrong issuer / audience.
	otherIss, _ := NewTokens("https://evil.test", "", time.Hour, &k, nil)
	otherIss.Now = func() time.Time { return t0 }
	wrongIss, _, _ := otherIss.Issue("bob", "", nil)
	otherAud, _ := NewTokens("https://gw.test", "kubernetes", time.Hour, &k, nil)
	otherAud.Now = func() time.Time { return t0 }
	wrongAud, _, _ := otherAud.Issue("bob", "", nil)

	// Right key, no expiry.
	noExp := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": "https://gw.test", "aud": "kgate", "sub": "bob", "iat": t0.Unix()})
	noExp.Header["kid"] = k.ID
	noExpTok, _ := noExp.SignedString(k.Private)

	// Issued in the future (a replica whose clock is far ahead).
	future, _ := NewTokens("https://gw.test", "", time.Hour, &k, nil)
	future.Now = func() time.Time { return t0.Add(time.Hour) }
	futureTok, _, _ := future.Issue("bob", "", nil)

	for name, tc := range map[string]struct{ tok, want string }{
		"wrong key":   {wrongKey, "signature is invalid"},
		"unknown kid": {unknownKid, "unknown key id"},
		"tampered":    {tampered, "signature is invalid"},
		"alg none":    {none, "signature is invalid"},
		"alg none+":   {noneSig, "signature is invalid"},
		"HS256":       {hsTok, "signature is invalid"},
		"issuer":      {wrongIss, "another issuer"},
		"audience":    {wrongAud, "another audience"},
		"no exp":      {noExpTok, "exp claim is required"},
		"future":      {futureTok, "not valid yet"},
		"garbage":     {"not.a.token", "malformed"},
		"empty":       {"", "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := tk.Verify(tc.tok)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old, cur := edKey(t), edKey(t)
	oldTokens, _ := newTokens(t, &old)
	oldTok, _, _ := oldTokens.Issue("carol", "", nil)

	// The new replica signs with cur and still accepts old (public key only).
	pubOnly := Key{ID: old.ID, Method: old.Method, Public: old.Public}
	tk, _ := newTokens(t, &cur, pubOnly)
	if _, err := tk.Verify(oldTok); err != nil {
		t.Errorf("old token during rotation: %v", err)
	}
	newTok, _, _ := tk.Issue("carol", "", nil)
	if hdr := decodeSegment(t, newTok, 0); hdr["kid"] != cur.ID {
		t.Errorf("new token signed with %v", hdr["kid"])
	}
	// Once old is dropped, its tokens are refused.
	tk2, _ := newTokens(t, &cur)
	if _, err := tk2.Verify(oldTok); err == nil {
		t.Error("token of a retired key accepted")
	}
}

func TestParseKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	keys, err := ParseKeys(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil || len(keys) != 1 || keys[0].Method.Alg() != "ES256" || keys[0].Private == nil {
		t.Fatalf("ES256 key: %v %+v", err, keys)
	}
	tk, _ := newTokens(t, &keys[0])
	tok, _, _ := tk.Issue("dave", "", nil)
	if _, err := tk.Verify(tok); err != nil {
		t.Errorf("ES256 round trip: %v", err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	pk, err := ParseKeys(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	if err != nil || pk[0].ID != keys[0].ID || pk[0].Private != nil {
		t.Errorf("public key: %v %+v", err, pk)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ = x509.MarshalPKCS8PrivateKey(p384)
	if _, err := ParseKeys(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Errorf("P-384: %v", err)
	}
	if _, err := ParseKeys([]byte("nothing")); err == nil {
		t.Error("no PEM accepted")
	}
	if _, err := NewTokens("https://gw.test", "", 0, &Key{ID: "x", Method: jwt.SigningMethodEdDSA, Public: pk[0].Public}, nil); err == nil {
		t.Error("a public key accepted as the signing key")
	}
}
