package oauth2

// Token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §5, §6; RFC 7636 §4.6):
// client authentication, the code exchange and its replay, refresh
// rotation, client_credentials and app passwords, and the response's
// headers.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// postForm posts form to path with an optional Authorization header.
func postForm(h *harness, path string, form url.Values, authz string, hdr ...string) *httptest.ResponseRecorder {
	if authz != "" {
		hdr = append(hdr, "Authorization", authz)
	}
	return h.do(http.MethodPost, path, form, hdr...)
}

// jsonBody decodes a JSON object response.
func jsonBody(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("status %d, body is not a JSON object: %v: %q", w.Code, err, w.Body)
	}
	return out
}

// tokenCall posts form to the token endpoint and decodes the answer.
func tokenCall(t *testing.T, h *harness, form url.Values, authz string) (int, map[string]any) {
	t.Helper()
	w := postForm(h, Prefix+"/token/", form, authz)
	return w.Code, jsonBody(t, w)
}

var harnessBasic = basicAuth(hClientID, hSecret)

// storeCode stores a code of alice's for provider p (as fulfil does), with
// data (redirect_uri, code_challenge) and the given lifetime.
func storeCode(t *testing.T, h *harness, p *store.OAuth2Provider, scope string, data store.Attributes, ttl time.Duration) (string, *store.OAuth2Grant) {
	t.Helper()
	now := time.Now().UTC()
	code := newOpaque()
	g := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: h.user.PK, Scope: scope, Nonce: "n-1", AMR: []string{"pwd"},
		AuthTime: now, Created: now}
	if err := h.st.CreateOAuth2Grant(context.Background(), g, &store.OAuth2Token{Hash: hashToken(code), Kind: store.OAuth2Code,
		Expires: now.Add(ttl), Created: now, Data: data}); err != nil {
		t.Fatal(err)
	}
	return code, g
}

// pkceData is a code's data for a request with redirect_uri hRedirect and
// the S256 challenge of fzVerifier.
func pkceData() store.Attributes {
	return store.Attributes{"redirect_uri": hRedirect, "code_challenge": pkceS256(fzVerifier), "code_challenge_method": "S256"}
}

