package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
)

// dpopTransport is a DPoP client (RFC 9449) written for this test with
// go-jose: every request it sends carries a fresh proof (§4.2) signed by
// its ES256 key with the public key embedded, for the request's method
// and URI without query and fragment; a request in the DPoP scheme gets
// the ath of its access token (§7.1). It keeps the last proof it sent so
// the test can replay it.
type dpopTransport struct {
	key  *ecdsa.PrivateKey
	base http.RoundTripper

	mu   sync.Mutex
	last string
}

func newDPoPTransport(t *testing.T) *dpopTransport {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopTransport{key: k, base: http.DefaultTransport}
}

// jkt is the key's RFC 7638 thumbprint.
func (d *dpopTransport) jkt() string {
	sum, _ := (&jose.JSONWebKey{Key: d.key.Public()}).Thumbprint(crypto.SHA256)
	return base64.RawURLEncoding.EncodeToString(sum)
}

func (d *dpopTransport) proof(method string, u *url.URL, accessToken string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: d.key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", err
	}
	htu := *u
	htu.RawQuery, htu.Fragment = "", ""
	claims := map[string]any{"jti": uuid.NewString(), "htm": method, "htu": htu.String(), "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func (d *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	at := ""
	if scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "DPoP") {
		at = tok
	}
	p, err := d.proof(req.Method, req.URL, at)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.last = p
	d.mu.Unlock()
	req.Header.Set("DPoP", p)
	return d.base.RoundTrip(req)
}

// ctx is a context whose oauth2 and go-oidc requests go through d.
func (d *dpopTransport) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: d, Timeout: 10 * time.Second})
}

// getWith sends a GET with headers, returning the status, the
// WWW-Authenticate header and the decoded body.
func getWith(t *testing.T, u string, hdr ...string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), out
}

const (
	rsClientID = "dpop-rs"
	rsSecret   = "dpop-rs-secret-0123456789abcdefghijklmnopqrstuvwxyz"
)

