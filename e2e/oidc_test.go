package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	oidcClientID     = "goclient"
	oidcClientSecret = "goclient-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	oidcRedirect     = "http://127.0.0.1:9998/cb"
	oidcLogout       = "http://127.0.0.1:9998/logged-out"
)

// oidcSetup is an application "goapp" with an OAuth2 provider signing with
// a generated key, an explicit-consent authorization flow, and every
// default scope mapping.
type oidcSetup struct {
	s          *apiServer
	issuer     string
	providerPK int64
}

func setupOIDC(t *testing.T, s *apiServer, clientType string) *oidcSetup {
	t.Helper()
	kp := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "oidc-signing", "validity_days": 30})
	f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Consent", "slug": "e2e-consent", "title": "Sign in to Go app",
		"designation": "authorization"})
	st := s.must(201, "POST", "/stages/consent/", map[string]any{"name": "e2e-consent", "settings": map[string]any{"mode": "permanent"}})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})

	var mappings []any
	for _, m := range results(s.must(200, "GET", "/propertymappings/provider/scope/?page_size=100", nil)) {
		mappings = append(mappings, m["pk"])
	}
	if len(mappings) < 4 {
		t.Fatalf("default scope mappings: %v", mappings)
	}
	inv := s.must(200, "GET", "/flows/instances/default-provider-invalidation-flow/", nil)
	body := map[string]any{"name": "go-oidc", "authorization_flow": f["pk"], "invalidation_flow": inv["pk"], "client_type": clientType, "client_id": oidcClientID,
		"signing_key": kp["pk"], "property_mappings": mappings, "include_claims_in_id_token": true,
		"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": oidcRedirect, "redirect_uri_type": "authorization"},
			{"matching_mode": "strict", "url": oidcLogout, "redirect_uri_type": "logout"}}}
	if clientType == "confidential" {
		body["client_secret"] = oidcClientSecret
	}
	prov := s.must(201, "POST", "/providers/oauth2/", body)
	pk := int64(prov["pk"].(float64))
	s.must(201, "POST", "/core/applications/", map[string]any{"name": "Go app", "slug": "goapp", "provider": pk})
	urls := s.must(200, "GET", fmt.Sprintf("/providers/oauth2/%d/setup_urls/", pk), nil)
	root := strings.TrimSuffix(s.base, "/api/v3")
	if urls["issuer"] != root+"/application/o/goapp/" {
		t.Errorf("setup_urls = %v", urls)
	}
	return &oidcSetup{s: s, issuer: root + "/application/o/goapp/", providerPK: pk}
}

// browserless is a cookie-jar client that does not follow redirects, and
// a flow client sharing its jar.
type browserless struct {
	t    *testing.T
	root string
	http *http.Client
	flow *flowClient
	// username and password log in (default: akadmin).
	username, password string
}

