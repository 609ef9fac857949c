package oauth2

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The DPoP tests sign proofs by hand (not with go-jose's signer), so that
// they can also make the malformed ones a hostile client would send.

const (
	dpopTokenURL    = "http://example.com/application/o/token/"
	dpopUserinfoURL = "http://example.com/application/o/userinfo/"
)

// dpopKey is a client's proof key.
type dpopKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaKeyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return rsaKey
}

func newDPoPKey(t testing.TB, alg jose.SignatureAlgorithm) *dpopKey {
	t.Helper()
	switch alg {
	case jose.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &dpopKey{alg: alg, priv: k}
	case jose.EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &dpopKey{alg: alg, priv: k}
	case jose.RS256, jose.PS256:
		return &dpopKey{alg: alg, priv: testRSAKey(t)}
	}
	t.Fatalf("no key for %s", alg)
	return nil
}

// jwk is the public JWK of the key, as a header value.
func (k *dpopKey) jwk(t testing.TB) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: k.priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// jkt is the key's RFC 7638 thumbprint.
func (k *dpopKey) jkt(t testing.TB) string {
	t.Helper()
	sum, err := (&jose.JSONWebKey{Key: k.priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// sign signs input with the key under alg (ES256 in JOSE's r||s form).
func (k *dpopKey) sign(t testing.TB, input []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(input)
	var sig []byte
	var err error
	switch k.alg {
	case jose.ES256:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k.priv.(*ecdsa.PrivateKey), sum[:]); err == nil {
			sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		}
	case jose.EdDSA:
		sig = ed25519.Sign(k.priv.(ed25519.PrivateKey), input)
	case jose.RS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case jose.PS256:
		sig, err = rsa.SignPSS(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum[:], nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func b64JSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// compactJWS assembles header.payload.signature, signing with sign (nil:
// an empty signature).
func compactJWS(header, claims map[string]any, sign func([]byte) []byte) string {
	input := b64JSON(header) + "." + b64JSON(claims)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// proofOpt changes a proof's header or claims before it is signed.
type proofOpt func(h, c map[string]any)

func withClaim(k string, v any) proofOpt {
	return func(_, c map[string]any) {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}

func withHeader(k string, v any) proofOpt {
	return func(h, _ map[string]any) {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
}

// ath is the ath claim of an access token.
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proof makes a DPoP proof for htm and htu at now.
func (k *dpopKey) proof(t testing.TB, htm, htu string, now time.Time, opts ...proofOpt) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "alg": string(k.alg), "jwk": k.jwk(t)}
	c := map[string]any{"jti": uuid.NewString(), "htm": htm, "htu": htu, "iat": now.Unix()}
	for _, o := range opts {
		o(h, c)
	}
	return compactJWS(h, c, func(in []byte) []byte { return k.sign(t, in) })
}

// fixedClock makes h's server time settable.
func fixedClock(h *harness) *dpClock {
	c := &dpClock{t: time.Now().UTC()}
	h.s.Now = c.Now
	return c
}

// ccToken asks for a client_credentials token of the harness client, with
// hdr (a DPoP proof, say).
func (h *harness) dpopCC(scope string, hdr ...string) (int, map[string]any, http.Header) {
	h.t.Helper()
	w := h.do(http.MethodPost, "/application/o/token/", url.Values{"grant_type": {"client_credentials"}, "client_id": {hClientID},
		"client_secret": {hSecret}, "scope": {scope}}, hdr...)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		h.t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	return w.Code, out, w.Header()
}

// jwtClaims reads a JWT's claims without verifying it (the tests' own
// tokens).
func jwtClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// tokenRow is the stored row of a token value.
func (h *harness) dpopTokenRow(value string) *store.OAuth2Token {
	h.t.Helper()
	tok, _, err := h.st.OAuth2TokenByHash(context.Background(), hashToken(value))
	if err != nil {
		h.t.Fatalf("token row: %v", err)
	}
	return tok
}

// A valid proof binds the access token (cnf.jkt, token_type DPoP, the
// row's jkt) with each allowed algorithm; without a proof the token is a
// bearer token.
func TestDPoPTokenBinding(t *testing.T) {
	h := newHarness(t)
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			k := newDPoPKey(t, alg)
			code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, time.Now()))
			if code != http.StatusOK || out["token_type"] != "DPoP" {
				t.Fatalf("token = %d %v", code, out)
			}
			at := out["access_token"].(string)
			cnf, _ := jwtClaims(t, at)["cnf"].(map[string]any)
			if cnf["jkt"] != k.jkt(t) {
				t.Errorf("cnf = %v, want jkt %s", cnf, k.jkt(t))
			}
			if got := boundJKT(h.dpopTokenRow(at)); got != k.jkt(t) {
				t.Errorf("row jkt = %q", got)
			}
		})
	}
	code, out, _ := h.dpopCC("openid")
	if code != http.StatusOK || out["token_type"] != "Bearer" || jwtClaims(t, out["access_token"].(string))["cnf"] != nil {
		t.Errorf("without a proof = %d %v", code, out)
	}
}

// Every proof check of RFC 9449 §4.3 refuses with invalid_dpop_proof, and
// issues nothing.
func TestDPoPProofChecks(t *testing.T) {
	h := newHarness(t)
	k := newDPoPKey(t, jose.ES256)
	other := newDPoPKey(t, jose.ES256)
	now := time.Now()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := &dpopKey{alg: jose.RS256, priv: small}
	hs := func(in []byte) []byte {
		m := hmac.New(sha256.New, []byte(strings.Repeat("k", 32)))
		m.Write(in)
		return m.Sum(nil)
	}
	privJWK := func() map[string]any {
		b, _ := json.Marshal(jose.JSONWebKey{Key: k.priv})
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}()
	base := func() (map[string]any, map[string]any) {
		return map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk(t)},
			map[string]any{"jti": uuid.NewString(), "htm": "POST", "htu": dpopTokenURL, "iat": now.Unix()}
	}
	raw := func(mod func(h, c map[string]any), sign func([]byte) []byte) string {
		hd, c := base()
		mod(hd, c)
		return compactJWS(hd, c, sign)
	}
	for _, tc := range []struct {
		name  string
		proof string
	}{
		{"wrong htm", k.proof(t, http.MethodGet, dpopTokenURL, now)},
		{"wrong htu path", k.proof(t, http.MethodPost, "http://example.com/application/o/userinfo/", now)},
		{"wrong htu host", k.proof(t, http.MethodPost, "http://evil.example/application/o/token/", now)},
		{"wrong htu scheme", k.proof(t, http.MethodPost, "https://example.com/application/o/token/", now)},
		{"htu not a URL", k.proof(t, http.MethodPost, "example.com/application/o/token/", now)},
		{"stale iat", k.proof(t, http.MethodPost, dpopTokenURL, now.Add(-2*time.Minute))},
		{"future iat", k.proof(t, http.MethodPost, dpopTokenURL, now.Add(2*time.Minute))},
		{"no iat", k.proof(t, http.MethodPost, dpopTokenURL, now, withClaim("iat", nil))},
		{"iat a string", k.proof(t, http.MethodPost, dpopTokenURL, now, withClaim("iat", "now"))},
		{"no jti", k.proof(t, http.MethodPost, dpopTokenURL, now, withClaim("jti", nil))},
		{"long jti", k.proof(t, http.MethodPost, dpopTokenURL, now, withClaim("jti", strings.Repeat("j", 300)))},
		{"typ JWT", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("typ", "JWT"))},
		{"no typ", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("typ", nil))},
		{"no jwk", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("jwk", nil))},
		{"jwk of another key", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("jwk", other.jwk(t)))},
		{"private jwk", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("jwk", privJWK))},
		{"alg none", raw(func(hd, _ map[string]any) { hd["alg"] = "none" }, nil)},
		{"alg HS256", raw(func(hd, _ map[string]any) { hd["alg"] = "HS256" }, hs)},
		{"alg HS256 with an oct jwk", raw(func(hd, _ map[string]any) {
			hd["alg"] = "HS256"
			hd["jwk"] = map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))}
		}, hs)},
		{"alg ES384", k.proof(t, http.MethodPost, dpopTokenURL, now, withHeader("alg", "ES384"))},
		{"RSA 1024", weak.proof(t, http.MethodPost, dpopTokenURL, now)},
		{"not a JWT", "not-a-jwt"},
		{"claims not an object", compactJWS(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk(t)}, nil,
			func(in []byte) []byte { return k.sign(t, in) })},
		{"too long", k.proof(t, http.MethodPost, dpopTokenURL, now, withClaim("pad", strings.Repeat("x", maxProofBytes)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := h.dpopCC("openid", "DPoP", tc.proof)
			if code != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
				t.Errorf("token = %d %v", code, out)
			}
		})
	}

	t.Run("two DPoP headers", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {hClientID}, "client_secret": {hSecret}}
		req := httptest.NewRequest(http.MethodPost, "/application/o/token/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Add("DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now))
		req.Header.Add("DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now))
		w := httptest.NewRecorder()
		h.router.ServeHTTP(w, req)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_dpop_proof") {
			t.Errorf("token = %d %s", w.Code, w.Body)
		}
	})

	// htu ignores query and fragment and compares after normalization.
	for _, htu := range []string{dpopTokenURL + "?x=1#f", "HTTP://EXAMPLE.COM:80/application/o/token/"} {
		if code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, htu, now)); code != http.StatusOK {
			t.Errorf("htu %q: %d %v", htu, code, out)
		}
	}
	// iat within the window either way.
	for _, d := range []time.Duration{-50 * time.Second, 50 * time.Second} {
		if code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now.Add(d))); code != http.StatusOK {
			t.Errorf("iat %v: %d %v", d, code, out)
		}
	}
}

