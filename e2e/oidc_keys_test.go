package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// backchannelRP is a relying party's back-channel logout endpoint
// (OIDC Back-Channel Logout 1.0 §2.5).
type backchannelRP struct {
	srv    *httptest.Server
	tokens chan string
}

func newBackchannelRP(t *testing.T) *backchannelRP {
	rp := &backchannelRP{tokens: make(chan string, 16)}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("back-channel logout request: %s %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		rp.tokens <- r.PostForm.Get("logout_token")
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *backchannelRP) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rp.tokens:
		return tok
	case <-time.After(15 * time.Second):
		t.Fatal("the relying party got no logout token")
		return ""
	}
}

// rpSession is what the relying party keeps of a login.
type rpSession struct {
	rawID string
	id    *oidc.IDToken
	sid   string
	kid   string
}

// codeLogin runs the code flow as akadmin through b and verifies the ID
// token with verifier.
func codeLogin(t *testing.T, b *browserless, cfg oauth2.Config, verifier *oidc.IDTokenVerifier, consent bool) rpSession {
	t.Helper()
	ctx := context.Background()
	pkce := oauth2.GenerateVerifier()
	cb := callbackParams(t, b.authorize(cfg.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(pkce)), consent))
	tok, err := cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.SID == "" {
		t.Fatalf("ID token sid: %v %v", claims, err)
	}
	return rpSession{rawID: raw, id: idt, sid: claims.SID, kid: jwsKID(t, raw)}
}

func jwsKID(t *testing.T, token string) string {
	t.Helper()
	obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	return obj.Signatures[0].Header.KeyID
}

// jwksKIDs lists the kids the issuer's JWKS publishes.
func jwksKIDs(t *testing.T, issuer string) []string {
	t.Helper()
	resp, err := http.Get(issuer + "jwks/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &set); err != nil || resp.StatusCode != 200 {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	slices.Sort(kids)
	return kids
}

// checkLogoutToken verifies a logout token as a relying party would (the
// issuer's JWKS, iss, aud, exp, through go-oidc) and its Back-Channel
// Logout §2.4 claims against the session's ID token.
func checkLogoutToken(t *testing.T, verifier *oidc.IDTokenVerifier, token string, sess rpSession) {
	t.Helper()
	lt, err := verifier.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	var claims map[string]any
	if err := lt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	events, _ := claims["events"].(map[string]any)
	if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Errorf("events = %v", claims["events"])
	}
	if claims["sid"] != sess.sid || lt.Subject != sess.id.Subject || claims["nonce"] != nil || claims["jti"] == nil {
		t.Errorf("logout token claims = %v, ID token sid %s sub %s", claims, sess.sid, sess.id.Subject)
	}
	hdr := strings.SplitN(token, ".", 2)[0]
	if raw, _ := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256}); raw == nil ||
		raw.Signatures[0].Header.ExtraHeaders["typ"] != "logout+jwt" {
		t.Errorf("logout token header %s: want typ logout+jwt", hdr)
	}
}

