package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	xClientID = "exchange-api"
	xSecret   = "exchange-api-secret-0123456789abcdefghijklmnop"
)

// exchangeClient adds a confidential provider "exchange-api" (application
// "exchange-api", the harness key) with the scope mappings of scopes.
func (h *harness) xchgClient(clientType string, scopes ...string) *store.Application {
	h.t.Helper()
	ctx := context.Background()
	ms, _, err := h.st.ListPropertyMappings(ctx, "scope", store.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var mappings []uuid.UUID
	for _, m := range ms {
		for _, sc := range scopes {
			if scopeName(m) == sc {
				mappings = append(mappings, m.UUID)
			}
		}
	}
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "exchange-api"}, ClientType: clientType, ClientID: xClientID,
		ClientSecret: xSecret, SigningKey: h.p.SigningKey, PropertyMappings: mappings}
	if err := h.st.CreateOAuth2Provider(ctx, p); err != nil {
		h.t.Fatal(err)
	}
	app := &store.Application{Name: "API", Slug: "exchange-api", ProviderPK: &p.ProviderPK, PolicyEngineMode: "any"}
	if err := h.st.CreateApplication(ctx, app); err != nil {
		h.t.Fatal(err)
	}
	return app
}

func exchangeForm(subject string, extra ...string) url.Values {
	f := url.Values{"grant_type": {tokenExchangeGrantType}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccessToken}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			f.Del(extra[i])
		} else {
			f.Set(extra[i], extra[i+1])
		}
	}
	return f
}

// exchange posts an exchange as the exchange-api client (HTTP Basic).
func (h *harness) xchg(form url.Values, hdr ...string) (int, map[string]any) {
	h.t.Helper()
	form.Set("client_id", xClientID)
	form.Set("client_secret", xSecret)
	w := h.do(http.MethodPost, "/application/o/token/", form, hdr...)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		h.t.Fatalf("exchange: %d %s", w.Code, w.Body)
	}
	return w.Code, out
}

// A token of the harness application, for alice, exchanged by another
// confidential client for a token of its own: alice's, with the scopes
// both have.
func TestTokenExchange(t *testing.T) {
	h := newHarness(t)
	h.xchgClient("confidential", "openid", "profile")
	g := h.grant("openid email profile", map[string]string{"subject-at": store.OAuth2Access}, nil)

	code, out := h.xchg(exchangeForm("subject-at", "audience", xClientID))
	if code != http.StatusOK {
		t.Fatalf("exchange = %d %v", code, out)
	}
	if diff := cmp.Diff(map[string]any{"issued_token_type": tokenTypeAccessToken, "token_type": "Bearer", "scope": "openid profile"},
		map[string]any{"issued_token_type": out["issued_token_type"], "token_type": out["token_type"], "scope": out["scope"]}); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if out["refresh_token"] != nil || out["id_token"] != nil {
		t.Errorf("exchange issued more than an access token: %v", out)
	}
	at := out["access_token"].(string)
	claims := jwtClaims(t, at)
	if claims["aud"] != xClientID || claims["sub"] != h.s.subject(h.p, h.user) || claims["preferred_username"] != "alice" {
		t.Errorf("access token claims = %v", claims)
	}
	// The new token is the client's own, for alice, in a new grant.
	w := h.do(http.MethodPost, "/application/o/introspect/", url.Values{"token": {at}, "client_id": {xClientID}, "client_secret": {xSecret}})
	var in map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &in)
	if in["active"] != true || in["username"] != "alice" || in["client_id"] != xClientID {
		t.Errorf("introspection = %v", in)
	}
	_, ng, err := h.st.OAuth2TokenByHash(context.Background(), hashToken(at))
	if err != nil || ng.UUID == g.UUID || ng.UserPK != h.user.PK {
		t.Errorf("grant = %+v %v", ng, err)
	}

	// A narrower scope is granted; a scope the subject token lacks is not.
	if code, out := h.xchg(exchangeForm("subject-at", "scope", "profile")); code != 200 || out["scope"] != "profile" {
		t.Errorf("narrower = %d %v", code, out)
	}
	if code, out := h.xchg(exchangeForm("subject-at", "scope", "openid email")); code != 400 || out["error"] != "invalid_scope" {
		t.Errorf("a scope the client has no mapping for = %d %v", code, out)
	}

	// A bound exchange: the new token is bound to the request's proof.
	k := newDPoPKey(t, jose.ES256)
	code, out = h.xchg(exchangeForm("subject-at"), "DPoP", k.proof(t, http.MethodPost, dpopTokenURL, time.Now()))
	if code != 200 || out["token_type"] != "DPoP" || out["issued_token_type"] != tokenTypeAccessToken {
		t.Fatalf("with DPoP = %d %v", code, out)
	}
	if cnf, _ := jwtClaims(t, out["access_token"].(string))["cnf"].(map[string]any); cnf["jkt"] != k.jkt(t) {
		t.Errorf("cnf = %v", cnf)
	}
}

