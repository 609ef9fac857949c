package oauth2

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	hTokenEndpoint = "http://example.com/application/o/token/"
	hIssuer        = "http://example.com/application/o/app/"
)

// assertionClaimsNow are valid claims of a harness client assertion.
func assertionClaimsNow(now time.Time) map[string]any {
	return map[string]any{"iss": hClientID, "sub": hClientID, "aud": hTokenEndpoint, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// secretJWT signs claims as a client_secret_jwt with secret.
func secretJWT(header, claims map[string]any, secret string) string {
	if header == nil {
		header = map[string]any{"alg": "HS256", "typ": "JWT"}
	}
	return compactJWS(header, claims, func(in []byte) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(in)
		return m.Sum(nil)
	})
}

// keyJWT signs claims as a private_key_jwt with k (kid in the header when
// set).
func keyJWT(t testing.TB, k *dpopKey, kid string, claims map[string]any) string {
	h := map[string]any{"alg": string(k.alg)}
	if kid != "" {
		h["kid"] = kid
	}
	return compactJWS(h, claims, func(in []byte) []byte { return k.sign(t, in) })
}

// assertionToken runs client_credentials authenticated by assertion, with
// extra form values.
func (h *harness) jwtAuthToken(assertion string, extra url.Values, hdr ...string) (int, map[string]any) {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {clientAssertionType},
		"client_assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	w := h.do(http.MethodPost, "/application/o/token/", form, hdr...)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// client_secret_jwt (RFC 7523 §2.2, OIDC Core §9): the checks of RFC 7523
// §3 each refuse with invalid_client.
func TestClientSecretJWT(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	with := func(k string, v any) map[string]any {
		c := assertionClaimsNow(now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	ok := func(c map[string]any) string { return secretJWT(nil, c, hSecret) }
	for _, tc := range []struct {
		name      string
		assertion string
		extra     url.Values
		hdr       []string
		code      int
		err       string
	}{
		{"valid", ok(assertionClaimsNow(now)), nil, nil, 200, ""},
		{"valid with client_id", ok(assertionClaimsNow(now)), url.Values{"client_id": {hClientID}}, nil, 200, ""},
		{"aud the issuer", ok(with("aud", hIssuer)), nil, nil, 200, ""},
		{"aud a list", ok(with("aud", []string{"https://other.example/", hTokenEndpoint})), nil, nil, 200, ""},
		{"HS512", secretJWT(map[string]any{"alg": "HS512"}, assertionClaimsNow(now), hSecret), nil, nil, 401, "invalid_client"}, // 51-byte secret < 64
		{"expired", ok(with("exp", now.Add(-2*time.Minute).Unix())), nil, nil, 401, "invalid_client"},
		{"no exp", ok(with("exp", nil)), nil, nil, 401, "invalid_client"},
		{"exp too far", ok(with("exp", now.Add(time.Hour).Unix())), nil, nil, 401, "invalid_client"},
		{"nbf ahead", ok(with("nbf", now.Add(5*time.Minute).Unix())), nil, nil, 401, "invalid_client"},
		{"iat ahead", ok(with("iat", now.Add(5*time.Minute).Unix())), nil, nil, 401, "invalid_client"},
		{"wrong aud", ok(with("aud", "https://other.example/token")), nil, nil, 401, "invalid_client"},
		{"no aud", ok(with("aud", nil)), nil, nil, 401, "invalid_client"},
		{"aud of another issuer", ok(with("aud", "http://example.com/application/o/other/")), nil, nil, 401, "invalid_client"},
		{"iss not the client", ok(with("iss", "someone")), nil, nil, 401, "invalid_client"},
		{"sub not the client", ok(with("sub", "other-client")), nil, nil, 401, "invalid_client"},
		{"no jti", ok(with("jti", nil)), nil, nil, 401, "invalid_client"},
		{"wrong secret", secretJWT(nil, assertionClaimsNow(now), strings.Repeat("x", 40)), nil, nil, 401, "invalid_client"},
		{"alg none", compactJWS(map[string]any{"alg": "none"}, assertionClaimsNow(now), nil), nil, nil, 401, "invalid_client"},
		{"typ at+jwt", secretJWT(map[string]any{"alg": "HS256", "typ": "at+jwt"}, assertionClaimsNow(now), hSecret), nil, nil, 401, "invalid_client"},
		{"embedded jwk", secretJWT(map[string]any{"alg": "HS256", "jwk": newDPoPKey(t, jose.ES256).jwk(t)}, assertionClaimsNow(now), hSecret),
			nil, nil, 401, "invalid_client"},
		{"not a JWT", "garbage", nil, nil, 401, "invalid_client"},
		{"client_id differs", ok(assertionClaimsNow(now)), url.Values{"client_id": {"other"}}, nil, 401, "invalid_client"},
		{"unknown client", ok(map[string]any{"iss": "nobody", "sub": "nobody", "aud": hTokenEndpoint, "jti": "j",
			"exp": now.Add(time.Minute).Unix()}), nil, nil, 401, "invalid_client"},
		{"with client_secret too", ok(assertionClaimsNow(now)), url.Values{"client_secret": {hSecret}}, nil, 400, "invalid_request"},
		{"with Basic too", ok(assertionClaimsNow(now)), nil, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(hClientID+":"+hSecret))}, 400, "invalid_request"},
		{"wrong assertion type", ok(assertionClaimsNow(now)), url.Values{"client_assertion_type": {"urn:example:saml"}}, nil, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.jwtAuthToken(tc.assertion, tc.extra, tc.hdr...)
			if code != tc.code || (tc.err != "" && out["error"] != tc.err) {
				t.Errorf("token = %d %v, want %d %s", code, out, tc.code, tc.err)
			}
			if d, _ := out["error_description"].(string); code != 200 && d == "" {
				t.Errorf("no error_description: %v", out)
			}
		})
	}
}

// An assertion is single use (RFC 7523 §3 item 7): the same jti is refused
// while the assertion lives.
func TestClientSecretJWTReplay(t *testing.T) {
	h := newHarness(t)
	a := secretJWT(nil, assertionClaimsNow(time.Now()), hSecret)
	if code, out := h.jwtAuthToken(a, nil); code != 200 {
		t.Fatalf("first use = %d %v", code, out)
	}
	code, out := h.jwtAuthToken(a, nil)
	if code != 401 || out["error"] != "invalid_client" || !strings.Contains(out["error_description"].(string), "already used") {
		t.Errorf("replay = %d %v", code, out)
	}
	// Introspection takes the same authentication, and the same single use.
	b := secretJWT(nil, assertionClaimsNow(time.Now()), hSecret)
	_, tok, _ := h.dpopCC("openid")
	for i, want := range []int{200, 401} {
		w := h.do(http.MethodPost, "/application/o/introspect/", url.Values{"token": {tok["access_token"].(string)},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {b}})
		if w.Code != want {
			t.Errorf("introspect #%d = %d %s", i, w.Code, w.Body)
		}
	}
}

// setClientJWKS registers keys as the harness client's client_jwks.
func (h *harness) jwtAuthSetJWKS(v any) {
	h.t.Helper()
	h.p.Provider.Settings = store.Attributes{clientJWKSSetting: v}
	if err := h.st.UpdateOAuth2Provider(context.Background(), h.p); err != nil {
		h.t.Fatal(err)
	}
}

func jwksOf(t testing.TB, keys ...jose.JSONWebKey) map[string]any {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// private_key_jwt with the client's keys from the provider's client_jwks
// setting.
func TestPrivateKeyJWT(t *testing.T) {
	es := newDPoPKey(t, jose.ES256)
	rs := newDPoPKey(t, jose.RS256)
	ed := newDPoPKey(t, jose.EdDSA)
	stranger := newDPoPKey(t, jose.ES256)
	now := time.Now()

	h := newHarness(t)
	h.jwtAuthSetJWKS(jwksOf(t, jose.JSONWebKey{Key: es.priv.Public(), KeyID: "es", Use: "sig"},
		jose.JSONWebKey{Key: rs.priv.Public(), KeyID: "rs", Algorithm: "RS256"},
		jose.JSONWebKey{Key: ed.priv.Public(), KeyID: "ed-enc", Use: "enc"},
		jose.JSONWebKey{Key: []byte(strings.Repeat("s", 32)), KeyID: "oct"}))
	for _, tc := range []struct {
		name      string
		assertion string
		code      int
	}{
		{"ES256 with kid", keyJWT(t, es, "es", assertionClaimsNow(now)), 200},
		{"ES256 without kid", keyJWT(t, es, "", assertionClaimsNow(now)), 200},
		{"RS256", keyJWT(t, rs, "rs", assertionClaimsNow(now)), 200},
		{"PS256 with an RS256-only key", keyJWT(t, &dpopKey{alg: jose.PS256, priv: rs.priv}, "rs", assertionClaimsNow(now)), 401},
		{"kid of another key", keyJWT(t, es, "rs", assertionClaimsNow(now)), 401},
		{"an encryption key", keyJWT(t, ed, "ed-enc", assertionClaimsNow(now)), 401},
		{"an unregistered key", keyJWT(t, stranger, "", assertionClaimsNow(now)), 401},
		{"HS256 with the oct key of the JWKS", secretJWT(map[string]any{"alg": "HS256", "kid": "oct"}, assertionClaimsNow(now),
			strings.Repeat("s", 32)), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := h.jwtAuthToken(tc.assertion, nil); code != tc.code {
				t.Errorf("token = %d %v, want %d", code, out, tc.code)
			}
		})
	}

	// No client_jwks, or an unreadable one: private_key_jwt fails.
	for name, v := range map[string]any{"none": nil, "not a JWKS": "{", "a bad key": map[string]any{"keys": []any{map[string]any{"kty": "XX"}}}} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if v != nil {
				h.jwtAuthSetJWKS(v)
			}
			if code, out := h.jwtAuthToken(keyJWT(t, es, "es", assertionClaimsNow(now)), nil); code != 401 {
				t.Errorf("token = %d %v", code, out)
			}
		})
	}
	// A JWKS given as JSON text works too.
	h = newHarness(t)
	b, _ := json.Marshal(jwksOf(t, jose.JSONWebKey{Key: es.priv.Public()}))
	h.jwtAuthSetJWKS(string(b))
	if code, out := h.jwtAuthToken(keyJWT(t, es, "", assertionClaimsNow(now)), nil); code != 200 {
		t.Errorf("JWKS as text = %d %v", code, out)
	}
}

