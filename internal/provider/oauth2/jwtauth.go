package oauth2

// Client authentication with a JWT (RFC 7523 §2.2, RFC 7521 §4.2, OIDC
// Core §9): client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
// and client_assertion, a JWT the client signs
//
//   - client_secret_jwt: with HS256/384/512 keyed by its client secret
//     (which must be at least as long as the hash: 32 bytes for HS256);
//   - private_key_jwt: with a private key whose public half is registered
//     in the base provider's settings as "client_jwks", a JWKS object
//     ({"keys": [...]}); a stop-gap until the provider has jwks / jwks_uri
//     fields.
//
// Claims (RFC 7523 §3): iss = sub = client_id, aud names the token
// endpoint or the issuer, exp in the future and at most
// maxAssertionLifetime ahead, nbf and iat not in the future, and a jti
// used once (replayCache).

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// clientAssertionType is RFC 7523 §2.2's client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	// maxAssertionBytes bounds a client assertion.
	maxAssertionBytes = 16 << 10
	// maxAssertionLifetime is how far ahead exp may be (RFC 7523 §3 item 4
	// lets the server limit it): the jti is remembered that long.
	maxAssertionLifetime = 10 * time.Minute
	// assertionSkew is the clock skew allowed on exp, nbf and iat.
	assertionSkew = 60 * time.Second
	// clientJWKSSetting is the base provider setting holding the client's
	// public keys for private_key_jwt.
	clientJWKSSetting = "client_jwks"
	// maxClientKeys bounds the keys tried for one assertion.
	maxClientKeys = 16
)

var (
	// secretJWTAlgs sign client_secret_jwt assertions.
	secretJWTAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	// privateKeyJWTAlgs sign private_key_jwt assertions. Never "none".
	privateKeyJWTAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	assertionAlgs = slices.Concat(secretJWTAlgs, privateKeyJWTAlgs)
)

func algNames(algs []jose.SignatureAlgorithm) []string {
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = string(a)
	}
	return out
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Iat *float64        `json:"iat"`
	JTI string          `json:"jti"`
}

// audiences reads aud: a string or an array of strings.
func (c *assertionClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil {
		return many
	}
	return nil
}

func (c *assertionClaims) expiry() time.Time { return unixTime(*c.Exp) }

func unixTime(v float64) time.Time {
	sec, frac := math.Modf(math.Max(math.Min(v, 1<<40), -(1 << 40)))
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func assertionFailed(format string, args ...any) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", format, args...)
}

// assertionSubject reads the client_id a client assertion is for (its
// sub), before its signature can be checked with that client's key.
func assertionSubject(raw string) (string, error) {
	if raw == "" || len(raw) > maxAssertionBytes {
		return "", assertionFailed("The client assertion is empty or too long.")
	}
	obj, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil || len(obj.Signatures) != 1 {
		return "", assertionFailed("The client assertion is not a JWT signed with one of %s.", strings.Join(algNames(assertionAlgs), ", "))
	}
	var c assertionClaims
	if err := json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &c); err != nil || c.Sub == "" {
		return "", assertionFailed("The client assertion has no sub.")
	}
	return c.Sub, nil
}

// verifyAssertion checks a client assertion of provider p (RFC 7523 §3),
// signed with the client secret or a key of client_jwks, for one of
// audiences, at now. The jti is left to the caller's replay check.
func verifyAssertion(raw string, p *store.OAuth2Provider, audiences []string, now time.Time) (*assertionClaims, error) {
	if raw == "" || len(raw) > maxAssertionBytes {
		return nil, assertionFailed("The client assertion is empty or too long.")
	}
	obj, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil || len(obj.Signatures) != 1 {
		return nil, assertionFailed("The client assertion is not a JWT signed with one of %s.", strings.Join(algNames(assertionAlgs), ", "))
	}
	h := obj.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "dpop+jwt") {
		// RFC 9068 §4, RFC 9449 §4.2: another kind of JWT.
		return nil, assertionFailed("The client assertion is an access token or a DPoP proof.")
	}
	if h.JSONWebKey != nil {
		// The key comes from registration, never from the assertion.
		return nil, assertionFailed("The client assertion must not carry its own jwk.")
	}
	// client_secret_jwt or private_key_jwt (OIDC Core §9).
	payload, err := verifyClientSigned(obj, p, 1, assertionFailed, "client assertion")
	if err != nil {
		return nil, err
	}
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, assertionFailed("The client assertion claims are not a JSON object.")
	}
	if err := checkAssertionClaims(&c, p.ClientID, audiences, now); err != nil {
		return nil, err
	}
	return &c, nil
}

// verifyClientSigned verifies a JWS the client signed: HS256/384/512 with
// its client secret (at least minSecret bytes), or another algorithm with
// one of its registered keys (client_jwks). Failures are fail's errors,
// naming what.
func verifyClientSigned(obj *jose.JSONWebSignature, p *store.OAuth2Provider, minSecret int,
	fail func(string, ...any) *Error, what string) ([]byte, error) {
	h := obj.Signatures[0].Protected
	if alg := jose.SignatureAlgorithm(h.Algorithm); slices.Contains(secretJWTAlgs, alg) {
		if p.ClientType != "confidential" || p.ClientSecret == "" || len(p.ClientSecret) < minSecret {
			return nil, fail("The client has no usable secret to verify the %s with.", what)
		}
		payload, err := obj.Verify([]byte(p.ClientSecret))
		if err != nil {
			return nil, fail("The %s signature does not verify with the client secret.", what)
		}
		return payload, nil
	}
	keys, err := clientKeys(p)
	if err != nil {
		return nil, fail("The client has no registered keys to verify the %s with.", what)
	}
	payload, err := verifyWithKeys(obj, h, keys)
	if err != nil {
		return nil, fail("The %s signature does not verify with a registered key.", what)
	}
	return payload, nil
}