// A public client that uses DPoP through the code flow with PKCE
// (x/oauth2 and go-oidc over a DPoP transport): the tokens are bound to
// its key, userinfo wants the key's proof, the refresh token only works
// with the same key, and a proof is single use. A confidential API client
// authenticating with client_secret_jwt exchanges the user's DPoP token
// for its own (RFC 8693) and sees the cnf of its own DPoP token in
// introspection.
func TestOIDCDPoP(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "public")
		provider, err := oidc.NewProvider(context.Background(), o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		var meta struct {
			DPoPAlgs    []string `json:"dpop_signing_alg_values_supported"`
			AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
			Userinfo    string   `json:"userinfo_endpoint"`
			Introspect  string   `json:"introspection_endpoint"`
		}
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(meta.DPoPAlgs, " "), "ES256") || !strings.Contains(strings.Join(meta.AuthMethods, " "), "client_secret_jwt") {
			t.Errorf("discovery: dpop algs %v, auth methods %v", meta.DPoPAlgs, meta.AuthMethods)
		}
		tokenURL := provider.Endpoint().TokenURL

		// The code flow with a DPoP-bound token.
		d := newDPoPTransport(t)
		cfg := oauth2.Config{ClientID: oidcClientID, Endpoint: provider.Endpoint(), RedirectURL: oidcRedirect,
			Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}
		b := newBrowserless(t, s)
		pkce := oauth2.GenerateVerifier()
		cb := callbackParams(t, b.authorize(cfg.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(pkce)), true))
		tok, err := cfg.Exchange(d.ctx(), cb.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.Type() != "DPoP" || tok.RefreshToken == "" {
			t.Fatalf("token type %q, refresh token %q", tok.Type(), tok.RefreshToken)
		}
		// The access token is a JWT of the provider's key with cnf.jkt.
		at, err := provider.Verifier(&oidc.Config{ClientID: oidcClientID}).Verify(context.Background(), tok.AccessToken)
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		var atClaims struct {
			Cnf struct {
				JKT string `json:"jkt"`
			} `json:"cnf"`
		}
		if err := at.Claims(&atClaims); err != nil || atClaims.Cnf.JKT != d.jkt() {
			t.Fatalf("cnf = %+v (%v), want jkt %s", atClaims.Cnf, err, d.jkt())
		}

		// userinfo through go-oidc: "Authorization: DPoP" and a proof with ath.
		ui, err := provider.UserInfo(d.ctx(), oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != at.Subject {
			t.Fatalf("userinfo with DPoP: %+v %v", ui, err)
		}
		// The same proof again is refused (RFC 9449 §11.1).
		code, wa, _ := getWith(t, meta.Userinfo, "Authorization", "DPoP "+tok.AccessToken, "DPoP", d.last)
		if code != http.StatusUnauthorized || !strings.HasPrefix(wa, `DPoP error="invalid_dpop_proof"`) {
			t.Errorf("replayed proof at userinfo: %d %q", code, wa)
		}
		// As a bearer token, or with another key's proof, it is refused.
		code, wa, _ = getWith(t, meta.Userinfo, "Authorization", "Bearer "+tok.AccessToken)
		if code != http.StatusUnauthorized || !strings.HasPrefix(wa, `DPoP error="invalid_token"`) {
			t.Errorf("bound token as Bearer: %d %q", code, wa)
		}
		thief := newDPoPTransport(t)
		if _, err := provider.UserInfo(thief.ctx(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo accepted another key's proof")
		}
		u, _ := url.Parse(meta.Userinfo)
		noATH, _ := d.proof(http.MethodGet, u, "")
		if code, wa, _ = getWith(t, meta.Userinfo, "Authorization", "DPoP "+tok.AccessToken, "DPoP", noATH); code != http.StatusUnauthorized ||
			!strings.HasPrefix(wa, `DPoP error="invalid_token"`) {
			t.Errorf("proof without ath: %d %q", code, wa)
		}

		// The refresh token is bound: another key cannot use it; the
		// client's key can, and the new tokens are bound too.
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		_, err = cfg.TokenSource(thief.ctx(), &expired).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh with another key: %v", err)
		}
		fresh, err := cfg.TokenSource(d.ctx(), &expired).Token()
		if err != nil || fresh.Type() != "DPoP" || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh with the key: %+v %v", fresh, err)
		}
		if _, err := provider.UserInfo(d.ctx(), oauth2.StaticTokenSource(fresh)); err != nil {
			t.Errorf("userinfo with the refreshed token: %v", err)
		}

		// An API client (confidential) authenticating with client_secret_jwt.
		kp := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "dpop-rs", "validity_days": 30})
		flow := s.must(200, "GET", "/flows/instances/e2e-consent/", nil)
		inv := s.must(200, "GET", "/flows/instances/default-provider-invalidation-flow/", nil)
		var mappings []any
		for _, m := range results(s.must(200, "GET", "/propertymappings/provider/scope/?page_size=100", nil)) {
			mappings = append(mappings, m["pk"])
		}
		rs := s.must(201, "POST", "/providers/oauth2/", map[string]any{"name": "dpop-rs", "authorization_flow": flow["pk"],
			"invalidation_flow": inv["pk"], "client_type": "confidential", "client_id": rsClientID, "client_secret": rsSecret,
			"signing_key": kp["pk"], "property_mappings": mappings})
		s.must(201, "POST", "/core/applications/", map[string]any{"name": "DPoP API", "slug": "dpop-rs", "provider": rs["pk"]})
		assertion := func() string {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(rsSecret)}, (&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(map[string]any{"iss": rsClientID, "sub": rsClientID, "aud": tokenURL, "jti": uuid.NewString(),
				"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
			obj, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := obj.CompactSerialize()
			return v
		}
		a := assertion()
		code, out := postForm(t, tokenURL, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"subject_token": {fresh.AccessToken}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"scope": {"openid profile"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {a}}, "", "")
		if code != http.StatusOK || out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || out["scope"] != "openid profile" {
			t.Fatalf("token exchange: %d %v", code, out)
		}
		if got := introspectAs(t, meta.Introspect, out["access_token"].(string)); got["active"] != true || got["username"] != "akadmin" ||
			got["client_id"] != rsClientID || got["token_type"] != "Bearer" {
			t.Errorf("introspection of the exchanged token = %v", got)
		}
		// The assertion is single use; delegation is refused.
		code, out = postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}, "", "")
		if code != http.StatusUnauthorized || out["error"] != "invalid_client" {
			t.Errorf("replayed client assertion: %d %v", code, out)
		}
		code, out = postForm(t, tokenURL, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"subject_token": {fresh.AccessToken}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"actor_token": {fresh.AccessToken}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, rsClientID, rsSecret)
		if code != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Errorf("actor_token: %d %v", code, out)
		}

		// The API client's own DPoP token: introspection shows its key (§6.2).
		rsKey := newDPoPTransport(t)
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion()}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{Transport: rsKey, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var cc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&cc)
		if resp.StatusCode != http.StatusOK || cc["token_type"] != "DPoP" {
			t.Fatalf("client_credentials with DPoP: %d %v", resp.StatusCode, cc)
		}
		got := introspectAs(t, meta.Introspect, cc["access_token"].(string))
		if cnf, _ := got["cnf"].(map[string]any); got["active"] != true || got["token_type"] != "DPoP" || cnf["jkt"] != rsKey.jkt() {
			t.Errorf("introspection of a DPoP token = %v, want cnf.jkt %s", got, rsKey.jkt())
		}
	})
}

// introspectAs introspects token as the API client.
func introspectAs(t *testing.T, endpoint, token string) map[string]any {
	t.Helper()
	code, out := postForm(t, endpoint, url.Values{"token": {token}}, rsClientID, rsSecret)
	if code != http.StatusOK {
		t.Fatalf("introspect: %d %v", code, out)
	}
	return out
}