// A public client cannot authenticate with an assertion.
func TestClientAssertionPublicClient(t *testing.T) {
	h := newHarness(t)
	h.dpopPublicClient("rt", "")
	k := newDPoPKey(t, jose.ES256)
	c := assertionClaimsNow(time.Now())
	c["iss"], c["sub"] = "dpop-public", "dpop-public"
	if code, out := h.jwtAuthToken(keyJWT(t, k, "", c), nil); code != 401 || out["error"] != "invalid_client" {
		t.Errorf("token = %d %v", code, out)
	}
}

const (
	fuzzClientID = "fuzz-client"
	fuzzSecret   = "fuzz-client-secret-0123456789abcdefghijklmnop"
)

var fuzzAudiences = []string{"http://gatehouse.example/application/o/token/", "http://gatehouse.example/application/o/fuzz/"}

// fuzzAssertionProvider is a confidential client with a secret and, in
// client_jwks, the fixed keys "es" (ES256) and "ed" (EdDSA).
func fuzzAssertionProvider(t testing.TB) *store.OAuth2Provider {
	es, ed := fixedKey(t, jose.ES256, "assertion-es"), fixedKey(t, jose.EdDSA, "assertion-ed")
	return &store.OAuth2Provider{Provider: &store.Provider{Settings: store.Attributes{clientJWKSSetting: jwksOf(t,
		jose.JSONWebKey{Key: es.priv.Public(), KeyID: "es"}, jose.JSONWebKey{Key: ed.priv.Public(), KeyID: "ed"})}},
		ClientType: "confidential", ClientID: fuzzClientID, ClientSecret: fuzzSecret}
}