func codeForm(code string, kv ...string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {hRedirect}, "code_verifier": {fzVerifier}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

func wantOAuthError(t *testing.T, status int, out map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || out["error"] != wantCode {
		t.Errorf("= %d %v, want %d %s", status, out, wantStatus, wantCode)
	}
}

// A failed exchange is invalid_grant (RFC 6749 §5.2) and leaves the code
// as it was.
func TestCodeExchangeErrors(t *testing.T) {
	h := newHarness(t)
	other := addClient(t, h, &store.OAuth2Provider{ClientID: "other", ClientSecret: "other-secret", SigningKey: h.p.SigningKey,
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: hRedirect}}}, "other")
	noPKCE := store.Attributes{"redirect_uri": hRedirect, "code_challenge": "", "code_challenge_method": ""}
	h.grant(fzScope, map[string]string{"an-access-token": store.OAuth2Access, "a-refresh-token": store.OAuth2Refresh}, nil)
	for _, tc := range []struct {
		name   string
		data   store.Attributes
		ttl    time.Duration
		form   func(code string) url.Values
		authz  string
		status int
		err    string
	}{
		{"wrong redirect_uri", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "redirect_uri", "https://abc.rp.example/cb")
		}, harnessBasic, 400, "invalid_grant"},
		{"redirect_uri with a trailing slash", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "redirect_uri", hRedirect+"/")
		}, harnessBasic, 400, "invalid_grant"},
		{"redirect_uri missing", pkceData(), time.Minute, func(c string) url.Values { return codeForm(c, "redirect_uri", "") },
			harnessBasic, 400, "invalid_grant"},
		{"PKCE mismatch", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "code_verifier", strings.Repeat("v", 43))
		}, harnessBasic, 400, "invalid_grant"},
		{"PKCE verifier is the challenge", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "code_verifier", pkceS256(fzVerifier))
		}, harnessBasic, 400, "invalid_grant"},
		{"PKCE verifier missing", pkceData(), time.Minute, func(c string) url.Values { return codeForm(c, "code_verifier", "") },
			harnessBasic, 400, "invalid_grant"},
		{"PKCE verifier too short", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "code_verifier", fzVerifier[:42])
		}, harnessBasic, 400, "invalid_grant"},
		{"verifier without challenge", noPKCE, time.Minute, func(c string) url.Values { return codeForm(c) }, harnessBasic, 400, "invalid_grant"},
		{"expired code", pkceData(), -time.Second, func(c string) url.Values { return codeForm(c) }, harnessBasic, 400, "invalid_grant"},
		{"code of another client", pkceData(), time.Minute, func(c string) url.Values { return codeForm(c) },
			basicAuth("other", "other-secret"), 400, "invalid_grant"},
		{"unknown code", pkceData(), time.Minute, func(string) url.Values { return codeForm("no-such-code") }, harnessBasic, 400, "invalid_grant"},
		{"access token as code", pkceData(), time.Minute, func(string) url.Values { return codeForm("an-access-token") },
			harnessBasic, 400, "invalid_grant"},
		{"refresh token as code", pkceData(), time.Minute, func(string) url.Values { return codeForm("a-refresh-token") },
			harnessBasic, 400, "invalid_grant"},
		{"code missing", pkceData(), time.Minute, func(string) url.Values { return codeForm("") }, harnessBasic, 400, "invalid_request"},
		{"confidential client without its secret", pkceData(), time.Minute, func(c string) url.Values {
			return codeForm(c, "client_id", hClientID)
		}, "", 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := storeCode(t, h, h.p, fzScope, tc.data, tc.ttl)
			before := snapshot(t, h.st)
			status, out := tokenCall(t, h, tc.form(code), tc.authz)
			wantOAuthError(t, status, out, tc.status, tc.err)
			if d := before.diff(snapshot(t, h.st)); d != "" {
				t.Errorf("store changed:\n%s", d)
			}
		})
	}
	// The other client's code is still good for it.
	code, _ := storeCode(t, h, other, "openid", pkceData(), time.Minute)
	if status, out := tokenCall(t, h, codeForm(code), harnessBasic); status != 400 {
		t.Errorf("another client's code = %d %v", status, out)
	}
	if status, out := tokenCall(t, h, codeForm(code), basicAuth("other", "other-secret")); status != 200 {
		t.Errorf("the code by its client after the attempt = %d %v", status, out)
	}
}

// RFC 6749 §4.1.2: a code used twice is refused, and the tokens issued
// with it are revoked.
func TestCodeReplayRevokesGrant(t *testing.T) {
	h := newHarness(t)
	code, g := storeCode(t, h, h.p, fzScope, pkceData(), time.Minute)
	status, first := tokenCall(t, h, codeForm(code), harnessBasic)
	if status != 200 {
		t.Fatalf("exchange = %d %v", status, first)
	}
	status, out := tokenCall(t, h, codeForm(code), harnessBasic)
	wantOAuthError(t, status, out, 400, "invalid_grant")
	access, refresh := first["access_token"].(string), first["refresh_token"].(string)
	if _, gr, err := h.st.OAuth2TokenByHash(context.Background(), hashToken(access)); err != nil || !gr.Revoked || gr.UUID != g.UUID {
		t.Errorf("grant after the replay: %+v %v", gr, err)
	}
	if w := h.do(http.MethodGet, Prefix+"/userinfo/", nil, "Authorization", "Bearer "+access); w.Code != http.StatusUnauthorized {
		t.Errorf("userinfo with the first access token = %d", w.Code)
	}
	status, out = tokenCall(t, h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, harnessBasic)
	wantOAuthError(t, status, out, 400, "invalid_grant")
}

// BUG: the authorization endpoint lets the client leave out redirect_uri
// when one URI is registered (RFC 6749 §3.1.2.3) and keeps the default in
// the code, and then the token endpoint demands that very redirect_uri.
// RFC 6749 §4.1.3: redirect_uri is "REQUIRED, if the redirect_uri
// parameter was included in the authorization request"; a client that did
// not send it there need not send it here. Observed: 400 invalid_grant
// "redirect_uri does not match the authorization request."
func TestCodeExchangeRedirectURIOmitted(t *testing.T) {
	h := newHarness(t)
	cookie, _ := aliceSession(t, h)
	w := getAuthorize(h, authzQuery("redirect_uri", "", "prompt", "none"), cookie)
	_, q, _ := redirectParams(t, w.Header().Get("Location"))
	if q.Get("code") == "" {
		t.Fatalf("authorize = %d %q", w.Code, w.Header().Get("Location"))
	}
	status, out := tokenCall(t, h, codeForm(q.Get("code"), "redirect_uri", ""), harnessBasic)
	if status != 200 {
		t.Errorf("exchange without redirect_uri, which the authorization request did not have either = %d %v", status, out)
	}
}

