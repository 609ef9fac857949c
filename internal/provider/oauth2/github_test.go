package oauth2

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestGitHubCompat(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {hClientID}, "client_secret": {hSecret}}
	w := h.do("POST", "/login/oauth/access_token", form)
	v, err := url.ParseQuery(w.Body.String())
	if w.Code != 200 || err != nil || v.Get("access_token") == "" || v.Get("token_type") != "bearer" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("form token response: %d %q %v", w.Code, w.Body, err)
	}
	if _, err := json.Marshal(v); err != nil || strings.Contains(v.Get("expires_in"), ".") || v.Get("expires_in") == "" {
		t.Errorf("expires_in = %q", v.Get("expires_in"))
	}
	w = h.do("POST", "/login/oauth/access_token", form, "Accept", "application/json")
	var js map[string]any
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &js) != nil || js["access_token"] == nil {
		t.Fatalf("JSON token response: %d %s", w.Code, w.Body)
	}
	bad := h.do("POST", "/login/oauth/access_token", url.Values{"grant_type": {"client_credentials"}, "client_id": {hClientID},
		"client_secret": {"wrong"}})
	if bv, _ := url.ParseQuery(bad.Body.String()); bad.Code != 401 || bv.Get("error") != "invalid_client" {
		t.Errorf("wrong secret: %d %s", bad.Code, bad.Body)
	}

	h.grant("openid profile", map[string]string{"gh-token": store.OAuth2Access}, nil)
	w = h.do("GET", "/user", nil, "Authorization", "token gh-token")
	var user map[string]any
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &user) != nil || user["login"] != "alice" || user["email"] != "alice@example.com" {
		t.Fatalf("/user: %d %s", w.Code, w.Body)
	}
	if w := h.do("GET", "/user/teams", nil, "Authorization", "Bearer gh-token"); w.Code != 200 || !strings.HasPrefix(w.Body.String(), "[") {
		t.Errorf("/user/teams: %d %s", w.Code, w.Body)
	}
	if w := h.do("GET", "/user", nil, "Authorization", "token nope"); w.Code != 401 {
		t.Errorf("/user with a bad token: %d", w.Code)
	}
	w = h.do("GET", "/login/oauth/authorize?client_id="+hClientID+"&state=x", nil)
	if loc := w.Header().Get("Location"); w.Code != 302 || !strings.Contains(loc, "/application/o/authorize/?") || !strings.Contains(loc, "response_type=code") {
		t.Errorf("github authorize: %d %q", w.Code, loc)
	}
}
