package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// decryptIDToken opens an encrypted ID token as the relying party does,
// with the private key it was given, and checks the JWE header.
func decryptIDToken(t *testing.T, token string, keyPEM []byte, alg jose.KeyAlgorithm, enc jose.ContentEncryption, kid string) string {
	t.Helper()
	if n := strings.Count(token, "."); n != 4 {
		t.Fatalf("ID token has %d dots, want a JWE compact serialization: %s", n, token)
	}
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{alg}, []jose.ContentEncryption{enc})
	if err != nil {
		t.Fatalf("parse JWE: %v", err)
	}
	if obj.Header.KeyID != kid || obj.Header.ExtraHeaders["cty"] != "JWT" || obj.Header.ExtraHeaders["enc"] != string(enc) {
		t.Errorf("JWE header = %+v", obj.Header)
	}
	priv, err := crypto.ParseSigner(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := obj.Decrypt(priv)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return string(plain)
}

// With an encryption key, the ID token of the token endpoint is a nested
// JWT: RSA-OAEP-256 / A256CBC-HS512 for an RSA key, ECDH-ES+A256KW /
// A256GCM for an EC key, around the ID token signed as before. The access
// token is not encrypted.
func TestEncryptedIDToken(t *testing.T) {
	for _, tc := range []struct {
		kt  crypto.KeyType
		alg jose.KeyAlgorithm
		enc jose.ContentEncryption
	}{
		{crypto.KeyTypeRSA, jose.RSA_OAEP_256, jose.A256CBC_HS512},
		{crypto.KeyTypeEC, jose.ECDH_ES_A256KW, jose.A256GCM},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			h := newHarness(t)
			kp, keyPEM := h.keyPairOf(tc.kt, "enc-"+string(tc.kt))
			h.editProvider(func(p *store.OAuth2Provider) { p.EncryptionKey = &kp.UUID })
			out := h.exchange(nil)
			set := h.jwks()
			inner := decryptIDToken(t, out["id_token"].(string), keyPEM, tc.alg, tc.enc, kp.KID)
			hdr, claims := verifyWith(t, set, inner)
			if hdr.KeyID != "harness-kid" || claims["aud"] != hClientID || claims["nonce"] != "n0nce" || claims["at_hash"] == nil {
				t.Errorf("inner ID token: %+v %v", hdr, claims)
			}
			if kidOf(t, out["access_token"].(string)) != "harness-kid" {
				t.Error("the access token is not a signed JWT")
			}
			// The JWKS publishes the encryption key for what it is.
			enc := set.Key(kp.KID)
			if len(enc) != 1 || enc[0].Use != "enc" || enc[0].Algorithm != string(tc.alg) {
				t.Errorf("JWKS encryption key = %+v", enc)
			}
			// The encrypted ID token is accepted back as id_token_hint.
			if _, err := h.s.verifyIDTokenHint(context.Background(), h.p, out["id_token"].(string)); err != nil {
				t.Errorf("encrypted id_token_hint: %v", err)
			}
		})
	}
}

// The implicit and hybrid responses carry the encrypted ID token in the
// fragment (they go through issue like the token endpoint).
func TestEncryptedIDTokenInFragment(t *testing.T) {
	h := newHarness(t)
	kp, keyPEM := h.keyPairOf(crypto.KeyTypeRSA, "enc-rsa")
	h.editProvider(func(p *store.OAuth2Provider) { p.EncryptionKey = &kp.UUID })
	_, cookie := h.login()
	q := url.Values{"client_id": {hClientID}, "response_type": {"code id_token"}, "redirect_uri": {hRedirect},
		"scope": {"openid profile"}, "nonce": {"frag-nonce"}, "state": {"st"}}
	w := h.do(http.MethodGet, "/application/o/authorize/?"+q.Encode(), nil, "Cookie", "authentik_session="+cookie)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/if/flow/implicit/" {
		t.Fatalf("authorize = %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	w = h.do(http.MethodGet, "/api/v3/flows/executor/implicit/", nil, "Cookie", "authentik_session="+cookie)
	ch := map[string]any{}
	if err := json.Unmarshal(w.Body.Bytes(), &ch); err != nil || ch["component"] != "xak-flow-redirect" {
		t.Fatalf("executor = %d %s", w.Code, w.Body)
	}
	u, err := url.Parse(ch["to"].(string))
	if err != nil {
		t.Fatal(err)
	}
	frag, err := url.ParseQuery(u.Fragment)
	if err != nil || frag.Get("code") == "" || frag.Get("state") != "st" {
		t.Fatalf("fragment = %q", u.Fragment)
	}
	inner := decryptIDToken(t, frag.Get("id_token"), keyPEM, jose.RSA_OAEP_256, jose.A256CBC_HS512, kp.KID)
	if _, claims := verifyWith(t, h.jwks(), inner); claims["nonce"] != "frag-nonce" || claims["c_hash"] != halfHash(jose.ES256, frag.Get("code")) {
		t.Errorf("inner ID token claims = %v", claims)
	}
}

// An encryption key that cannot encrypt (Ed25519) fails the token request
// rather than let the ID token out in clear.
func TestEncryptionKeyUnusable(t *testing.T) {
	h := newHarness(t)
	kp, _ := h.keyPairOf(crypto.KeyTypeED25519, "enc-ed")
	h.editProvider(func(p *store.OAuth2Provider) { p.EncryptionKey = &kp.UUID })
	_, _, err := h.s.issue(context.Background(), httptestRequest(), issueParams{p: h.p, app: h.app, user: h.user,
		grant: &store.OAuth2Grant{ProviderPK: h.p.ProviderPK, UserPK: h.user.PK}, scopes: []string{"openid"}, withID: true})
	if err == nil || !strings.Contains(err.Error(), "unusable encryption key") {
		t.Errorf("issue with an Ed25519 encryption key: %v", err)
	}
}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://example.com/application/o/token/", nil)
	return r
}

// Discovery lists the encryption algorithms and the logout capabilities.
func TestDiscoveryEncryptionAndLogout(t *testing.T) {
	h := newHarness(t)
	w := h.do(http.MethodGet, "/application/o/app/.well-known/openid-configuration", nil)
	doc := map[string]any{}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"id_token_encryption_alg_values_supported": []any{"RSA-OAEP-256", "ECDH-ES+A256KW"},
		"id_token_encryption_enc_values_supported": []any{"A256CBC-HS512", "A256GCM"},
		"backchannel_logout_supported":             true,
		"backchannel_logout_session_supported":     true,
		"frontchannel_logout_supported":            true,
		"frontchannel_logout_session_supported":    true,
	} {
		got, _ := json.Marshal(doc[k])
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("%s = %s, want %s", k, got, wantJSON)
		}
	}
}

// An encrypted id_token_hint is untrusted input too: decrypted and
// verified against the provider's keys or refused, never a panic; only
// what the provider issued is accepted.
func FuzzEncryptedIDTokenHint(f *testing.F) {
	h := newHarness(f)
	kp, _ := h.keyPairOf(crypto.KeyTypeRSA, "enc-rsa")
	h.editProvider(func(p *store.OAuth2Provider) { p.EncryptionKey = &kp.UUID })
	issued := h.exchange(nil)["id_token"].(string)
	f.Add(issued)
	f.Add(strings.Repeat("a.", 4) + "a")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add(issued[:len(issued)-4])
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, hint string) {
		claims, err := h.s.verifyIDTokenHint(ctx, h.p, hint)
		if err == nil && (hint != issued || claims["aud"] != hClientID) {
			t.Errorf("accepted %q: %v", hint, claims)
		}
	})
}