// refreshGrant stores a grant with a refresh token expiring in ttl.
func refreshGrant(t *testing.T, h *harness, scope string, ttl time.Duration) (string, *store.OAuth2Grant) {
	t.Helper()
	now := time.Now().UTC()
	rt := newOpaque()
	g := &store.OAuth2Grant{ProviderPK: h.p.ProviderPK, UserPK: h.user.PK, Scope: scope, AMR: []string{"pwd"}, AuthTime: now, Created: now}
	if err := h.st.CreateOAuth2Grant(context.Background(), g, &store.OAuth2Token{Hash: hashToken(rt), Kind: store.OAuth2Refresh,
		Expires: now.Add(ttl), Created: now}); err != nil {
		t.Fatal(err)
	}
	return rt, g
}

func refreshForm(rt string, kv ...string) url.Values {
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// RFC 6749 §6 with rotation (RFC 9700 §4.14.2): each refresh token once;
// one presented again revokes the whole family.
func TestRefreshRotationAndReuse(t *testing.T) {
	h := newHarness(t)
	rt, g := refreshGrant(t, h, fzScope, 24*time.Hour)
	status, out := tokenCall(t, h, refreshForm(rt), harnessBasic)
	next, _ := out["refresh_token"].(string)
	if status != 200 || next == "" || next == rt || out["scope"] != fzScope || out["id_token"] == nil {
		t.Fatalf("refresh = %d %v", status, out)
	}
	access := out["access_token"].(string)
	status, out = tokenCall(t, h, refreshForm(rt), harnessBasic)
	wantOAuthError(t, status, out, 400, "invalid_grant")
	for name, tok := range map[string]string{"rotated refresh token": next, "access token": access} {
		if _, gr, err := h.st.OAuth2TokenByHash(context.Background(), hashToken(tok)); err != nil || !gr.Revoked || gr.UUID != g.UUID {
			t.Errorf("%s after the reuse: grant %+v %v", name, gr, err)
		}
	}
	status, out = tokenCall(t, h, refreshForm(next), harnessBasic)
	wantOAuthError(t, status, out, 400, "invalid_grant")
}

func TestRefreshErrors(t *testing.T) {
	h := newHarness(t)
	addClient(t, h, &store.OAuth2Provider{ClientID: "other", ClientSecret: "other-secret"}, "other")
	h.grant(fzScope, map[string]string{"an-access-token": store.OAuth2Access}, nil)
	revoked, rg := refreshGrant(t, h, fzScope, time.Hour)
	if err := h.st.RevokeOAuth2Grant(context.Background(), rg.UUID); err != nil {
		t.Fatal(err)
	}
	expired, _ := refreshGrant(t, h, fzScope, -time.Second)
	for _, tc := range []struct {
		name   string
		form   func(rt string) url.Values
		authz  string
		status int
		err    string
	}{
		{"scope widened", func(rt string) url.Values { return refreshForm(rt, "scope", "openid admin") }, harnessBasic, 400, "invalid_scope"},
		{"scope widened to a known scope", func(rt string) url.Values { return refreshForm(rt, "scope", "openid profile") }, harnessBasic,
			400, "invalid_scope"},
		{"another client", func(rt string) url.Values { return refreshForm(rt) }, basicAuth("other", "other-secret"), 400, "invalid_grant"},
		{"revoked grant", func(string) url.Values { return refreshForm(revoked) }, harnessBasic, 400, "invalid_grant"},
		{"expired", func(string) url.Values { return refreshForm(expired) }, harnessBasic, 400, "invalid_grant"},
		{"access token", func(string) url.Values { return refreshForm("an-access-token") }, harnessBasic, 400, "invalid_grant"},
		{"missing", func(string) url.Values { return refreshForm("") }, harnessBasic, 400, "invalid_request"},
		{"without the client secret", func(rt string) url.Values { return refreshForm(rt, "client_id", hClientID) }, "", 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := refreshGrant(t, h, "openid email", time.Hour)
			before := snapshot(t, h.st)
			status, out := tokenCall(t, h, tc.form(rt), tc.authz)
			wantOAuthError(t, status, out, tc.status, tc.err)
			if d := before.diff(snapshot(t, h.st)); d != "" {
				t.Errorf("store changed:\n%s", d)
			}
			// The refresh token is still good.
			if status, out := tokenCall(t, h, refreshForm(rt), harnessBasic); status != 200 {
				t.Errorf("refresh after the failed attempt = %d %v", status, out)
			}
		})
	}
}