// A proof is single use (§11.1): its jti is refused the second time, and
// forgotten once its iat is out of the window.
func TestDPoPReplay(t *testing.T) {
	h := newHarness(t)
	clock := fixedClock(h)
	k := newDPoPKey(t, jose.ES256)
	p := k.proof(t, http.MethodPost, dpopTokenURL, clock.Now())
	if code, out, _ := h.dpopCC("openid", "DPoP", p); code != http.StatusOK {
		t.Fatalf("first use = %d %v", code, out)
	}
	code, out, _ := h.dpopCC("openid", "DPoP", p)
	if code != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" || !strings.Contains(out["error_description"].(string), "jti") {
		t.Errorf("replay = %d %v", code, out)
	}
	// The same jti with another key is another proof.
	jti := jwtClaims(t, p)["jti"]
	if code, out, _ := h.dpopCC("openid", "DPoP", newDPoPKey(t, jose.ES256).proof(t, http.MethodPost, dpopTokenURL, clock.Now(),
		withClaim("jti", jti))); code != http.StatusOK {
		t.Errorf("same jti, other key = %d %v", code, out)
	}
	clock.Advance(dpopWindow + time.Second)
	if code, out, _ := h.dpopCC("openid", "DPoP", p); code != http.StatusBadRequest || !strings.Contains(out["error_description"].(string), "iat") {
		t.Errorf("after the window = %d %v", code, out)
	}
}

