package oauth2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// keyPairOf stores a generated keypair and returns it with its private key
// PEM.
func (h *harness) keyPairOf(kt crypto.KeyType, kid string) (*store.CertificateKeyPair, []byte) {
	h.t.Helper()
	certPEM, keyPEM, err := crypto.Generate(crypto.GenerateOptions{CommonName: kid, KeyType: kt, Validity: 24 * time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	sealed, err := h.s.KeySealer.Seal(keyPEM)
	if err != nil {
		h.t.Fatal(err)
	}
	kp := &store.CertificateKeyPair{Name: kid, CertificateData: string(certPEM), KeySealed: sealed, KID: kid,
		FingerprintSHA256: "fp-" + kid}
	if err := h.st.CreateKeyPair(context.Background(), kp); err != nil {
		h.t.Fatal(err)
	}
	return kp, keyPEM
}

// editProvider changes the provider as the admin API does: on the stored
// row, so that what the server keeps in its settings survives.
func (h *harness) editProvider(edit func(p *store.OAuth2Provider)) {
	h.t.Helper()
	ctx := context.Background()
	p, err := h.st.OAuth2ProviderByPK(ctx, h.p.ProviderPK)
	if err != nil {
		h.t.Fatal(err)
	}
	edit(p)
	if err := h.st.UpdateOAuth2Provider(ctx, p); err != nil {
		h.t.Fatal(err)
	}
	h.p = p
}

// clock gives the server a fake clock.
func (h *harness) clock() *dpClock {
	c := &dpClock{t: time.Now().UTC()}
	h.s.Now = c.Now
	h.s.Sessions.Now = c.Now
	return c
}

// login makes a session of alice's in the store; the cookie value opens it.
func (h *harness) login() (*store.Session, string) {
	h.t.Helper()
	cookie := newOpaque()
	now := h.s.now()
	sess := &store.Session{Key: session.Key(cookie), UserPK: &h.user.PK, Data: json.RawMessage(`{"auth_method":"password"}`),
		LastUsed: now, Expires: now.Add(24 * time.Hour)}
	if err := h.st.CreateSession(context.Background(), sess); err != nil {
		h.t.Fatal(err)
	}
	return sess, cookie
}

// exchange gets alice's tokens at the token endpoint for a code issued in
// sess (nil: none), as the authorization endpoint would have issued it.
func (h *harness) exchange(sess *store.Session) map[string]any {
	h.t.Helper()
	now := h.s.now()
	code := newOpaque()
	g := &store.OAuth2Grant{ProviderPK: h.p.ProviderPK, UserPK: h.user.PK, Scope: "openid profile", Nonce: "n0nce",
		AuthTime: now, Created: now, AMR: []string{"pwd"}}
	if sess != nil {
		g.SessionUUID = &sess.UUID
	}
	tok := &store.OAuth2Token{Hash: hashToken(code), Kind: store.OAuth2Code, Expires: now.Add(time.Minute), Created: now,
		Data: store.Attributes{"redirect_uri": hRedirect}}
	if err := h.st.CreateOAuth2Grant(context.Background(), g, tok); err != nil {
		h.t.Fatal(err)
	}
	w := h.do(http.MethodPost, "/application/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {hRedirect}}, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(hClientID+":"+hSecret)))
	out := map[string]any{}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK {
		h.t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	return out
}

// jwks fetches the application's JWKS.
func (h *harness) jwks() jose.JSONWebKeySet {
	h.t.Helper()
	w := h.do(http.MethodGet, "/application/o/app/jwks/", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || w.Code != http.StatusOK {
		h.t.Fatalf("jwks: %d %s", w.Code, w.Body)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID+"/"+k.Use)
	}
	slices.Sort(out)
	return out
}

// verifyWith verifies a compact JWS with the key of its kid in set, as a
// relying party does, and returns its header and claims.
func verifyWith(t *testing.T, set jose.JSONWebKeySet, token string) (jose.Header, map[string]any) {
	t.Helper()
	obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.ES384})
	if err != nil {
		t.Fatalf("parse %q: %v", token, err)
	}
	h := obj.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		t.Fatalf("kid %q is not in the JWKS %v", h.KeyID, kids(set))
	}
	payload, err := obj.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return h, claims
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	return obj.Signatures[0].Header.KeyID
}

// The signing key changes: new tokens are signed with the new key, tokens
// signed with the old one still verify against the JWKS until they expire,
// and an old ID token is still a valid id_token_hint; then the old key is
// pruned.
func TestSigningKeyRotation(t *testing.T) {
	h := newHarness(t)
	clock := h.clock()
	ctx := context.Background()
	old := h.exchange(nil)
	oldID, oldAccess := old["id_token"].(string), old["access_token"].(string)
	if kidOf(t, oldID) != "harness-kid" {
		t.Fatalf("kid = %q", kidOf(t, oldID))
	}
	if got, want := kids(h.jwks()), []string{"harness-kid/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS before = %v, want %v", got, want)
	}

	b, _ := h.keyPairOf(crypto.KeyTypeRSA, "kid-b")
	h.editProvider(func(p *store.OAuth2Provider) { p.SigningKey = &b.UUID })
	clock.Advance(configTTL) // the cached configuration expires

	fresh := h.exchange(nil)
	if kidOf(t, fresh["id_token"].(string)) != "kid-b" || kidOf(t, fresh["access_token"].(string)) != "kid-b" {
		t.Fatalf("after the change, tokens are signed with %q", kidOf(t, fresh["id_token"].(string)))
	}
	set := h.jwks()
	if got, want := kids(set), []string{"harness-kid/sig", "kid-b/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS after = %v, want %v", got, want)
	}
	for _, tok := range []string{oldID, oldAccess, fresh["id_token"].(string)} {
		if _, claims := verifyWith(t, set, tok); claims["aud"] != hClientID {
			t.Errorf("claims = %v", claims)
		}
	}
	if _, err := h.s.verifyIDTokenHint(ctx, h.p, oldID); err != nil {
		t.Errorf("an ID token of the previous key as id_token_hint: %v", err)
	}

	p, err := h.st.OAuth2ProviderByPK(ctx, h.p.ProviderPK)
	if err != nil {
		t.Fatal(err)
	}
	hist := readKeyHistory(p.Provider.Settings)
	if hist.currentKID != "kid-b" || len(hist.previous) != 1 || hist.previous[0].KID != "harness-kid" ||
		!hist.previous[0].NotAfter.Equal(hist.previous[0].RetiredAt.Add(time.Hour+rotationGrace)) {
		t.Errorf("settings = %v", p.Provider.Settings)
	}

	// Until the old key's tokens have expired, it stays.
	clock.Advance(time.Hour)
	if got := kids(h.jwks()); len(got) != 2 {
		t.Errorf("JWKS within the validity = %v", got)
	}
	clock.Advance(rotationGrace + time.Second)
	if got, want := kids(h.jwks()), []string{"kid-b/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS after the validity = %v, want %v", got, want)
	}
	if p, err = h.st.OAuth2ProviderByPK(ctx, h.p.ProviderPK); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.verifyIDTokenHint(ctx, p, oldID); err == nil {
		t.Error("the pruned key still verifies an id_token_hint")
	}
	if _, ok := p.Provider.Settings[settingPrevious]; ok || p.Provider.Settings[settingCurrentKID] != "kid-b" {
		t.Errorf("settings after pruning = %v", p.Provider.Settings)
	}
}