// The refusals of RFC 8693 §2.2.2.
func TestTokenExchangeRefused(t *testing.T) {
	h := newHarness(t)
	h.xchgClient("confidential", "openid", "profile")
	h.grant("openid profile", map[string]string{"subject-at": store.OAuth2Access, "subject-rt": store.OAuth2Refresh}, nil)
	now := time.Now().UTC()
	revoked := h.grant("openid profile", map[string]string{"revoked-at": store.OAuth2Access}, nil)
	if err := h.st.RevokeOAuth2Grant(context.Background(), revoked.UUID); err != nil {
		t.Fatal(err)
	}
	expired := &store.OAuth2Grant{ProviderPK: h.p.ProviderPK, UserPK: h.user.PK, Scope: "openid", AuthTime: now, Created: now}
	if err := h.st.CreateOAuth2Grant(context.Background(), expired, &store.OAuth2Token{Hash: hashToken("expired-at"), Kind: store.OAuth2Access,
		Expires: now.Add(-time.Second), Created: now}); err != nil {
		t.Fatal(err)
	}
	// A JWT that looks like one of ours but was never issued here.
	foreign := compactJWS(map[string]any{"alg": "ES256", "typ": "at+jwt"}, map[string]any{"iss": hIssuer, "sub": "alice", "aud": hClientID},
		func(in []byte) []byte { return newDPoPKey(t, jose.ES256).sign(t, in) })

	for _, tc := range []struct {
		name string
		form url.Values
		code int
		err  string
		desc string
	}{
		{"actor_token", exchangeForm("subject-at", "actor_token", "subject-at", "actor_token_type", tokenTypeAccessToken), 400, "invalid_request", "Delegation"},
		{"actor_token_type alone", exchangeForm("subject-at", "actor_token_type", tokenTypeAccessToken), 400, "invalid_request", "Delegation"},
		{"foreign subject token", exchangeForm(foreign), 400, "invalid_request", "subject_token"},
		{"refresh token as subject", exchangeForm("subject-rt"), 400, "invalid_request", "subject_token"},
		{"revoked subject token", exchangeForm("revoked-at"), 400, "invalid_request", "subject_token"},
		{"expired subject token", exchangeForm("expired-at"), 400, "invalid_request", "subject_token"},
		{"no subject token", exchangeForm("", "subject_token", ""), 400, "invalid_request", "subject_token"},
		{"subject_token_type id_token", exchangeForm("subject-at", "subject_token_type", "urn:ietf:params:oauth:token-type:id_token"), 400, "invalid_request", "subject_token_type"},
		{"requested_token_type refresh_token", exchangeForm("subject-at", "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), 400, "invalid_request", "requested"},
		{"audience of another client", exchangeForm("subject-at", "audience", hClientID), 400, "invalid_target", "audience"},
		{"resource", exchangeForm("subject-at", "resource", "https://api.example/"), 400, "invalid_target", "resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.xchg(tc.form)
			if code != tc.code || out["error"] != tc.err || !strings.Contains(out["error_description"].(string), tc.desc) {
				t.Errorf("exchange = %d %v, want %d %s (%s)", code, out, tc.code, tc.err, tc.desc)
			}
		})
	}

	// Client authentication is required: a wrong secret is invalid_client.
	f := exchangeForm("subject-at")
	f.Set("client_id", xClientID)
	f.Set("client_secret", "wrong")
	if w := h.do(http.MethodPost, "/application/o/token/", f); w.Code != 401 {
		t.Errorf("wrong secret = %d %s", w.Code, w.Body)
	}
}

// A public client may not exchange tokens.
func TestTokenExchangePublicClient(t *testing.T) {
	h := newHarness(t)
	h.xchgClient("public", "openid")
	h.grant("openid", map[string]string{"subject-at": store.OAuth2Access}, nil)
	form := exchangeForm("subject-at", "client_id", xClientID)
	w := h.do(http.MethodPost, "/application/o/token/", form)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "unauthorized_client") {
		t.Errorf("exchange = %d %s", w.Code, w.Body)
	}
}