// The admin replaces a provider's signing key through the API: new tokens
// are signed with the new key, an ID token signed with the old key still
// verifies with go-oidc (a fresh RP that fetches the JWKS now) and is
// still accepted as id_token_hint; RP-initiated logout sends the client's
// back-channel logout endpoint a logout token for the session.
func TestOIDCKeyRotationAndBackchannelLogout(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword,
		// Back-channel logout tokens are queue tasks: a worker must run.
		"GATEHOUSE_WORKER__EMBEDDED": "true"}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		rp := newBackchannelRP(t)
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidcRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
		b := newBrowserless(t, s)
		old := codeLogin(t, b, cfg, provider.Verifier(&oidc.Config{ClientID: oidcClientID}), true)
		if got := jwksKIDs(t, o.issuer); !slices.Equal(got, []string{old.kid}) {
			t.Fatalf("JWKS before = %v, want [%s]", got, old.kid)
		}

		kp := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "oidc-signing-2", "validity_days": 30})
		newKID := strings.ReplaceAll(kp["fingerprint_sha256"].(string), ":", "")
		patched := time.Now()
		s.must(200, "PATCH", fmt.Sprintf("/providers/oauth2/%d/", o.providerPK), map[string]any{"signing_key": kp["pk"],
			"logout_uri": rp.srv.URL + "/backchannel", "logout_method": "backchannel"})

		// Within the configuration cache's lifetime the change applies.
		var fresh rpSession
		for deadline := time.Now().Add(10 * time.Second); ; {
			fresh = codeLogin(t, b, cfg, provider.Verifier(&oidc.Config{ClientID: oidcClientID}), false)
			if fresh.kid == newKID || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if fresh.kid != newKID {
			t.Fatalf("tokens are still signed with %s, want %s", fresh.kid, newKID)
		}
		time.Sleep(time.Until(patched.Add(2500 * time.Millisecond))) // every cached configuration has expired
		if got, want := jwksKIDs(t, o.issuer), slices.Sorted(slices.Values([]string{old.kid, newKID})); !slices.Equal(got, want) {
			t.Errorf("JWKS after the change = %v, want %v", got, want)
		}

		// A relying party that starts now verifies both tokens.
		rp2, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatal(err)
		}
		verifier := rp2.Verifier(&oidc.Config{ClientID: oidcClientID})
		for _, tok := range []string{old.rawID, fresh.rawID} {
			if _, err := verifier.Verify(ctx, tok); err != nil {
				t.Errorf("verifying %s after the key change: %v", jwsKID(t, tok), err)
			}
		}

		// RP-initiated logout with the old-key ID token as hint.
		end := o.issuer + "end-session/?" + url.Values{"id_token_hint": {old.rawID}, "post_logout_redirect_uri": {oidcLogout}}.Encode()
		if code, loc, body := b.get(end); code != http.StatusFound || loc != oidcLogout {
			t.Fatalf("end-session: %d %q %s", code, loc, body)
		}
		checkLogoutToken(t, verifier, rp.next(t), old)
	})
}

// Logging out of Gatehouse (the invalidation flow's user_logout stage)
// sends every back-channel client of the session its logout token.
func TestOIDCBackchannelLogoutOnSessionEnd(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword,
		// Back-channel logout tokens are queue tasks: a worker must run.
		"GATEHOUSE_WORKER__EMBEDDED": "true"}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		rp := newBackchannelRP(t)
		s.must(200, "PATCH", fmt.Sprintf("/providers/oauth2/%d/", o.providerPK), map[string]any{
			"logout_uri": rp.srv.URL + "/backchannel", "logout_method": "backchannel"})
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidcRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
		verifier := provider.Verifier(&oidc.Config{ClientID: oidcClientID})
		b := newBrowserless(t, s)
		sess := codeLogin(t, b, cfg, verifier, true)

		if ch := b.flow.exec("GET", "default-invalidation-flow", nil); component(ch) != "xak-flow-redirect" {
			t.Fatalf("logout = %v", ch)
		}
		checkLogoutToken(t, verifier, rp.next(t), sess)
		select {
		case tok := <-rp.tokens:
			t.Errorf("a second logout token: %s", tok)
		case <-time.After(time.Second):
		}

		// A user deleted through the API: their sessions go, and the
		// relying parties of those sessions hear.
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "leaver", "name": "Leaver"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "leaver-pass-1"})
		b = newBrowserless(t, s)
		b.username, b.password = "leaver", "leaver-pass-1"
		sess = codeLogin(t, b, cfg, verifier, true)
		s.must(204, "DELETE", fmt.Sprintf("/core/users/%v/", u["pk"]), nil)
		checkLogoutToken(t, verifier, rp.next(t), sess)

		// A session that expires: clean_expired_models tells its relying
		// parties before it deletes the session and its grants.
		login := s.stageByName("default-authentication-login")
		s.must(200, "PATCH", "/stages/user_login/"+login+"/", map[string]any{
			"settings": map[string]any{"session_duration": "seconds=2"}})
		b = newBrowserless(t, s) // akadmin again: consent remembered
		sess = codeLogin(t, b, cfg, verifier, false)
		var clean string
		for _, sc := range results(s.must(200, "GET", "/tasks/schedules/?search=clean_expired_models", nil)) {
			if sc["identifier"] == "clean_expired_models" {
				clean = sc["id"].(string)
			}
		}
		if clean == "" {
			t.Fatal("no clean_expired_models schedule")
		}
		select {
		case tok := <-rp.tokens:
			t.Fatalf("a logout token before the session expired: %s", tok)
		case <-time.After(2500 * time.Millisecond): // the session expires
		}
		s.must(204, "POST", "/tasks/schedules/"+clean+"/send/", nil)
		checkLogoutToken(t, verifier, rp.next(t), sess)
	})
}