// Back to an earlier key: it is current again, and the one in between is
// the retired one.
func TestSigningKeyRotationBack(t *testing.T) {
	h := newHarness(t)
	clock := h.clock()
	a := *h.p.SigningKey
	h.exchange(nil)
	b, _ := h.keyPairOf(crypto.KeyTypeEC, "kid-b")
	h.editProvider(func(p *store.OAuth2Provider) { p.SigningKey = &b.UUID })
	clock.Advance(configTTL)
	h.exchange(nil)
	h.editProvider(func(p *store.OAuth2Provider) { p.SigningKey = &a })
	clock.Advance(configTTL)
	if tok := h.exchange(nil)["id_token"].(string); kidOf(t, tok) != "harness-kid" {
		t.Errorf("kid = %q", kidOf(t, tok))
	}
	p, err := h.st.OAuth2ProviderByPK(context.Background(), h.p.ProviderPK)
	if err != nil {
		t.Fatal(err)
	}
	hist := readKeyHistory(p.Provider.Settings)
	if hist.currentKID != "harness-kid" || len(hist.previous) != 1 || hist.previous[0].KID != "kid-b" {
		t.Errorf("settings = %v", p.Provider.Settings)
	}
	if got, want := kids(h.jwks()), []string{"harness-kid/sig", "kid-b/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS = %v, want %v", got, want)
	}
}

// A signing keypair that is deleted, or that cannot be opened, is left out
// of the JWKS (and logged): the JWKS still answers, with the keys that
// still verify tokens.
func TestJWKSWithUnusableKeys(t *testing.T) {
	h := newHarness(t)
	clock := h.clock()
	ctx := context.Background()
	h.exchange(nil) // records harness-kid as the current key
	b, _ := h.keyPairOf(crypto.KeyTypeEC, "kid-b")
	h.editProvider(func(p *store.OAuth2Provider) { p.SigningKey = &b.UUID })
	clock.Advance(configTTL)
	h.exchange(nil)

	// The keypair's private key cannot be opened any more.
	b.KeySealed, b.FingerprintSHA256 = "garbage", "fp-changed"
	if err := h.st.UpdateKeyPair(ctx, b); err != nil {
		t.Fatal(err)
	}
	clock.Advance(configTTL)
	if got, want := kids(h.jwks()), []string{"harness-kid/sig", "kid-b/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS with an unreadable key = %v, want %v (the retired key, and the last known current one)", got, want)
	}

	// Deleted: the provider is left without a key (HS256 with its secret),
	// and both earlier keys stay published until their tokens expire.
	if err := h.st.DeleteKeyPair(ctx, b.UUID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(configTTL)
	if got, want := kids(h.jwks()), []string{"harness-kid/sig", "kid-b/sig"}; !cmp.Equal(got, want) {
		t.Errorf("JWKS with a deleted key = %v, want %v", got, want)
	}
	// A provider still naming a keypair that is gone (a cached row, a
	// database without the foreign key) must not fail the JWKS either.
	cfg := &providerConfig{p: h.p, app: h.app}
	gone := uuid.New()
	cfg.p.SigningKey = &gone
	cfg.key, cfg.keyErr = h.s.providerKey(ctx, cfg.p)
	if cfg.keyErr == nil {
		t.Fatal("a missing keypair loaded")
	}
	h.s.remember("slug:app", cfg)
	if w := h.do(http.MethodGet, "/application/o/app/jwks/", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "harness-kid") {
		t.Errorf("JWKS naming a missing keypair = %d %s", w.Code, w.Body)
	}
}