func newBrowserless(t *testing.T, s *apiServer) *browserless {
	jar, _ := cookiejar.New(nil)
	b := &browserless{t: t, root: strings.TrimSuffix(s.base, "/api/v3"), username: "akadmin", password: bootstrapPassword, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.flow = &flowClient{t: t, s: s, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	return b
}

// get returns the status and Location of a GET.
func (b *browserless) get(u string) (int, string, string) {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.root + u
	}
	resp, err := b.http.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// loginFromRedirect runs the authentication flow through the executor API, as sent
// there with ?next=, and returns next.
func (b *browserless) loginFromRedirect(loc string) string {
	b.t.Helper()
	if !strings.HasPrefix(loc, "/if/flow/default-authentication-flow/") {
		b.t.Fatalf("not sent to the authentication flow: %q", loc)
	}
	u, _ := url.Parse(loc)
	next := u.Query().Get("next")
	q := "next=" + url.QueryEscape(next)
	b.flow.execQ("GET", "default-authentication-flow", q, nil)
	b.flow.execQ("POST", "default-authentication-flow", q, map[string]any{"component": "ak-stage-identification", "uid_field": b.username})
	ch := b.flow.execQ("POST", "default-authentication-flow", q, map[string]any{"component": "ak-stage-password", "password": b.password})
	if component(ch) != "xak-flow-redirect" || ch["to"] != next {
		b.t.Fatalf("login = %v, want a redirect to %s", ch, next)
	}
	return next
}

// authorize follows an authorization request through login (when asked)
// and the consent flow, as a browser would, through the executor API; it
// returns the final redirect to the client.
func (b *browserless) authorize(authURL string, consent bool) string {
	b.t.Helper()
	code, loc, body := b.get(authURL)
	if code != http.StatusFound {
		b.t.Fatalf("authorize: %d %s", code, body)
	}
	if strings.HasPrefix(loc, "/if/flow/default-authentication-flow/") {
		next := b.loginFromRedirect(loc)
		if code, loc, body = b.get(next); code != http.StatusFound {
			b.t.Fatalf("authorize after login: %d %s", code, body)
		}
	}
	if !strings.HasPrefix(loc, "/if/flow/e2e-consent/") {
		return loc // straight back to the client (prompt=none)
	}
	ch := b.flow.execQ("GET", "e2e-consent", "", nil)
	if consent {
		if component(ch) != "ak-stage-consent" {
			b.t.Fatalf("consent challenge = %v", ch)
		}
		perms, _ := json.Marshal(ch["permissions"])
		if !strings.Contains(string(perms), "Email address") || !strings.Contains(string(perms), "General Profile Information") {
			b.t.Errorf("consent permissions = %s", perms)
		}
		ch = b.flow.execQ("POST", "e2e-consent", "", map[string]any{"component": "ak-stage-consent", "token": ch["token"]})
	}
	if component(ch) != "xak-flow-redirect" {
		b.t.Fatalf("end of the authorization flow = %v", ch)
	}
	return ch["to"].(string)
}

func callbackParams(t *testing.T, loc string) url.Values {
	t.Helper()
	if !strings.HasPrefix(loc, oidcRedirect) {
		t.Fatalf("redirect %q is not to the client", loc)
	}
	u, _ := url.Parse(loc)
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}

func postForm(t *testing.T, u string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The code flow with PKCE against coreos/go-oidc and x/oauth2: discovery,
// login through the flow executor API, consent, code exchange, ID token
// verification (JWKS, iss, aud, exp, nonce), userinfo, refresh rotation and
// reuse detection, introspection, revocation, code replay, client
// credentials and RP-initiated logout.
func TestOIDCGoClient(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidcRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}
		verifier := provider.Verifier(&oidc.Config{ClientID: oidcClientID})
		b := newBrowserless(t, s)

		pkce := oauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("st4te", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(pkce))
		cb := callbackParams(t, b.authorize(authURL, true))
		if cb.Get("state") != "st4te" || cb.Get("code") == "" {
			t.Fatalf("callback = %v", cb)
		}
		code := cb.Get("code")
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption("wrong-verifier-"+strings.Repeat("x", 40))); err == nil {
			t.Fatal("a wrong PKCE verifier was accepted")
		}
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			Email             string   `json:"email"`
			PreferredUsername string   `json:"preferred_username"`
			Groups            []string `json:"groups"`
			Nonce             string   `json:"nonce"`
			AMR               []string `json:"amr"`
			AtHash            string   `json:"at_hash"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.Nonce != "n0nce" || claims.PreferredUsername != "akadmin" || len(claims.AMR) == 0 || claims.AMR[0] != "pwd" {
			t.Errorf("ID token claims = %+v", claims)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != idt.Subject {
			t.Fatalf("userinfo: %+v %v", ui, err)
		}
		var uiClaims map[string]any
		_ = ui.Claims(&uiClaims)
		if uiClaims["preferred_username"] != "akadmin" || uiClaims["groups"] == nil {
			t.Errorf("userinfo claims = %v", uiClaims)
		}

		// The code is single use: a replay fails and revokes what it gave.
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("code replay: %v", err)
		}
		introspect := func(token string) map[string]any {
			_, out := postForm(t, provider.Endpoint().TokenURL[:strings.LastIndex(strings.TrimSuffix(provider.Endpoint().TokenURL, "/"), "/")]+"/introspect/",
				url.Values{"token": {token}}, oidcClientID, oidcClientSecret)
			return out
		}
		if got := introspect(tok.AccessToken); got["active"] != false {
			t.Errorf("access token after code replay = %v, want inactive", got)
		}

		// A fresh grant: refresh with rotation; reusing a rotated token
		// revokes the family.
		pkce = oauth2.GenerateVerifier()
		cb = callbackParams(t, b.authorize(cfg.AuthCodeURL("s2", oidc.Nonce("n2"), oauth2.S256ChallengeOption(pkce)), false))
		tok, err = cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("second exchange (consent remembered): %v", err)
		}
		if got := introspect(tok.AccessToken); got["active"] != true || got["username"] != "akadmin" || got["client_id"] != oidcClientID {
			t.Errorf("introspection = %v", got)
		}
		old := tok.RefreshToken
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil || fresh.RefreshToken == old || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("refresh: %v %v", fresh, err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token(); err == nil {
			t.Fatal("a rotated refresh token was accepted again")
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
			t.Fatal("after a refresh-token replay the family still works")
		}
		if got := introspect(fresh.AccessToken); got["active"] != false {
			t.Errorf("access token of a replayed family = %v", got)
		}

		// Revocation (RFC 7009).
		pkce = oauth2.GenerateVerifier()
		cb = callbackParams(t, b.authorize(cfg.AuthCodeURL("s3", oidc.Nonce("n3"), oauth2.S256ChallengeOption(pkce)), false))
		tok, err = cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		revokeURL := strings.TrimSuffix(o.issuer, "goapp/") + "revoke/"
		if code, _ := postForm(t, revokeURL, url.Values{"token": {tok.RefreshToken}}, oidcClientID, oidcClientSecret); code != 200 {
			t.Fatalf("revoke: %d", code)
		}
		if got := introspect(tok.AccessToken); got["active"] != false {
			t.Errorf("access token after revoking its refresh token = %v", got)
		}
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo accepted a revoked token")
		}

		// Wrong client secret; wrong redirect URI (an error page, no redirect).
		bad := cfg
		bad.ClientSecret = "nope"
		if _, err := (&clientcredentials.Config{ClientID: oidcClientID, ClientSecret: "nope", TokenURL: cfg.Endpoint.TokenURL}).Token(ctx); err == nil {
			t.Error("a wrong client secret was accepted")
		}
		evil := strings.Replace(authURL, url.QueryEscape(oidcRedirect), url.QueryEscape("https://evil.example/cb"), 1)
		if code, loc, _ := b.get(evil); code != 400 || loc != "" {
			t.Errorf("unregistered redirect_uri: %d %q", code, loc)
		}

		// client_credentials: the provider's service account.
		cc := &clientcredentials.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, TokenURL: cfg.Endpoint.TokenURL,
			Scopes: []string{"openid", "profile"}}
		ctok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if got := introspect(ctok.AccessToken); got["username"] != "ak-go-oidc-client_credentials" {
			t.Errorf("client_credentials token = %v", got)
		}

		// prompt=none with a remembered consent goes straight back.
		pkce = oauth2.GenerateVerifier()
		loc := b.authorize(cfg.AuthCodeURL("s4", oidc.Nonce("n4"), oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("prompt", "none")), false)
		if cb := callbackParams(t, loc); cb.Get("code") == "" {
			t.Errorf("prompt=none = %v", cb)
		}

		// prompt=consent asks again although consent is remembered; the
		// flow title's %(app)s is the application's name.
		s.must(200, "PATCH", "/flows/instances/e2e-consent/", map[string]any{"title": "Redirecting to %(app)s"})
		pkce = oauth2.GenerateVerifier()
		if code, loc, body := b.get(cfg.AuthCodeURL("s5", oidc.Nonce("n5"), oauth2.S256ChallengeOption(pkce),
			oauth2.SetAuthURLParam("prompt", "consent"))); code != http.StatusFound || !strings.HasPrefix(loc, "/if/flow/e2e-consent/") {
			t.Fatalf("prompt=consent: %d %q %s", code, loc, body)
		}
		ch := b.flow.execQ("GET", "e2e-consent", "", nil)
		if component(ch) != "ak-stage-consent" || ch["flow_info"].(map[string]any)["title"] != "Redirecting to Go app" {
			t.Errorf("prompt=consent challenge = %v", ch)
		}

		// RP-initiated logout with id_token_hint and post_logout_redirect_uri.
		endSession := o.issuer + "end-session/?" + url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {oidcLogout},
			"state": {"bye"}}.Encode()
		code2, loc2, body := b.get(endSession)
		if code2 != http.StatusFound || loc2 != oidcLogout+"?state=bye" {
			t.Errorf("end-session: %d %q %s", code2, loc2, body)
		}
		if code, _, _ := b.get(o.issuer + "end-session/?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/")); code != 400 {
			t.Errorf("end-session to an unregistered URI: %d", code)
		}
	})
}