func TestReplayCache(t *testing.T) {
	var c replayCache
	now := time.Now()
	if err := c.use("a", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.use("a", now.Add(59*time.Second), now.Add(2*time.Minute)); !errors.Is(err, errReplayed) {
		t.Errorf("second use = %v", err)
	}
	if err := c.use("a", now.Add(time.Minute), now.Add(10*time.Minute)); err != nil {
		t.Errorf("after expiry = %v", err)
	}
	// Full of live entries: refused, never evicted.
	for i := range maxReplayEntries {
		c.seen[[32]byte{byte(i), byte(i >> 8), byte(i >> 16), 1}] = now.Add(time.Hour)
	}
	if err := c.use("b", now.Add(2*time.Minute), now.Add(3*time.Minute)); !errors.Is(err, errReplayFull) {
		t.Errorf("full = %v", err)
	}
	if err := c.use("a", now.Add(90*time.Second), now.Add(3*time.Minute)); !errors.Is(err, errReplayed) {
		t.Errorf("live entry while full = %v", err)
	}
	// Once they expire, a sweep frees the room.
	if err := c.use("b", now.Add(2*time.Hour), now.Add(3*time.Hour)); err != nil || len(c.seen) != 1 {
		t.Errorf("after the sweep = %v, %d entries", err, len(c.seen))
	}
}

// RequireDPoPNonce (§8): a proof without a fresh server nonce is answered
// use_dpop_nonce with one; the retry with it works; nonces expire after 5
// minutes and cannot be forged.
func TestDPoPNonce(t *testing.T) {
	h := newHarness(t)
	clock := fixedClock(h)
	h.s.RequireDPoPNonce = true
	k := newDPoPKey(t, jose.ES256)

	code, out, hdr := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now()))
	nonce := hdr.Get("DPoP-Nonce")
	if code != http.StatusBadRequest || out["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("without a nonce = %d %v nonce %q", code, out, nonce)
	}
	code, out, hdr = h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now(), withClaim("nonce", nonce)))
	if code != http.StatusOK || out["token_type"] != "DPoP" || hdr.Get("DPoP-Nonce") == "" {
		t.Fatalf("with the nonce = %d %v", code, out)
	}
	clock.Advance(4 * time.Minute)
	if code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now(), withClaim("nonce", nonce))); code != http.StatusOK {
		t.Errorf("a 4-minute-old nonce = %d %v", code, out)
	}
	clock.Advance(2 * time.Minute)
	if code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now(), withClaim("nonce", nonce))); code != http.StatusBadRequest || out["error"] != "use_dpop_nonce" {
		t.Errorf("a 6-minute-old nonce = %d %v", code, out)
	}
	forged := (&Server{SecretKey: "another-secret-key"}).dpopNonce(clock.Now())
	if code, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now(), withClaim("nonce", forged))); code != http.StatusBadRequest || out["error"] != "use_dpop_nonce" {
		t.Errorf("a nonce of another key = %d %v", code, out)
	}
	// At userinfo the challenge is a 401 (§9).
	nonce = h.s.dpopNonce(clock.Now())
	_, out, _ = h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, clock.Now(), withClaim("nonce", nonce)))
	at := out["access_token"].(string)
	w := h.do(http.MethodGet, "/application/o/userinfo/", nil, "Authorization", "DPoP "+at,
		"DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, clock.Now(), withClaim("ath", ath(at))))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) ||
		w.Header().Get("DPoP-Nonce") == "" {
		t.Errorf("userinfo without a nonce = %d %v", w.Code, w.Header())
	}
	w = h.do(http.MethodGet, "/application/o/userinfo/", nil, "Authorization", "DPoP "+at,
		"DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, clock.Now(), withClaim("ath", ath(at)), withClaim("nonce", w.Header().Get("DPoP-Nonce"))))
	if w.Code != http.StatusOK {
		t.Errorf("userinfo with the nonce = %d %s", w.Code, w.Body)
	}
}

// At userinfo a bound token needs the DPoP scheme and a proof of its key
// over the request and the token (§7.1); anything else is a 401 DPoP
// challenge.
func TestDPoPUserinfo(t *testing.T) {
	h := newHarness(t)
	k := newDPoPKey(t, jose.ES256)
	other := newDPoPKey(t, jose.ES256)
	now := time.Now()
	_, out, _ := h.dpopCC("openid profile", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now))
	at := out["access_token"].(string)
	_, out, _ = h.dpopCC("openid profile")
	plain := out["access_token"].(string)

	type want struct {
		code   int
		scheme string // of WWW-Authenticate
		err    string
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		form url.Values
		want want
	}{
		{"DPoP with proof", []string{"Authorization", "DPoP " + at, "DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, now, withClaim("ath", ath(at)))},
			nil, want{200, "", ""}},
		{"bound token as Bearer", []string{"Authorization", "Bearer " + at}, nil, want{401, "DPoP", "invalid_token"}},
		{"bound token as Bearer with a proof", []string{"Authorization", "Bearer " + at,
			"DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, now, withClaim("ath", ath(at)))}, nil, want{401, "DPoP", "invalid_token"}},
		{"bound token in the body", nil, url.Values{"access_token": {at}}, want{401, "DPoP", "invalid_token"}},
		{"no proof", []string{"Authorization", "DPoP " + at}, nil, want{401, "DPoP", "invalid_token"}},
		{"missing ath", []string{"Authorization", "DPoP " + at, "DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, now)},
			nil, want{401, "DPoP", "invalid_token"}},
		{"ath of another token", []string{"Authorization", "DPoP " + at, "DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL, now,
			withClaim("ath", ath(plain)))}, nil, want{401, "DPoP", "invalid_token"}},
		{"wrong key", []string{"Authorization", "DPoP " + at, "DPoP", other.proof(t, http.MethodGet, dpopUserinfoURL, now,
			withClaim("ath", ath(at)))}, nil, want{401, "DPoP", "invalid_token"}},
		{"proof for the token endpoint", []string{"Authorization", "DPoP " + at, "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now,
			withClaim("ath", ath(at)))}, nil, want{401, "DPoP", "invalid_dpop_proof"}},
		{"proof for POST", []string{"Authorization", "DPoP " + at, "DPoP", k.proof(t, http.MethodPost, dpopUserinfoURL, now,
			withClaim("ath", ath(at)))}, nil, want{401, "DPoP", "invalid_dpop_proof"}},
		{"unbound token in the DPoP scheme", []string{"Authorization", "DPoP " + plain, "DPoP", k.proof(t, http.MethodGet, dpopUserinfoURL,
			now, withClaim("ath", ath(plain)))}, nil, want{401, "Bearer", "invalid_token"}},
		{"unknown token in the DPoP scheme", []string{"Authorization", "DPoP nope"}, nil, want{401, "Bearer", "invalid_token"}},
		{"unbound token as Bearer", []string{"Authorization", "Bearer " + plain}, nil, want{200, "", ""}},
		{"unknown token as Bearer", []string{"Authorization", "Bearer nope"}, nil, want{401, "Bearer", "invalid_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			if tc.form != nil {
				w = h.do(http.MethodPost, "/application/o/userinfo/", tc.form, tc.hdr...)
			} else {
				w = h.do(http.MethodGet, "/application/o/userinfo/", nil, tc.hdr...)
			}
			if w.Code != tc.want.code {
				t.Fatalf("userinfo = %d %s", w.Code, w.Body)
			}
			if tc.want.code == 200 {
				var claims map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &claims); err != nil || claims["sub"] == nil {
					t.Errorf("claims = %s", w.Body)
				}
				return
			}
			wa := w.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, tc.want.scheme+` error="`+tc.want.err+`"`) {
				t.Errorf("WWW-Authenticate = %q, want scheme %s error %s", wa, tc.want.scheme, tc.want.err)
			}
			// Every 401 offers DPoP with its algorithms (§7.1, §7.2).
			if all := strings.Join(w.Header().Values("WWW-Authenticate"), ", "); !strings.Contains(all, `algs="ES256 PS256 RS256 EdDSA"`) {
				t.Errorf("WWW-Authenticate = %q lacks the DPoP algs", all)
			}
		})
	}
}