// assertionSeeds are the seed assertions of FuzzClientAssertion.
func assertionSeeds(t testing.TB) map[string]string {
	es, ed := fixedKey(t, jose.ES256, "assertion-es"), fixedKey(t, jose.EdDSA, "assertion-ed")
	claims := func(jti string, kv ...any) map[string]any {
		c := map[string]any{"iss": fuzzClientID, "sub": fuzzClientID, "aud": fuzzAudiences[0], "jti": jti,
			"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Minute).Unix()}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	return map[string]string{
		"valid-hs256":      secretJWT(nil, claims("a1"), fuzzSecret),
		"valid-es256":      keyJWT(t, es, "es", claims("a2")),
		"valid-eddsa":      keyJWT(t, ed, "", claims("a3", "aud", []string{"x", fuzzAudiences[1]})),
		"expired":          secretJWT(nil, claims("a4", "exp", fuzzNow.Add(-time.Hour).Unix()), fuzzSecret),
		"far-exp":          secretJWT(nil, claims("a5", "exp", fuzzNow.Add(time.Hour).Unix()), fuzzSecret),
		"wrong-aud":        keyJWT(t, es, "es", claims("a6", "aud", "http://evil.example/token")),
		"iss-not-sub":      secretJWT(nil, claims("a7", "iss", "other"), fuzzSecret),
		"alg-none":         compactJWS(map[string]any{"alg": "none"}, claims("a8"), nil),
		"wrong-kid":        keyJWT(t, es, "ed", claims("a9")),
		"hs256-public-key": secretJWT(map[string]any{"alg": "HS256", "kid": "es"}, claims("a10"), "not-the-secret-0123456789abcdefgh"),
		"garbage":          "a.b.c",
	}
}

// FuzzClientAssertion feeds a client assertion to its verification (RFC
// 7523 §3). Invariants: a refusal is invalid_client (401); an accepted
// assertion names the client as iss and sub, one of the audiences, an exp
// in the window and a jti, and its signature verifies with the client
// secret (HS*) or a registered key — never alg none.
func FuzzClientAssertion(f *testing.F) {
	for _, raw := range assertionSeeds(f) {
		f.Add(raw)
	}
	p := fuzzAssertionProvider(f)
	keys, err := clientKeys(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := verifyAssertion(raw, p, fuzzAudiences, fuzzNow)
		if err != nil {
			var oe *Error
			if c != nil || !errors.As(err, &oe) || oe.status != http.StatusUnauthorized || oe.Code != "invalid_client" {
				t.Fatalf("refusal %v (%T)", err, err)
			}
			return
		}
		if sub, err := assertionSubject(raw); err != nil || sub != fuzzClientID {
			t.Fatalf("assertionSubject = %q, %v for an accepted assertion", sub, err)
		}
		if c.Iss != fuzzClientID || c.Sub != fuzzClientID || c.JTI == "" || c.Exp == nil ||
			!slices.ContainsFunc(c.audiences(), func(a string) bool { return slices.Contains(fuzzAudiences, a) }) ||
			!c.expiry().After(fuzzNow.Add(-assertionSkew)) || c.expiry().After(fuzzNow.Add(maxAssertionLifetime+assertionSkew)) {
			t.Fatalf("accepted claims %+v", c)
		}
		obj, err := jose.ParseSignedCompact(raw, assertionAlgs)
		if err != nil {
			t.Fatalf("accepted an assertion go-jose does not parse: %v", err)
		}
		if _, err := obj.Verify([]byte(fuzzSecret)); err == nil {
			return
		}
		for _, k := range keys {
			if _, err := obj.Verify(k.Key); err == nil {
				return
			}
		}
		t.Fatalf("accepted an assertion no client key verifies (alg %s)", obj.Signatures[0].Protected.Algorithm)
	})
}

// With SharedReplay a client assertion used on one replica is refused on
// another (whose memory has not seen it): the store holds the jti. Without
// it, a replica that has not seen the jti accepts it.
func TestSharedReplay(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	replica := func() { h.s.replay = replayCache{} } // another process's memory
	first := secretJWT(nil, assertionClaimsNow(now), hSecret)
	if code, out := h.jwtAuthToken(first, nil); code != 200 {
		t.Fatalf("memory only: %d %v", code, out)
	}
	replica()
	if code, _ := h.jwtAuthToken(first, nil); code != 200 {
		t.Errorf("memory only, another replica: %d, want 200 (the per-process limit)", code)
	}

	h.s.SharedReplay = true
	shared := secretJWT(nil, assertionClaimsNow(now), hSecret)
	if code, out := h.jwtAuthToken(shared, nil); code != 200 {
		t.Fatalf("shared: %d %v", code, out)
	}
	replica()
	if code, out := h.jwtAuthToken(shared, nil); code != 401 || out["error"] != "invalid_client" {
		t.Errorf("shared, replayed on another replica: %d %v", code, out)
	}
	if code, _ := h.jwtAuthToken(shared, nil); code != 401 {
		t.Errorf("shared, replayed on the same replica: %d", code)
	}
}