// RFC 6749 §6: a narrower scope may be asked for; the tokens carry it.
func TestRefreshNarrowsScope(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		scope  string
		withID bool
	}{{"openid", true}, {"email", false}, {"email openid", true}} {
		t.Run(tc.scope, func(t *testing.T) {
			rt, _ := refreshGrant(t, h, fzScope, time.Hour)
			status, out := tokenCall(t, h, refreshForm(rt, "scope", tc.scope), harnessBasic)
			if status != 200 || out["scope"] != tc.scope || (out["id_token"] != nil) != tc.withID {
				t.Fatalf("= %d %v", status, out)
			}
			if at := verifyJWT(t, h, out["access_token"].(string), "at+jwt"); at["scope"] != tc.scope {
				t.Errorf("access token scope = %v", at["scope"])
			}
		})
	}
}

// refresh_token_threshold: a refresh token with more than the threshold
// left is kept (and stays usable); one closer to its expiry is rotated.
func TestRefreshThreshold(t *testing.T) {
	h := newHarness(t)
	h.p.RefreshTokenThreshold = "days=1"
	if err := h.st.UpdateOAuth2Provider(context.Background(), h.p); err != nil {
		t.Fatal(err)
	}
	rt, _ := refreshGrant(t, h, fzScope, 30*24*time.Hour)
	for i := range 2 {
		status, out := tokenCall(t, h, refreshForm(rt), harnessBasic)
		if status != 200 || out["refresh_token"] != rt || out["access_token"] == nil {
			t.Fatalf("refresh %d = %d %v, want the same refresh token back", i+1, status, out)
		}
	}
	soon, _ := refreshGrant(t, h, fzScope, time.Hour)
	status, out := tokenCall(t, h, refreshForm(soon), harnessBasic)
	if status != 200 || out["refresh_token"] == soon || out["refresh_token"] == nil {
		t.Fatalf("refresh near expiry = %d %v, want a new refresh token", status, out)
	}
	status, out = tokenCall(t, h, refreshForm(soon), harnessBasic)
	wantOAuthError(t, status, out, 400, "invalid_grant")
}