// Introspection tells a resource server the key of a bound token (§6.2).
func TestDPoPIntrospection(t *testing.T) {
	h := newHarness(t)
	k := newDPoPKey(t, jose.EdDSA)
	introspect := func(tok string) map[string]any {
		w := h.do(http.MethodPost, "/application/o/introspect/", url.Values{"token": {tok}, "client_id": {hClientID}, "client_secret": {hSecret}})
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return out
	}
	_, out, _ := h.dpopCC("openid", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, time.Now()))
	got := introspect(out["access_token"].(string))
	cnf, _ := got["cnf"].(map[string]any)
	if got["active"] != true || got["token_type"] != "DPoP" || cnf["jkt"] != k.jkt(t) {
		t.Errorf("bound token = %v", got)
	}
	_, out, _ = h.dpopCC("openid")
	if got := introspect(out["access_token"].(string)); got["active"] != true || got["token_type"] != "Bearer" || got["cnf"] != nil {
		t.Errorf("bearer token = %v", got)
	}
}

// publicClient adds a public provider "dpop-public" (application
// "dpop-public", the harness key) to h and a grant of alice's with the
// refresh token rt, bound to jkt when it is set.
func (h *harness) dpopPublicClient(rt, jkt string) *store.OAuth2Provider {
	h.t.Helper()
	ctx := context.Background()
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "dpop-public"}, ClientType: "public", ClientID: "dpop-public",
		SigningKey: h.p.SigningKey, PropertyMappings: h.p.PropertyMappings}
	if err := h.st.CreateOAuth2Provider(ctx, p); err != nil {
		h.t.Fatal(err)
	}
	app := &store.Application{Name: "Public", Slug: "dpop-public", ProviderPK: &p.ProviderPK, PolicyEngineMode: "any"}
	if err := h.st.CreateApplication(ctx, app); err != nil {
		h.t.Fatal(err)
	}
	now := time.Now().UTC()
	g := &store.OAuth2Grant{UUID: uuid.New(), ProviderPK: p.ProviderPK, UserPK: h.user.PK, Scope: "openid offline_access",
		AuthTime: now, Created: now, AMR: []string{"pwd"}}
	if err := h.st.CreateOAuth2Grant(ctx, g, &store.OAuth2Token{Hash: hashToken(rt), Kind: store.OAuth2Refresh,
		Expires: now.Add(time.Hour), Created: now, Data: cnfData(jkt)}); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) dpopRefresh(clientID, rt string, hdr ...string) (int, map[string]any) {
	h.t.Helper()
	w := h.do(http.MethodPost, "/application/o/token/", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID},
		"refresh_token": {rt}}, hdr...)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// A public client's refresh token issued with a proof is bound to its key