// The user must pass the target application's policies.
func TestTokenExchangePolicy(t *testing.T) {
	h := newHarness(t)
	app := h.xchgClient("confidential", "openid")
	h.grant("openid", map[string]string{"subject-at": store.OAuth2Access}, nil)
	admin, err := h.st.UserByUsername(context.Background(), "akadmin")
	if err != nil {
		t.Fatal(err)
	}
	// Only akadmin may use the API application.
	if err := h.st.CreatePolicyBinding(context.Background(), &store.PolicyBinding{UUID: uuid.New(), TargetUUID: app.UUID, UserPK: &admin.PK,
		Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if code, out := h.xchg(exchangeForm("subject-at")); code != 400 || out["error"] != "invalid_grant" ||
		!strings.Contains(out["error_description"].(string), "Policy") {
		t.Errorf("exchange = %d %v", code, out)
	}
}

// The exchanging client may authenticate with client_secret_jwt.
func TestTokenExchangeWithClientSecretJWT(t *testing.T) {
	h := newHarness(t)
	h.xchgClient("confidential", "openid")
	h.grant("openid", map[string]string{"subject-at": store.OAuth2Access}, nil)
	now := time.Now()
	c := map[string]any{"iss": xClientID, "sub": xClientID, "aud": hTokenEndpoint, "jti": uuid.NewString(), "exp": now.Add(time.Minute).Unix()}
	form := exchangeForm("subject-at", "client_assertion_type", clientAssertionType, "client_assertion", secretJWT(nil, c, xSecret))
	w := h.do(http.MethodPost, "/application/o/token/", form)
	if w.Code != 200 || !strings.Contains(w.Body.String(), tokenTypeAccessToken) {
		t.Errorf("exchange = %d %s", w.Code, w.Body)
	}
}

func TestExchangeScopes(t *testing.T) {
	ms := []*store.PropertyMapping{{Settings: store.Attributes{"scope_name": "profile"}}, {Settings: store.Attributes{"scope_name": "email"}}}
	for _, tc := range []struct {
		name               string
		subject, requested []string
		want               []string
		fails              bool
	}{
		{"intersection", []string{"openid", "profile", "groups"}, nil, []string{"openid", "profile"}, false},
		{"empty subject grants nothing", nil, nil, nil, false},
		{"requested subset", []string{"openid", "profile", "email"}, []string{"email", "email"}, []string{"email"}, false},
		{"requested beyond the subject", []string{"openid"}, []string{"profile"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := exchangeScopes(tc.subject, tc.requested, ms)
			if (err != nil) != tc.fails || !cmp.Equal(got, tc.want) {
				t.Errorf("exchangeScopes = %v, %v; want %v (fails %v)", got, err, tc.want, tc.fails)
			}
		})
	}
}