// Client authentication (RFC 6749 §2.3.1): client_secret_basic with both
// parts form-urlencoded, or client_secret_post; a failure is 401 with
// WWW-Authenticate (§5.2).
func TestClientAuthentication(t *testing.T) {
	h := newHarness(t)
	oddID, oddSecret := "odd client:id+%", "s3cr:et+with/=%"
	addClient(t, h, &store.OAuth2Provider{ClientID: oddID, ClientSecret: oddSecret, SigningKey: h.p.SigningKey}, "odd")
	addClient(t, h, &store.OAuth2Provider{ClientID: "public", ClientType: "public", SigningKey: h.p.SigningKey,
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: hRedirect}}}, "public")
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	rawBasic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		authz  string
		status int
		err    string
	}{
		{"basic", cc, harnessBasic, 200, ""},
		{"basic, url-encoded special characters", cc, basicAuth(oddID, oddSecret), 200, ""},
		{"basic, special characters not encoded", cc, rawBasic(oddID, oddSecret), 401, "invalid_client"},
		{"basic, scheme in lower case", cc, strings.Replace(harnessBasic, "Basic", "basic", 1), 200, ""},
		{"post", with("client_id", hClientID, "client_secret", hSecret), "", 200, ""},
		{"post, special characters", with("client_id", oddID, "client_secret", oddSecret), "", 200, ""},
		{"basic and post, same client", with("client_id", hClientID), harnessBasic, 200, ""},
		{"basic and post, other client_id", with("client_id", oddID), harnessBasic, 400, "invalid_request"},
		{"basic, wrong secret", cc, basicAuth(hClientID, "wrong"), 401, "invalid_client"},
		{"basic, secret of another client", cc, basicAuth(hClientID, oddSecret), 401, "invalid_client"},
		{"basic, empty secret", cc, basicAuth(hClientID, ""), 401, "invalid_client"},
		{"basic, malformed escape", cc, rawBasic(hClientID, "%zz"), 401, "invalid_client"},
		{"basic, unknown client", cc, basicAuth("nope", "x"), 401, "invalid_client"},
		{"post, wrong secret", with("client_id", hClientID, "client_secret", "wrong"), "", 401, "invalid_client"},
		{"post, secret with a different case", with("client_id", hClientID, "client_secret", strings.ToUpper(hSecret)), "", 401, "invalid_client"},
		{"no authentication", cc, "", 401, "invalid_client"},
		{"client_id only", with("client_id", hClientID), "", 401, "invalid_client"},
		{"bearer instead of basic", cc, "Bearer " + hSecret, 401, "invalid_client"},
		{"public client, client_credentials", with("client_id", "public"), "", 400, "unauthorized_client"},
		{"public client with a secret, client_credentials", with("client_id", "public", "client_secret", "x"), "", 400, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := postForm(h, Prefix+"/token/", tc.form, tc.authz)
			out := jsonBody(t, w)
			if tc.status == 200 {
				if w.Code != 200 || out["access_token"] == nil {
					t.Errorf("= %d %v", w.Code, out)
				}
				return
			}
			wantOAuthError(t, w.Code, out, tc.status, tc.err)
			if wa := w.Header().Get("WWW-Authenticate"); (w.Code == 401) != strings.HasPrefix(wa, "Basic") {
				t.Errorf("status %d with WWW-Authenticate %q", w.Code, wa)
			}
		})
	}
	// A public client redeems its code with PKCE and no secret.
	pub, err := h.st.OAuth2ProviderByClientID(context.Background(), "public")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := storeCode(t, h, pub, "openid", pkceData(), time.Minute)
	if status, out := tokenCall(t, h, codeForm(code, "client_id", "public"), ""); status != 200 || out["id_token"] == nil {
		t.Errorf("public client's code exchange = %d %v", status, out)
	}
}

// client_credentials acts as the client's own service account, made once
// (authentik's "ak-<provider>-client_credentials").
func TestClientCredentialsServiceAccount(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid profile nosuch"}}
	var subs []any
	for i := range 3 {
		if i == 2 {
			h.s.cache = configCache{} // a server that has not seen the account yet
		}
		status, out := tokenCall(t, h, form, harnessBasic)
		if status != 200 || out["scope"] != "openid profile" || out["refresh_token"] != nil || out["id_token"] == nil {
			t.Fatalf("call %d = %d %v", i+1, status, out)
		}
		subs = append(subs, verifyJWT(t, h, out["access_token"].(string), "at+jwt")["sub"])
	}
	users, n, err := h.st.ListUsers(ctx, store.UserFilter{Username: "ak-harness-client_credentials"})
	if err != nil || n != 1 {
		t.Fatalf("service accounts = %d %v", n, err)
	}
	u := users[0]
	if u.Type != store.UserServiceAccount || u.Path != "goauthentik.io/apps/app" || !u.IsActive {
		t.Errorf("service account = %+v", u)
	}
	if want := h.s.subject(h.p, u); subs[0] != want || subs[1] != want || subs[2] != want {
		t.Errorf("subjects = %v, want %s", subs, want)
	}
}

// BUG: a provider without a signing key signs HS256 with its client secret
// (authentik's behaviour), and go-jose refuses HMAC keys shorter than the
// hash (32 bytes for HS256): with a shorter secret, which the admin API
// accepts, every token request is a 500 server_error ("invalid key size
// for algorithm"). authentik serves such a provider; Gatehouse should too,
// A provider without a signing key signs with HS256 keyed by its client
// secret, which RFC 7518 §3.2 wants at least 256 bits long: a shorter
// secret (the admin API refuses it) gets a clear OAuth error, not a 500.
func TestHS256ShortClientSecret(t *testing.T) {
	h := newHarness(t)
	addClient(t, h, &store.OAuth2Provider{ClientID: "short", ClientSecret: "short-secret"}, "short")
	status, out := tokenCall(t, h, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, basicAuth("short", "short-secret"))
	if status != 400 || out["error"] != "unauthorized_client" || !strings.Contains(fmt.Sprint(out["error_description"]), "signing key") {
		t.Errorf("client_credentials of a provider with a 12-byte secret and no key = %d %v", status, out)
	}
}