// (§5): a refresh needs a proof with the same key, and the rotated token
// stays bound.
func TestDPoPBoundRefresh(t *testing.T) {
	h := newHarness(t)
	k := newDPoPKey(t, jose.ES256)
	other := newDPoPKey(t, jose.ES256)
	h.dpopPublicClient("bound-rt", k.jkt(t))
	now := time.Now()

	if code, out := h.dpopRefresh("dpop-public", "bound-rt"); code != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("without a proof = %d %v", code, out)
	}
	if code, out := h.dpopRefresh("dpop-public", "bound-rt", "DPoP", other.proof(t, http.MethodPost, dpopTokenURL, now)); code != http.StatusBadRequest ||
		out["error"] != "invalid_grant" || !strings.Contains(out["error_description"].(string), "another") {
		t.Errorf("another key = %d %v", code, out)
	}
	code, out := h.dpopRefresh("dpop-public", "bound-rt", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now))
	if code != http.StatusOK || out["token_type"] != "DPoP" {
		t.Fatalf("same key = %d %v", code, out)
	}
	next := out["refresh_token"].(string)
	if boundJKT(h.dpopTokenRow(next)) != k.jkt(t) || boundJKT(h.dpopTokenRow(out["access_token"].(string))) != k.jkt(t) {
		t.Errorf("the rotated tokens are not bound")
	}
	if code, out := h.dpopRefresh("dpop-public", next, "DPoP", other.proof(t, http.MethodPost, dpopTokenURL, now)); code != http.StatusBadRequest {
		t.Errorf("rotated token, another key = %d %v", code, out)
	}
	if code, out := h.dpopRefresh("dpop-public", next, "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, now)); code != http.StatusOK {
		t.Errorf("rotated token, same key = %d %v", code, out)
	}
}

