package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAudience is the "aud" of kgate tokens unless configured otherwise.
const DefaultAudience = "kgate"

// DefaultTokenLifetime is how long an access token lasts unless configured
// otherwise: short, since a token, once issued, is not asked about again;
// the CLI refreshes it with the session's refresh credential.
const DefaultTokenLifetime = 10 * time.Minute

// DefaultRefreshLifetime is how long a session (its refresh credential)
// lasts unless configured otherwise: a working day, the same as a
// direct-mode session.
const DefaultRefreshLifetime = 8 * time.Hour

// clockSkew is the leeway given to exp, nbf and iat between replicas.
const clockSkew = 30 * time.Second

// Claims are what a kgate token says about its holder.
type Claims struct {
	jwt.RegisteredClaims
	// Groups are the LDAP groups at login time.
	Groups []string `json:"groups"`
	DN     string   `json:"dn,omitempty"`
	// SessionID ties access tokens to the refresh credential they were
	// issued under; logging out revokes the session, and with it both.
	SessionID string `json:"sid,omitempty"`
}

// Tokens issues and verifies the gateway's tokens: JWTs signed with EdDSA
// or ES256, "kid" in the header, several keys accepted for verification so
// that keys can be rotated without logging everyone out.
type Tokens struct {
	Issuer   string
	Audience string
	Lifetime time.Duration
	// RefreshLifetime is how long a refresh credential (the session) lasts;
	// zero means DefaultRefreshLifetime.
	RefreshLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	signer *Key
	keys   map[string]Key
	parser *jwt.Parser
	// refreshParser accepts only refresh credentials: their audience is
	// Audience + RefreshAudienceSuffix, which parser refuses, so neither
	// kind of token passes for the other.
	refreshParser *jwt.Parser

	// cache holds recently verified tokens, so that a client's every request
	// does not pay for a signature check.
	mu    sync.Mutex
	cache map[string]cachedClaims
}

type cachedClaims struct {
	c   *Claims
	exp time.Time
}

// maxCached bounds the verified-token cache; past it, the cache is emptied.
const maxCached = 10000

// NewTokens returns a Tokens that signs with signer (nil: verify only) and
// accepts tokens signed by signer or any of verify.
func NewTokens(issuer, audience string, lifetime time.Duration, signer *Key, verify []Key) (*Tokens, error) {
	if issuer == "" {
		return nil, errors.New("no token issuer is configured")
	}
	if audience == "" {
		audience = DefaultAudience
	}
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	t := &Tokens{Issuer: issuer, Audience: audience, Lifetime: lifetime, keys: map[string]Key{}, cache: map[string]cachedClaims{}}
	all := verify
	if signer != nil {
		if signer.Private == nil {
			return nil, errors.New("the signing key file holds only a public key")
		}
		t.signer = signer
		all = append([]Key{*signer}, verify...)
	}
	for _, k := range all {
		t.keys[k.ID] = Key{ID: k.ID, Method: k.Method, Public: k.Public}
	}
	if len(t.keys) == 0 {
		return nil, errors.New("no token key is configured")
	}
	t.parser = t.newParser(audience)
	t.refreshParser = t.newParser(audience + RefreshAudienceSuffix)
	return t, nil
}

func (t *Tokens) newParser(audience string) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(t.Issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(t.now),
	)
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue returns a signed access token for user and its expiry, tied to no
// session.
func (t *Tokens) Issue(user, dn string, groups []string) (string, time.Time, error) {
	return t.IssueAccess(user, dn, groups, "", time.Time{})
}

// IssueAccess returns a signed access token for user in the session sid,
// valid for Lifetime but never past notAfter (the session's end; zero: no
// bound).
func (t *Tokens) IssueAccess(user, dn string, groups []string, sid string, notAfter time.Time) (string, time.Time, error) {
	now := t.now().Truncate(time.Second)
	exp := now.Add(t.Lifetime)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	if groups == nil {
		groups = []string{}
	}
	return t.sign(t.Audience, user, dn, groups, sid, now, exp)
}

