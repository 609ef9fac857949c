package oauth2

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// roClaims are a request object's claims for the harness client: the
// whole authorization request, with state "ro-state".
func roClaims(now time.Time) map[string]any {
	return map[string]any{"iss": hClientID, "aud": "http://example.com/application/o/app/", "client_id": hClientID,
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": "ro-1",
		"response_type": "code", "redirect_uri": hRedirect, "scope": fzScope, "state": "ro-state", "nonce": "ro-nonce",
		"code_challenge": pkceS256(fzVerifier), "code_challenge_method": "S256", "max_age": 3600,
		"claims": map[string]any{"id_token": map[string]any{"email": nil}}}
}

// Signed request objects (OIDC Core §6.1, RFC 9101) carry the request: the
// query's other parameters are not used. HS256 with the client secret and
// ES256 with a registered key verify; unsigned, badly signed, or for
// another client or audience, or expired, are refused with an error page
// and nothing written.
func TestRequestObject(t *testing.T) {
	h := newHarness(t)
	cookie, _ := aliceSession(t, h)
	now := time.Now()
	es := newDPoPKey(t, jose.ES256)
	h.jwtAuthSetJWKS(jwksOf(t, jose.JSONWebKey{Key: es.priv.Public(), KeyID: "es", Use: "sig"}))

	query := func(ro string) url.Values {
		// state and redirect_uri here are an attacker's: the object's win.
		return url.Values{"client_id": {hClientID}, "response_type": {"code"}, "request": {ro},
			"state": {"injected"}, "redirect_uri": {"https://evil.example/cb"}}
	}
	for name, ro := range map[string]string{
		"HS256":               secretJWT(map[string]any{"alg": "HS256", "typ": "oauth-authz-req+jwt"}, roClaims(now), hSecret),
		"ES256":               keyJWT(t, es, "es", roClaims(now)),
		"no iss, aud, or exp": secretJWT(nil, map[string]any{"response_type": "code", "redirect_uri": hRedirect, "scope": fzScope, "state": "ro-state", "nonce": "n", "code_challenge": pkceS256(fzVerifier), "code_challenge_method": "S256"}, hSecret),
	} {
		t.Run(name, func(t *testing.T) {
			u := authorizeThroughFlow(t, h, query(ro), cookie)
			if u.Scheme+"://"+u.Host+u.Path != hRedirect || u.Query().Get("state") != "ro-state" || u.Query().Get("code") == "" {
				t.Errorf("callback = %s", u)
			}
		})
	}

	bad := func(mut func(c map[string]any)) string {
		c := roClaims(now)
		mut(c)
		return secretJWT(nil, c, hSecret)
	}
	for _, tc := range []struct{ name, ro, want string }{
		{"unsigned", compactJWS(map[string]any{"alg": "none"}, roClaims(now), nil), "signed with one of"},
		{"wrong secret", secretJWT(nil, roClaims(now), strings.Repeat("x", 40)), "does not verify"},
		{"unregistered key", keyJWT(t, newDPoPKey(t, jose.ES256), "", roClaims(now)), "does not verify"},
		{"another client's iss", bad(func(c map[string]any) { c["iss"] = "other" }), "iss"},
		{"another client_id", bad(func(c map[string]any) { c["client_id"] = "other" }), "client_id"},
		{"another audience", bad(func(c map[string]any) { c["aud"] = "https://other.example/" }), "aud"},
		{"expired", bad(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), "expired"},
		{"exp not a number", bad(func(c map[string]any) { c["exp"] = "tomorrow" }), "exp"},
		{"nested request", bad(func(c map[string]any) { c["request"] = "x" }), "request"},
		{"access token typ", secretJWT(map[string]any{"alg": "HS256", "typ": "at+jwt"}, roClaims(now), hSecret), "typ"},
		{"encrypted", "a.b.c.d.e", "Encrypted"},
		{"garbage", "not-a-jwt", "signed with one of"},
		{"too long", strings.Repeat("a", maxRequestObjectBytes+1), "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, h.st)
			w := getAuthorize(h, query(tc.ro), cookie)
			if d := before.diff(snapshot(t, h.st)); d != "" {
				t.Errorf("store changed:\n%s", d)
			}
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("= %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
			}
		})
	}

	// A request object pushed to the PAR endpoint (RFC 9126 §3).
	w := h.do(http.MethodPost, Prefix+"/par/", url.Values{"client_id": {hClientID}, "client_secret": {hSecret},
		"request": {keyJWT(t, es, "es", roClaims(now))}})
	var par map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &par); w.Code != http.StatusCreated || err != nil {
		t.Fatalf("PAR = %d %s", w.Code, w.Body)
	}
	u := authorizeThroughFlow(t, h, url.Values{"client_id": {hClientID}, "request_uri": {par["request_uri"].(string)}}, cookie)
	if u.Query().Get("state") != "ro-state" || u.Query().Get("code") == "" {
		t.Errorf("callback after PAR = %s", u)
	}
	w = h.do(http.MethodPost, Prefix+"/par/", url.Values{"client_id": {hClientID}, "client_secret": {hSecret},
		"request": {bad(func(c map[string]any) { c["aud"] = "https://other.example/" })}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_request_object") {
		t.Errorf("PAR with a bad request object = %d %s", w.Code, w.Body)
	}
}