// An unbound refresh token of a public client still works without a
// proof, and one used with a proof binds what it gives.
func TestDPoPUnboundRefresh(t *testing.T) {
	h := newHarness(t)
	h.dpopPublicClient("plain-rt", "")
	k := newDPoPKey(t, jose.ES256)
	code, out := h.dpopRefresh("dpop-public", "plain-rt", "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, time.Now()))
	if code != http.StatusOK || out["token_type"] != "DPoP" || boundJKT(h.dpopTokenRow(out["refresh_token"].(string))) != k.jkt(t) {
		t.Fatalf("refresh = %d %v", code, out)
	}
}

func TestDiscoveryDPoPAndClientAuth(t *testing.T) {
	h := newHarness(t)
	w := h.do(http.MethodGet, "/application/o/app/.well-known/openid-configuration", nil)
	var doc struct {
		DPoPAlgs    []string `json:"dpop_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		AuthAlgs    []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Join(doc.DPoPAlgs, " ") != "ES256 PS256 RS256 EdDSA" {
		t.Errorf("dpop_signing_alg_values_supported = %v", doc.DPoPAlgs)
	}
	if strings.Join(doc.AuthMethods, " ") != "client_secret_post client_secret_basic client_secret_jwt private_key_jwt" {
		t.Errorf("token_endpoint_auth_methods_supported = %v", doc.AuthMethods)
	}
	for _, a := range doc.AuthAlgs {
		if a == "none" {
			t.Errorf("token_endpoint_auth_signing_alg_values_supported has none: %v", doc.AuthAlgs)
		}
	}
	if len(doc.AuthAlgs) == 0 {
		t.Error("no token_endpoint_auth_signing_alg_values_supported")
	}
}

func TestSameHTU(t *testing.T) {
	for _, tc := range []struct {
		htu, uri string
		same     bool
	}{
		{"https://as.example/token", "https://as.example/token", true},
		{"HTTPS://AS.example:443/token?x#y", "https://as.example/token", true},
		{"http://as.example:80/token", "http://as.example/token", true},
		{"https://as.example:8443/token", "https://as.example:8443/token", true},
		{"https://as.example", "https://as.example/", true},
		{"https://as.example/Token", "https://as.example/token", false},
		{"https://as.example:8443/token", "https://as.example/token", false},
		{"http://as.example/token", "https://as.example/token", false},
		{"https://user@as.example/token", "https://as.example/token", false},
		{"ftp://as.example/token", "ftp://as.example/token", false},
		{"/token", "/token", false},
		{"https://[::1]:443/token", "https://[::1]/token", true},
	} {
		if got := sameHTU(tc.htu, tc.uri); got != tc.same {
			t.Errorf("sameHTU(%q, %q) = %v", tc.htu, tc.uri, got)
		}
	}
}

// The fuzz targets run at a fixed time, so that the seed corpus in
// testdata/fuzz (valid proofs and assertions made by fixed keys) stays
// valid; rewrite it with
//
//	go test -run TestFuzzSeeds -update-fuzz-seeds ./internal/provider/oauth2/
//
// and fuzz with
//
//	go test -run XXX -fuzz FuzzDPoPProof -fuzztime 30s ./internal/provider/oauth2/
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the DPoP proof and client assertion seed corpus")

var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const fuzzDPoPURL = "http://gatehouse.example/application/o/token/"

// fixedKey derives a deterministic key of alg from label.
func fixedKey(t testing.TB, alg jose.SignatureAlgorithm, label string) *dpopKey {
	t.Helper()
	seed := sha256.Sum256([]byte("gatehouse fuzz key " + label))
	switch alg {
	case jose.EdDSA:
		return &dpopKey{alg: alg, priv: ed25519.NewKeyFromSeed(seed[:])}
	case jose.ES256:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
		if err != nil {
			t.Fatal(err)
		}
		return &dpopKey{alg: alg, priv: k}
	}
	t.Fatalf("no fixed key for %s", alg)
	return nil
}

// dpopSeeds are the seed proofs of FuzzDPoPProof: valid ones, and one of
// each kind of defect.
func dpopSeeds(t testing.TB) map[string]string {
	es, ed := fixedKey(t, jose.ES256, "dpop-es"), fixedKey(t, jose.EdDSA, "dpop-ed")
	post := func(k *dpopKey, jti string, opts ...proofOpt) string {
		return k.proof(t, http.MethodPost, fuzzDPoPURL, fuzzNow, append([]proofOpt{withClaim("jti", jti)}, opts...)...)
	}
	return map[string]string{
		"valid-es256":    post(es, "seed-1"),
		"valid-eddsa":    post(ed, "seed-2"),
		"valid-ath":      post(es, "seed-3", withClaim("ath", ath("token")), withClaim("nonce", "n")),
		"valid-htu-case": post(es, "seed-4", withClaim("htu", "HTTP://Gatehouse.Example:80/application/o/token/?q#f")),
		"wrong-htm":      post(es, "seed-5", withClaim("htm", "GET")),
		"wrong-htu":      post(es, "seed-6", withClaim("htu", "http://gatehouse.example/application/o/userinfo/")),
		"stale-iat":      post(es, "seed-7", withClaim("iat", fuzzNow.Add(-time.Hour).Unix())),
		"typ-jwt":        post(ed, "seed-8", withHeader("typ", "JWT")),
		"no-jwk":         post(ed, "seed-9", withHeader("jwk", nil)),
		"alg-none": compactJWS(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": es.jwk(t)},
			map[string]any{"jti": "seed-10", "htm": "POST", "htu": fuzzDPoPURL, "iat": fuzzNow.Unix()}, nil),
		"alg-hs256": compactJWS(map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": es.jwk(t)},
			map[string]any{"jti": "seed-11", "htm": "POST", "htu": fuzzDPoPURL, "iat": fuzzNow.Unix()},
			func(in []byte) []byte {
				m := hmac.New(sha256.New, []byte(strings.Repeat("k", 32)))
				m.Write(in)
				return m.Sum(nil)
			}),
		"empty": "",
		"dots":  "..",
	}
}

// writeSeeds writes seeds as target's corpus in testdata/fuzz.
func writeSeeds(t *testing.T, target string, seeds map[string]string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\nstring("+strconv.Quote(v)+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readSeeds reads target's corpus (file name to input).
func readSeeds(t *testing.T, target string) map[string]string {
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("seed corpus: %v (rewrite it with -update-fuzz-seeds)", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\nstring(")
		v, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if !ok || err != nil {
			t.Fatalf("seed %s: not a string corpus entry", e.Name())
		}
		out[e.Name()] = v
	}
	return out
}

// TestFuzzSeeds writes the seed corpus with -update-fuzz-seeds; otherwise
// it checks that the corpus is there and that its valid-* seeds are still
// accepted, and the others refused, so the fuzzer starts past the checks.
func TestFuzzSeeds(t *testing.T) {
	if *updateFuzzSeeds {
		writeSeeds(t, "FuzzDPoPProof", dpopSeeds(t))
		writeSeeds(t, "FuzzClientAssertion", assertionSeeds(t))
	}
	for name, raw := range readSeeds(t, "FuzzDPoPProof") {
		_, err := fuzzProofServer().dpopProof(fuzzProofRequest(raw))
		if valid := strings.HasPrefix(name, "valid-"); valid != (err == nil) {
			t.Errorf("FuzzDPoPProof seed %s: error %v", name, err)
		}
	}
	p := fuzzAssertionProvider(t)
	for name, raw := range readSeeds(t, "FuzzClientAssertion") {
		_, err := verifyAssertion(raw, p, fuzzAudiences, fuzzNow)
		if valid := strings.HasPrefix(name, "valid-"); valid != (err == nil) {
			t.Errorf("FuzzClientAssertion seed %s: error %v", name, err)
		}
	}
}

func fuzzProofServer() *Server {
	return &Server{SecretKey: "fuzz-secret-key", Now: func() time.Time { return fuzzNow }}
}

func fuzzProofRequest(raw string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, fuzzDPoPURL, nil)
	r.Header.Set("DPoP", raw)
	return r
}

// FuzzDPoPProof feeds a DPoP header to the token endpoint's proof check
// (RFC 9449 §4.3). Invariants: a refusal is invalid_dpop_proof (a 400,
// never a 5xx); an accepted proof is a compact JWS with typ dpop+jwt, an
// allowed alg, a public jwk whose thumbprint is the jkt, a signature that
// verifies with it, htm POST, the request's htu, an iat in the window and
// a jti; and it is refused when replayed.
func FuzzDPoPProof(f *testing.F) {
	for _, raw := range dpopSeeds(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s := fuzzProofServer()
		r := fuzzProofRequest(raw)
		p, err := s.dpopProof(r)
		if err != nil {
			var oe *Error
			if p != nil || !errors.As(err, &oe) || oe.status != http.StatusBadRequest || oe.Code != "invalid_dpop_proof" {
				t.Fatalf("refusal %v (%T), proof %v", err, err, p)
			}
			return
		}
		obj, err := jose.ParseSignedCompact(raw, dpopAlgs)
		if err != nil || len(obj.Signatures) != 1 {
			t.Fatalf("accepted a proof go-jose does not parse with %v: %v", dpopAlgs, err)
		}
		h := obj.Signatures[0].Protected
		if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
			t.Fatalf("accepted typ %q", typ)
		}
		if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
			t.Fatalf("accepted a proof without a public jwk")
		}
		sum, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
		if err != nil || base64.RawURLEncoding.EncodeToString(sum) != p.jkt {
			t.Fatalf("jkt %q is not the jwk's thumbprint", p.jkt)
		}
		payload, err := obj.Verify(h.JSONWebKey)
		if err != nil {
			t.Fatalf("accepted a proof whose signature does not verify: %v", err)
		}
		var c proofClaims
		if err := json.Unmarshal(payload, &c); err != nil || c.HTM != http.MethodPost || !sameHTU(c.HTU, fuzzDPoPURL) || c.JTI == "" ||
			c.IAT == nil || *c.IAT < float64(fuzzNow.Add(-dpopWindow).Unix()) || *c.IAT > float64(fuzzNow.Add(dpopWindow).Unix()) {
			t.Fatalf("accepted claims %s", payload)
		}
		if _, err := s.dpopProof(fuzzProofRequest(raw)); err == nil {
			t.Fatal("a replayed proof was accepted")
		}
	})
}