// BUG: client_credentials creates the service account before it checks
// that the provider has an application, and before the application's
// policies are evaluated, so a refused request leaves a new user
// "ak-<provider>-client_credentials" behind: a provider without an
// application answers 401 invalid_client, an application whose policy
// denies the account 400 invalid_grant, and the user exists afterwards. A
// rejected request must not write to the store.
func TestClientCredentialsRejectedWritesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.st.CreateOAuth2Provider(ctx, &store.OAuth2Provider{Provider: &store.Provider{Name: "noapp"},
		ClientID: "noapp", ClientSecret: "noapp-secret"}); err != nil {
		t.Fatal(err)
	}
	denied := addClient(t, h, &store.OAuth2Provider{ClientID: "denied", ClientSecret: "denied-secret", SigningKey: h.p.SigningKey}, "denied")
	app, err := h.st.ApplicationByProvider(ctx, denied.ProviderPK)
	if err != nil {
		t.Fatal(err)
	}
	// Only alice may use "denied".
	if err := h.st.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: app.UUID, UserPK: &h.user.PK, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, client, secret string
		status               int
		err                  string
	}{
		{"provider without application", "noapp", "noapp-secret", 401, "invalid_client"},
		{"policy denies the service account", "denied", "denied-secret", 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, h.st)
			status, out := tokenCall(t, h, url.Values{"grant_type": {"client_credentials"}}, basicAuth(tc.client, tc.secret))
			wantOAuthError(t, status, out, tc.status, tc.err)
			if d := before.diff(snapshot(t, h.st)); d != "" {
				t.Errorf("the refused request changed the store:\n%s", d)
			}
		})
	}
}