// checkAssertionClaims is RFC 7523 §3 items 1-7 (and OIDC Core §9: jti).
func checkAssertionClaims(c *assertionClaims, clientID string, audiences []string, now time.Time) error {
	switch {
	case c.Iss != clientID || c.Sub != clientID:
		return assertionFailed("The client assertion's iss and sub must both be the client_id.")
	case !slices.ContainsFunc(c.audiences(), func(a string) bool { return a != "" && slices.Contains(audiences, a) }):
		return assertionFailed("The client assertion's aud must name the token endpoint or the issuer.")
	case c.Exp == nil || !now.Add(-assertionSkew).Before(c.expiry()):
		return assertionFailed("The client assertion has expired.")
	case c.expiry().After(now.Add(maxAssertionLifetime + assertionSkew)):
		return assertionFailed("The client assertion's exp is more than %d minutes ahead.", int(maxAssertionLifetime.Minutes()))
	case c.Nbf != nil && unixTime(*c.Nbf).After(now.Add(assertionSkew)):
		return assertionFailed("The client assertion is not valid yet (nbf).")
	case c.Iat != nil && unixTime(*c.Iat).After(now.Add(assertionSkew)):
		return assertionFailed("The client assertion was issued in the future (iat).")
	case c.JTI == "" || len(c.JTI) > maxJTIBytes:
		return assertionFailed("The client assertion has no usable jti.")
	}
	return nil
}

// clientKeys reads the client's public keys from the base provider's
// "client_jwks" setting (a JWKS object, or its JSON text).
func clientKeys(p *store.OAuth2Provider) ([]jose.JSONWebKey, error) {
	var v any
	if p.Provider != nil {
		v = p.Provider.Settings[clientJWKSSetting]
	}
	var raw []byte
	switch v := v.(type) {
	case nil:
		return nil, assertionFailed("The client has no registered keys for private_key_jwt.")
	case string:
		raw = []byte(v)
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, assertionFailed("The client's registered keys cannot be read.")
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, assertionFailed("The client's registered keys cannot be read.")
	}
	return set.Keys, nil
}

// verifyWithKeys verifies obj with the first fitting public key: its kid
// when the header names one, use "sig" or unset, alg unset or the
// header's.
func verifyWithKeys(obj *jose.JSONWebSignature, h jose.Header, keys []jose.JSONWebKey) ([]byte, error) {
	tried := 0
	for _, k := range keys {
		if !k.IsPublic() || (h.KeyID != "" && k.KeyID != h.KeyID) || (k.Use != "" && k.Use != "sig") ||
			(k.Algorithm != "" && k.Algorithm != h.Algorithm) || checkKeyStrength(k.Key) != nil {
			continue
		}
		if tried++; tried > maxClientKeys {
			break
		}
		if payload, err := obj.Verify(k.Key); err == nil {
			return payload, nil
		}
	}
	return nil, assertionFailed("The client assertion signature does not verify with a registered key.")
}

// assertionClient authenticates the client of a request by its
// client_assertion (RFC 7521 §4.2): the only credential of the request.
func (s *Server) assertionClient(ctx context.Context, r *http.Request, form url.Values) (*client, error) {
	if form.Get("client_assertion_type") != clientAssertionType {
		return nil, invalidRequest("client_assertion_type must be %s.", clientAssertionType)
	}
	if _, _, basic := r.BasicAuth(); basic || form.Get("client_secret") != "" {
		// RFC 6749 §2.3: one authentication method per request.
		return nil, invalidRequest("Send the client assertion as the only client credential.")
	}
	raw := form.Get("client_assertion")
	id, err := assertionSubject(raw)
	if err != nil {
		return nil, err
	}
	if cid := form.Get("client_id"); cid != "" && cid != id {
		return nil, assertionFailed("client_id differs from the client assertion's sub.")
	}
	cfg, err := s.byClientID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidClient("Unknown client.")
	} else if err != nil {
		return nil, err
	}
	if cfg.p.ClientType != "confidential" {
		return nil, assertionFailed("A public client does not authenticate.")
	}
	now := s.now()
	auds := []string{baseURL(r) + Prefix + "/token/", issuer(r, cfg.p, cfg.app)}
	c, err := verifyAssertion(raw, cfg.p, auds, now)
	if err != nil {
		return nil, err
	}
	// RFC 7523 §3 item 7: the jti is single use while the assertion lives.
	switch err := s.useOnce(r, "assertion\x00"+cfg.p.ClientID+"\x00"+c.JTI, now, c.expiry().Add(assertionSkew)); {
	case errors.Is(err, errReplayed):
		return nil, assertionFailed("The client assertion was already used (jti).")
	case err != nil:
		return nil, err
	}
	return &client{p: cfg.p, app: cfg.app, cfg: cfg, secretUsed: true}, nil
}
