package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// deviceGrantType is RFC 8628 §3.4's grant_type.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// postDevicePage posts a form with the browserless client's cookies and returns
// the status, Location and body.
func (b *browserless) postDevicePage(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.root+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// The device authorization grant (RFC 8628) with x/oauth2's DeviceAuth and
// DeviceAccessToken: the user opens verification_uri_complete, logs in,
// confirms the code, consents in the provider's authorization flow; the
// polling client gets tokens that coreos/go-oidc verifies. Then: the device
// code is single use, and a denied code answers access_denied.
func TestOIDCDeviceFlow(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		root := strings.TrimSuffix(s.base, "/api/v3")
		if got := provider.Endpoint().DeviceAuthURL; got != root+"/application/o/device/" {
			t.Fatalf("device_authorization_endpoint = %q", got)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}
		// DeviceAuth sends only client_id: a confidential client adds its secret.
		secret := oauth2.SetAuthURLParam("client_secret", oidcClientSecret)
		if _, err := cfg.DeviceAuth(ctx); err == nil {
			t.Error("a confidential client got a device code without its secret")
		}
		da, err := cfg.DeviceAuth(ctx, secret)
		if err != nil {
			t.Fatalf("device authorization: %v", err)
		}
		if !userCodeRE.MatchString(da.UserCode) || da.VerificationURI != root+"/device" || da.Interval != 5 ||
			da.VerificationURIComplete != root+"/device?code="+da.UserCode {
			t.Fatalf("device authorization = %+v", da)
		}

		// The user follows verification_uri_complete: login, confirm, consent.
		b := newBrowserless(t, s)
		code, loc, _ := b.get(da.VerificationURIComplete)
		if code != http.StatusFound {
			t.Fatalf("anonymous /device: %d", code)
		}
		next := b.loginFromRedirect(loc)
		if next != "/device?code="+da.UserCode {
			t.Errorf("back from login to %q", next)
		}
		code, _, body := b.get(next)
		if code != http.StatusOK || !strings.Contains(body, "Go app") || !strings.Contains(body, da.UserCode) {
			t.Fatalf("confirmation page: %d %s", code, body)
		}
		code, loc, body = b.postDevicePage("/device", url.Values{"code": {da.UserCode}, "action": {"allow"}})
		if code != http.StatusFound || loc != "/if/flow/e2e-consent/" {
			t.Fatalf("continue: %d %q %s", code, loc, body)
		}
		ch := b.flow.execQ("GET", "e2e-consent", "", nil)
		if component(ch) != "ak-stage-consent" {
			t.Fatalf("consent challenge = %v", ch)
		}
		ch = b.flow.execQ("POST", "e2e-consent", "", map[string]any{"component": "ak-stage-consent", "token": ch["token"]})
		if component(ch) != "xak-flow-redirect" || ch["to"] != "/device?status=approved" {
			t.Fatalf("end of the authorization flow = %v", ch)
		}

		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatalf("device access token: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: oidcClientID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			PreferredUsername string   `json:"preferred_username"`
			AMR               []string `json:"amr"`
		}
		if err := idt.Claims(&claims); err != nil || claims.PreferredUsername != "akadmin" || len(claims.AMR) == 0 {
			t.Errorf("ID token claims = %+v %v", claims, err)
		}
		if tok.RefreshToken == "" {
			t.Error("no refresh token for offline_access")
		}
		if ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil || ui.Subject != idt.Subject {
			t.Errorf("userinfo: %+v %v", ui, err)
		}

		// The device code is single use; the user code is spent.
		poll := url.Values{"grant_type": {deviceGrantType}, "device_code": {da.DeviceCode}}
		if code, out := postForm(t, cfg.Endpoint.TokenURL, poll, oidcClientID, oidcClientSecret); code != 400 || out["error"] != "invalid_grant" {
			t.Errorf("device code replay: %d %v", code, out)
		}
		if code, _, _ := b.get(next); code != http.StatusBadRequest {
			t.Errorf("spent user code: %d", code)
		}

		// Denied: the next poll answers access_denied.
		da2, err := cfg.DeviceAuth(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if code, _, body := b.postDevicePage("/device", url.Values{"code": {da2.UserCode}, "action": {"deny"}}); code != http.StatusOK {
			t.Fatalf("deny: %d %s", code, body)
		}
		_, err = cfg.DeviceAccessToken(ctx, da2)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
			t.Errorf("denied device code: %v", err)
		}
	})
}

// A pushed authorization request (RFC 9126): push with client
// authentication, authorize with client_id and request_uri only (login and
// consent in between), exchange the code with PKCE; the request_uri cannot
// be used again.
func TestOIDCPushedAuthorization(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		var meta struct {
			PAR     string `json:"pushed_authorization_request_endpoint"`
			Require bool   `json:"require_pushed_authorization_requests"`
		}
		if err := provider.Claims(&meta); err != nil || meta.PAR == "" || meta.Require {
			t.Fatalf("PAR metadata = %+v %v", meta, err)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidcRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
		pkce := oauth2.GenerateVerifier()
		pushed := url.Values{"response_type": {"code"}, "redirect_uri": {oidcRedirect}, "scope": {"openid email profile"},
			"state": {"par-state"}, "nonce": {"par-nonce"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(pkce)},
			"code_challenge_method": {"S256"}}
		if code, out := postForm(t, meta.PAR, pushed, "", ""); code != http.StatusUnauthorized {
			t.Errorf("push without client authentication: %d %v", code, out)
		}
		code, out := postForm(t, meta.PAR, pushed, oidcClientID, oidcClientSecret)
		uri, _ := out["request_uri"].(string)
		if code != http.StatusCreated || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || out["expires_in"] != float64(60) {
			t.Fatalf("push: %d %v", code, out)
		}
		authURL := cfg.Endpoint.AuthURL + "?" + url.Values{"client_id": {oidcClientID}, "request_uri": {uri}}.Encode()
		b := newBrowserless(t, s)
		cb := callbackParams(t, b.authorize(authURL, true))
		if cb.Get("state") != "par-state" || cb.Get("code") == "" {
			t.Fatalf("callback = %v", cb)
		}
		tok, err := cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: oidcClientID}).Verify(ctx, rawID)
		if err != nil || idt.Nonce != "par-nonce" {
			t.Fatalf("ID token: %+v %v", idt, err)
		}
		if code, loc, _ := b.get(authURL); code != http.StatusBadRequest || loc != "" {
			t.Errorf("request_uri reused: %d %q", code, loc)
		}
	})
}