// The password grant and client_credentials with username and app
// password act as that user (authentik's machine-to-machine login), also
// with the secret base64("username:app password").
func TestAppPasswordGrant(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	bob := &store.User{Username: "bob", Name: "Bob", IsActive: true, Type: store.UserInternal, Path: "users",
		Attributes: store.Attributes{}, DateJoined: time.Now(), LastUpdated: time.Now()}
	inactive := &store.User{Username: "carol", Name: "Carol", IsActive: false, Type: store.UserInternal, Path: "users",
		Attributes: store.Attributes{}, DateJoined: time.Now(), LastUpdated: time.Now()}
	for _, u := range []*store.User{bob, inactive} {
		if err := h.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	keys := map[string]string{}
	for _, tk := range []struct {
		id     string
		user   int64
		intent store.TokenIntent
		exp    *time.Time
	}{
		{"alice-app", h.user.PK, store.IntentAppPassword, nil},
		{"alice-api", h.user.PK, store.IntentAPI, nil},
		{"alice-old", h.user.PK, store.IntentAppPassword, &past},
		{"bob-app", bob.PK, store.IntentAppPassword, nil},
		{"carol-app", inactive.PK, store.IntentAppPassword, nil},
	} {
		keys[tk.id] = core.NewTokenKey()
		if err := h.st.CreateToken(ctx, &store.Token{Identifier: tk.id, KeyHash: core.HashTokenKey(keys[tk.id]), Intent: tk.intent,
			UserPK: tk.user, Expiring: tk.exp != nil, Expires: tk.exp, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	creds := func(grant, user, pass string) url.Values {
		return url.Values{"grant_type": {grant}, "username": {user}, "password": {pass}, "scope": {"openid"}}
	}
	secretStyle := url.Values{"grant_type": {"client_credentials"}, "client_id": {hClientID},
		"client_secret": {base64.StdEncoding.EncodeToString([]byte("alice:" + keys["alice-app"]))}}
	aliceSub := h.s.subject(h.p, h.user)
	for _, tc := range []struct {
		name  string
		form  url.Values
		authz string
		ok    bool
	}{
		{"password grant", creds("password", "alice", keys["alice-app"]), harnessBasic, true},
		{"client_credentials with username", creds("client_credentials", "alice", keys["alice-app"]), harnessBasic, true},
		{"secret base64(username:app password)", secretStyle, "", true},
		{"wrong password", creds("password", "alice", "wrong"), harnessBasic, false},
		{"empty password", creds("password", "alice", ""), harnessBasic, false},
		{"API token as password", creds("password", "alice", keys["alice-api"]), harnessBasic, false},
		{"expired app password", creds("password", "alice", keys["alice-old"]), harnessBasic, false},
		{"another user's app password", creds("password", "alice", keys["bob-app"]), harnessBasic, false},
		{"inactive user", creds("password", "carol", keys["carol-app"]), harnessBasic, false},
		{"unknown user", creds("password", "mallory", keys["alice-app"]), harnessBasic, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, h.st)
			status, out := tokenCall(t, h, tc.form, tc.authz)
			if !tc.ok {
				wantOAuthError(t, status, out, 400, "invalid_grant")
				if d := before.diff(snapshot(t, h.st)); d != "" {
					t.Errorf("store changed:\n%s", d)
				}
				return
			}
			if status != 200 {
				t.Fatalf("= %d %v", status, out)
			}
			if sub := verifyJWT(t, h, out["access_token"].(string), "at+jwt")["sub"]; sub != aliceSub {
				t.Errorf("sub = %v, want alice's %s", sub, aliceSub)
			}
		})
	}
}

// RFC 6749 §5.1: token responses, errors included, are not cached.
func TestTokenResponseHeaders(t *testing.T) {
	h := newHarness(t)
	for name, w := range map[string]*httptest.ResponseRecorder{
		"success":      postForm(h, Prefix+"/token/", url.Values{"grant_type": {"client_credentials"}}, harnessBasic),
		"client error": postForm(h, Prefix+"/token/", url.Values{"grant_type": {"client_credentials"}}, ""),
		"grant error":  postForm(h, Prefix+"/token/", refreshForm("nope"), harnessBasic),
	} {
		got := map[string]string{"Content-Type": w.Header().Get("Content-Type"), "Cache-Control": w.Header().Get("Cache-Control"),
			"Pragma": w.Header().Get("Pragma")}
		want := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (%d): headers (-want +got):\n%s", name, w.Code, diff)
		}
	}
}

func TestTokenRequestErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		err    string
	}{
		{"no grant_type", "scope=openid", 400, "invalid_request"},
		{"unknown grant_type", "grant_type=implicit", 400, "unsupported_grant_type"},
		{"jwt-bearer grant", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x", 400, "unsupported_grant_type"},
		{"repeated parameter", "grant_type=client_credentials&scope=openid&scope=email", 400, "invalid_request"},
		{"unreadable body", "grant_type=client_credentials&scope=%zz", 400, "invalid_request"},
		{"semicolon separator", "grant_type=client_credentials;scope=openid", 400, "invalid_request"},
		{"body over 64 KiB", "grant_type=client_credentials&scope=" + strings.Repeat("a", 65<<10), 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serveRaw(h, http.MethodPost, Prefix+"/token/", "", tc.body, http.Header{"Authorization": {harnessBasic}})
			wantOAuthError(t, w.Code, jsonBody(t, w), tc.status, tc.err)
		})
	}
}

// BUG: RFC 6749 §5.2 limits error_description to %x20-21 / %x23-5B /
// %x5D-7E: no double quote, no backslash, nothing outside printable
// ASCII. Descriptions made with %q put quotes (and the client's own
// bytes, escaped with backslashes or not at all) into it: "Parameter
// \"scope\" is repeated." and "Scope \"admin\" was not granted.".
func TestErrorDescriptionCharset(t *testing.T) {
	h := newHarness(t)
	rt, _ := refreshGrant(t, h, fzScope, time.Hour)
	for name, form := range map[string]url.Values{
		"repeated parameter":     {"grant_type": {"client_credentials"}, "scope": {"openid", "email"}},
		"scope widened":          refreshForm(rt, "scope", "admin"),
		"scope widened, unicode": refreshForm(rt, "scope", "adm\u00efn"),
	} {
		t.Run(name, func(t *testing.T) {
			_, out := tokenCall(t, h, form, harnessBasic)
			desc, _ := out["error_description"].(string)
			for _, c := range []byte(desc) {
				if c < 0x20 || c == 0x22 || c == 0x5c || c > 0x7e {
					t.Errorf("error_description %q has %q, outside RFC 6749 §5.2's set", desc, c)
					break
				}
			}
		})
	}
}