// Session is what a login issues: an access token and a refresh credential
// bound to a new session id.
type Session struct {
	ID             string
	Access         string
	AccessExpires  time.Time
	Refresh        string
	SessionExpires time.Time
}

// IssueSession starts a session for user: a refresh credential valid for
// RefreshLifetime and a first access token.
func (t *Tokens) IssueSession(user, dn string, groups []string) (*Session, error) {
	sid, err := randomID()
	if err != nil {
		return nil, err
	}
	now := t.now().Truncate(time.Second)
	life := t.RefreshLifetime
	if life <= 0 {
		life = DefaultRefreshLifetime
	}
	s := &Session{ID: sid, SessionExpires: now.Add(life)}
	// The refresh credential names the user, not the groups: they are read
	// again from the directory at every refresh.
	if s.Refresh, _, err = t.sign(t.Audience+RefreshAudienceSuffix, user, dn, nil, sid, now, s.SessionExpires); err != nil {
		return nil, err
	}
	if s.Access, s.AccessExpires, err = t.IssueAccess(user, dn, groups, sid, s.SessionExpires); err != nil {
		return nil, err
	}
	return s, nil
}

// RefreshAudienceSuffix makes a refresh credential's audience differ from an
// access token's.
const RefreshAudienceSuffix = "/refresh"

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func (t *Tokens) sign(aud, user, dn string, groups []string, sid string, now, exp time.Time) (string, time.Time, error) {
	if t.signer == nil {
		return "", time.Time{}, errors.New("no signing key is configured")
	}
	jti, err := randomID()
	if err != nil {
		return "", time.Time{}, err
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.Issuer, Subject: user, Audience: jwt.ClaimStrings{aud},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
			ID: jti,
		},
		Groups: groups, DN: dn, SessionID: sid,
	}
	tok := jwt.NewWithClaims(t.signer.Method, c)
	tok.Header["kid"] = t.signer.ID
	s, err := tok.SignedString(t.signer.Private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the token: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token's signature (with the key its kid names, and only
// with that key's own algorithm: no "none", no HMAC), issuer, audience,
// expiry and not-before, and returns its claims.
func (t *Tokens) Verify(token string) (*Claims, error) {
	now := t.now()
	t.mu.Lock()
	if e, ok := t.cache[token]; ok {
		t.mu.Unlock()
		if now.Before(e.exp.Add(clockSkew)) {
			return e.c, nil
		}
		return nil, errors.New("token has expired")
	} else {
		t.mu.Unlock()
	}
	c, err := t.parse(t.parser, token)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if len(t.cache) >= maxCached {
		clear(t.cache)
	}
	t.cache[token] = cachedClaims{c: c, exp: c.ExpiresAt.Time}
	t.mu.Unlock()
	return c, nil
}

// VerifyRefresh checks a refresh credential as Verify checks an access
// token; an access token is refused. It caches nothing: a refresh is rare.
func (t *Tokens) VerifyRefresh(token string) (*Claims, error) {
	c, err := t.parse(t.refreshParser, token)
	if err != nil {
		return nil, err
	}
	if c.SessionID == "" {
		return nil, errors.New("refresh credential has no session id")
	}
	return c, nil
}

func (t *Tokens) parse(p *jwt.Parser, token string) (*Claims, error) {
	c := &Claims{}
	_, err := p.ParseWithClaims(token, c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		k, ok := t.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		if tok.Method.Alg() != k.Method.Alg() {
			return nil, fmt.Errorf("key %q is for %s, not %s", kid, k.Method.Alg(), tok.Method.Alg())
		}
		return k.Public, nil
	})
	if err != nil {
		return nil, tokenError(err)
	}
	if c.Subject == "" {
		return nil, errors.New("token has no subject")
	}
	return c, nil
}

// tokenError shortens jwt's messages ("token has invalid claims: token is
// expired") to the part that says what is wrong.
func tokenError(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "token has expired"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "token signature is invalid"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "token is from another issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "token is for another audience"
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "token is malformed"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "token is not valid yet"
	default:
		msg = strings.TrimPrefix(msg, "token is unverifiable: error while executing keyfunc: ")
	}
	return errors.New(msg)
}
