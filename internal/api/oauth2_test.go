package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// oauth2Env is a test server with what OAuth2 providers reference: flows,
// key pairs, a scope mapping, and a second, unprivileged user.
type oauth2Env struct {
	t        *testing.T
	srv      *apitest.Server
	flow     string // an existing flow (uuid)
	key      string // a key pair with a private key
	certOnly string // a certificate without key
	scope    string // a scope mapping (uuid)
	alice    int64  // an unprivileged user
	aliceTk  string // her API token key
}

func newOAuth2Env(t *testing.T) *oauth2Env {
	t.Helper()
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	var flow struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/flows/instances/", map[string]any{"name": "Authz", "slug": "authz", "title": "Authz",
		"designation": "authorization"}, &flow)
	e.flow = flow.PK
	var kp struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "signing.example.com",
		"validity_days": 30}, &kp)
	e.key = kp.PK
	certPEM, _ := testKeyPair(t)
	e.admin("POST", "/crypto/certificatekeypairs/", map[string]any{"name": "cert only", "certificate_data": certPEM}, &kp)
	e.certOnly = kp.PK
	var sm struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/propertymappings/provider/scope/", map[string]any{"name": "email", "scope_name": "email",
		"expression": `return {"email": user.email}`}, &sm)
	e.scope = sm.PK
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "alice", "name": "Alice"}, &u)
	e.alice = u.PK
	e.aliceTk = e.tokenFor(u.PK, "alice-token")
	return e
}

// tokenFor makes an API token for a user directly in the store.
func (e *oauth2Env) tokenFor(userPK int64, identifier string) string {
	e.t.Helper()
	key := core.NewTokenKey()
	if err := e.srv.Store.CreateToken(context.Background(), &store.Token{Identifier: identifier, KeyHash: core.HashTokenKey(key),
		Intent: store.IntentAPI, UserPK: userPK}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// grant gives a user the permissions through a new role.
func (e *oauth2Env) grant(userPK int64, perms ...string) {
	e.t.Helper()
	ctx := context.Background()
	r := &store.Role{Name: "role-" + uuid.NewString()}
	if err := e.srv.Store.CreateRole(ctx, r); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range perms {
		if err := e.srv.Store.AssignPermission(ctx, store.RolePermission{RoleUUID: r.UUID, Permission: p}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.srv.Store.SetUserRoles(ctx, userPK, []uuid.UUID{r.UUID}); err != nil {
		e.t.Fatal(err)
	}
}

// call sends a request below /api/v3 with the token key and returns the
// status and the body.
func (e *oauth2Env) call(token, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.callRaw(token, method, path, b)
}

// callRaw is call with the body as is (nil: none).
func (e *oauth2Env) callRaw(token, method, path string, body []byte) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/api/v3"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// as sends as token, requires status and decodes the body into out.
func (e *oauth2Env) as(token, method, path string, body any, status int, out any) {
	e.t.Helper()
	got, b := e.call(token, method, path, body)
	if got != status {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// admin sends as akadmin and requires a 2xx answer.
func (e *oauth2Env) admin(method, path string, body, out any) {
	e.t.Helper()
	got, b := e.call(apitest.AdminToken, method, path, body)
	if got/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, got, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// badRequest requires a 400 naming field.
func (e *oauth2Env) badRequest(method, path string, body any, field string) {
	e.t.Helper()
	got, b := e.call(apitest.AdminToken, method, path, body)
	if got != http.StatusBadRequest {
		e.t.Fatalf("%s %s: %d, want 400: %s", method, path, got, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	if _, ok := m[field]; !ok {
		e.t.Fatalf("%s %s: no error on %q: %s", method, path, field, b)
	}
}

// oauth2Body is a valid create body with extra fields merged in.
func (e *oauth2Env) oauth2Body(name string, extra map[string]any) map[string]any {
	b := map[string]any{"name": name, "authorization_flow": e.flow, "invalidation_flow": e.flow}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// oauth2Provider is the provider as the API answers it.
type oauth2Provider struct {
	PK                      int64    `json:"pk"`
	Name                    string   `json:"name"`
	AuthorizationFlow       *string  `json:"authorization_flow"`
	PropertyMappings        []string `json:"property_mappings"`
	Component               string   `json:"component"`
	AssignedApplicationSlug *string  `json:"assigned_application_slug"`
	VerboseName             string   `json:"verbose_name"`
	MetaModelName           string   `json:"meta_model_name"`
	ClientType              string   `json:"client_type"`
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	AccessCodeValidity      string   `json:"access_code_validity"`
	AccessTokenValidity     string   `json:"access_token_validity"`
	RefreshTokenValidity    string   `json:"refresh_token_validity"`
	RefreshTokenThreshold   string   `json:"refresh_token_threshold"`
	IncludeClaimsInIDToken  bool     `json:"include_claims_in_id_token"`
	SigningKey              *string  `json:"signing_key"`
	EncryptionKey           *string  `json:"encryption_key"`
	RedirectURIs            []struct {
		MatchingMode string `json:"matching_mode"`
		URL          string `json:"url"`
		Type         string `json:"redirect_uri_type"`
	} `json:"redirect_uris"`
	LogoutURI              string   `json:"logout_uri"`
	LogoutMethod           string   `json:"logout_method"`
	SubMode                string   `json:"sub_mode"`
	IssuerMode             string   `json:"issuer_mode"`
	JWTFederationSources   []string `json:"jwt_federation_sources"`
	JWTFederationProviders []int64  `json:"jwt_federation_providers"`
}

var (
	clientIDPattern     = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
	clientSecretPattern = regexp.MustCompile(`^[A-Za-z0-9]{128}$`)
)

func TestOAuth2ProviderCreate(t *testing.T) {
	e := newOAuth2Env(t)
	tests := []struct {
		name  string
		extra map[string]any
		check func(t *testing.T, p oauth2Provider)
	}{
		{"confidential with defaults", nil, func(t *testing.T, p oauth2Provider) {
			if !clientIDPattern.MatchString(p.ClientID) {
				t.Errorf("client_id %q, want 40 letters and digits", p.ClientID)
			}
			if !clientSecretPattern.MatchString(p.ClientSecret) {
				t.Errorf("client_secret %q, want 128 letters and digits", p.ClientSecret)
			}
			want := []string{"confidential", "minutes=1", "hours=1", "days=30", "seconds=0", "hashed_user_id", "per_provider",
				"backchannel", "ak-provider-oauth2-form", "OAuth2/OpenID Provider", "authentik_providers_oauth2.oauth2provider"}
			got := []string{p.ClientType, p.AccessCodeValidity, p.AccessTokenValidity, p.RefreshTokenValidity,
				p.RefreshTokenThreshold, p.SubMode, p.IssuerMode, p.LogoutMethod, p.Component, p.VerboseName, p.MetaModelName}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("defaults (-want +got):\n%s", d)
			}
			if !p.IncludeClaimsInIDToken || p.AuthorizationFlow == nil || *p.AuthorizationFlow != e.flow {
				t.Errorf("include_claims_in_id_token %v, authorization_flow %v", p.IncludeClaimsInIDToken, p.AuthorizationFlow)
			}
			if p.RedirectURIs == nil || p.PropertyMappings == nil || p.JWTFederationSources == nil ||
				p.JWTFederationProviders == nil || len(p.JWTFederationSources)+len(p.JWTFederationProviders) != 0 {
				t.Errorf("lists must be [] not null: %+v", p)
			}
		}},
		{"public has no generated secret", map[string]any{"client_type": "public"}, func(t *testing.T, p oauth2Provider) {
			if p.ClientSecret != "" || !clientIDPattern.MatchString(p.ClientID) {
				t.Errorf("public client: id %q secret %q", p.ClientID, p.ClientSecret)
			}
		}},
		{"given credentials are kept", map[string]any{"client_id": "my-client", "client_secret": "s3cret"}, func(t *testing.T, p oauth2Provider) {
			if p.ClientID != "my-client" || p.ClientSecret != "s3cret" {
				t.Errorf("client %q/%q", p.ClientID, p.ClientSecret)
			}
		}},
		{"every field", map[string]any{
			"property_mappings": []string{e.scope, e.scope}, "signing_key": e.key, "encryption_key": e.key,
			"access_code_validity": "minutes=2", "access_token_validity": "hours=2;minutes=30", "refresh_token_validity": "weeks=4",
			"refresh_token_threshold": "days=1", "include_claims_in_id_token": false, "sub_mode": "user_email",
			"issuer_mode": "global", "logout_uri": "https://app.example.com/logout", "logout_method": "frontchannel",
			"jwt_federation_sources": []string{}, "jwt_federation_providers": []int64{},
			"redirect_uris": []map[string]any{
				{"matching_mode": "strict", "url": "https://app.example.com/cb"},
				{"matching_mode": "regex", "url": `https://.*\.example\.com/cb`, "redirect_uri_type": "authorization"},
				{"matching_mode": "strict", "url": "com.example.app:/oauth", "redirect_uri_type": "logout"},
			}}, func(t *testing.T, p oauth2Provider) {
			if d := cmp.Diff([]string{e.scope}, p.PropertyMappings); d != "" {
				t.Errorf("property_mappings (deduplicated) (-want +got):\n%s", d)
			}
			if p.SigningKey == nil || *p.SigningKey != e.key || p.EncryptionKey == nil || *p.EncryptionKey != e.key {
				t.Errorf("keys %v %v", p.SigningKey, p.EncryptionKey)
			}
			got := []string{p.AccessTokenValidity, p.RefreshTokenValidity, p.SubMode, p.IssuerMode, p.LogoutMethod, p.LogoutURI}
			want := []string{"hours=2;minutes=30", "weeks=4", "user_email", "global", "frontchannel", "https://app.example.com/logout"}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
			if len(p.RedirectURIs) != 3 || p.RedirectURIs[0].Type != "authorization" || p.RedirectURIs[2].Type != "logout" ||
				p.RedirectURIs[1].MatchingMode != "regex" {
				t.Errorf("redirect_uris %+v", p.RedirectURIs)
			}
			if p.IncludeClaimsInIDToken {
				t.Error("include_claims_in_id_token stayed true")
			}
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p oauth2Provider
			e.as(apitest.AdminToken, "POST", "/providers/oauth2/", e.oauth2Body("p"+strconv.Itoa(i), tc.extra), http.StatusCreated, &p)
			tc.check(t, p)
			var got oauth2Provider
			e.admin("GET", "/providers/oauth2/"+strconv.FormatInt(p.PK, 10)+"/", nil, &got)
			if d := cmp.Diff(p, got); d != "" {
				t.Errorf("retrieve differs from create (-create +retrieve):\n%s", d)
			}
		})
	}
}

func TestOAuth2ProviderValidation(t *testing.T) {
	e := newOAuth2Env(t)
	// A mapping of another type is not a scope mapping.
	other := &store.PropertyMapping{Name: "saml-thing", Type: "saml", Expression: "return 1"}
	if err := e.srv.Store.CreatePropertyMapping(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	var taken oauth2Provider
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("taken", map[string]any{"client_id": "taken-id"}), &taken)
	missing := uuid.NewString()
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no name", map[string]any{"authorization_flow": e.flow, "invalidation_flow": e.flow}, "name"},
		{"no authorization flow", map[string]any{"name": "x", "invalidation_flow": e.flow}, "authorization_flow"},
		{"no invalidation flow", map[string]any{"name": "x", "authorization_flow": e.flow}, "invalidation_flow"},
		{"unknown flow", e.oauth2Body("x", map[string]any{"authorization_flow": missing}), "authorization_flow"},
		{"null authorization flow", e.oauth2Body("x", map[string]any{"authorization_flow": uuid.Nil.String()}), "authorization_flow"},
		{"bad redirect regex", e.oauth2Body("x", map[string]any{"redirect_uris": []map[string]any{
			{"matching_mode": "regex", "url": "https://(unclosed.example.com"}}}), "redirect_uris"},
		{"relative strict redirect", e.oauth2Body("x", map[string]any{"redirect_uris": []map[string]any{
			{"matching_mode": "strict", "url": "/callback"}}}), "redirect_uris"},
		{"redirect with fragment", e.oauth2Body("x", map[string]any{"redirect_uris": []map[string]any{
			{"matching_mode": "strict", "url": "https://app.example.com/cb#x"}}}), "redirect_uris"},
		{"unknown matching mode", e.oauth2Body("x", map[string]any{"redirect_uris": []map[string]any{
			{"matching_mode": "glob", "url": "https://app.example.com/cb"}}}), "non_field_errors"},
		{"unknown scope mapping", e.oauth2Body("x", map[string]any{"property_mappings": []string{missing}}), "property_mappings"},
		{"not a scope mapping", e.oauth2Body("x", map[string]any{"property_mappings": []string{other.UUID.String()}}), "property_mappings"},
		{"unknown signing key", e.oauth2Body("x", map[string]any{"signing_key": missing}), "signing_key"},
		{"signing key without private key", e.oauth2Body("x", map[string]any{"signing_key": e.certOnly}), "signing_key"},
		{"unknown encryption key", e.oauth2Body("x", map[string]any{"encryption_key": missing}), "encryption_key"},
		{"bad timedelta", e.oauth2Body("x", map[string]any{"access_token_validity": "1h"}), "access_token_validity"},
		{"unknown timedelta unit", e.oauth2Body("x", map[string]any{"access_code_validity": "fortnights=1"}), "access_code_validity"},
		{"negative timedelta", e.oauth2Body("x", map[string]any{"refresh_token_validity": "days=-1"}), "refresh_token_validity"},
		{"separators only", e.oauth2Body("x", map[string]any{"refresh_token_threshold": ";"}), "refresh_token_threshold"},
		{"overflowing timedelta", e.oauth2Body("x", map[string]any{"refresh_token_validity": "weeks=30501"}), "refresh_token_validity"},
		{"zero validity", e.oauth2Body("x", map[string]any{"access_token_validity": "hours=0;minutes=0"}), "access_token_validity"},
		{"empty timedelta", e.oauth2Body("x", map[string]any{"access_token_validity": ""}), "access_token_validity"},
		{"bad sub mode", e.oauth2Body("x", map[string]any{"sub_mode": "user_phone"}), "sub_mode"},
		{"bad logout uri", e.oauth2Body("x", map[string]any{"logout_uri": "javascript:alert(1)"}), "logout_uri"},
		{"jwt federation", e.oauth2Body("x", map[string]any{"jwt_federation_providers": []int64{taken.PK}}), "jwt_federation_providers"},
		{"duplicate client id", e.oauth2Body("x", map[string]any{"client_id": "taken-id"}), "client_id"},
		{"duplicate name", e.oauth2Body("taken", nil), "name"},
		{"NUL in name", e.oauth2Body("a\x00b", nil), "name"},
		{"NUL in client secret", e.oauth2Body("x", map[string]any{"client_secret": "\x00"}), "client_secret"},
		{"NUL in redirect regex", e.oauth2Body("x", map[string]any{"redirect_uris": []map[string]any{
			{"matching_mode": "regex", "url": "https://a\x00"}}}), "redirect_uris"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.badRequest("POST", "/providers/oauth2/", tc.body, tc.field)
		})
	}
	var list struct {
		Pagination struct {
			Count int `json:"count"`
		} `json:"pagination"`
	}
	e.admin("GET", "/providers/oauth2/", nil, &list)
	if list.Pagination.Count != 1 {
		t.Errorf("refused creates left %d providers, want 1", list.Pagination.Count)
	}
}

func TestOAuth2ProviderUpdate(t *testing.T) {
	e := newOAuth2Env(t)
	var p oauth2Provider
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("app", map[string]any{"client_type": "public",
		"signing_key": e.key, "property_mappings": []string{e.scope}}), &p)
	path := "/providers/oauth2/" + strconv.FormatInt(p.PK, 10) + "/"

	// PATCH changes only what it names; public to confidential gets a secret.
	var got oauth2Provider
	e.admin("PATCH", path, map[string]any{"client_type": "confidential", "sub_mode": "user_uuid",
		"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": "https://app.example.com/cb"}}}, &got)
	if got.ClientType != "confidential" || !clientSecretPattern.MatchString(got.ClientSecret) || got.SubMode != "user_uuid" ||
		got.ClientID != p.ClientID || got.Name != "app" || len(got.RedirectURIs) != 1 || len(got.PropertyMappings) != 1 {
		t.Errorf("after patch: %+v", got)
	}
	// The nil uuid clears the signing key; an empty list the mappings.
	e.admin("PATCH", path, map[string]any{"signing_key": uuid.Nil.String(), "property_mappings": []string{}}, &got)
	if got.SigningKey != nil || len(got.PropertyMappings) != 0 {
		t.Errorf("signing_key %v, property_mappings %v: want cleared", got.SigningKey, got.PropertyMappings)
	}
	e.badRequest("PATCH", path, map[string]any{"access_code_validity": "minutes"}, "access_code_validity")
	e.badRequest("PATCH", path, map[string]any{"redirect_uris": []map[string]any{{"matching_mode": "regex", "url": "*"}}}, "redirect_uris")

	// PUT needs the required fields and keeps the others.
	e.badRequest("PUT", path, map[string]any{"name": "renamed"}, "authorization_flow")
	e.admin("PUT", path, e.oauth2Body("renamed", nil), &got)
	if got.Name != "renamed" || got.SubMode != "user_uuid" || got.ClientSecret == "" {
		t.Errorf("after put: %+v", got)
	}

	// The update event records that the secret changed, never the secret.
	e.admin("PATCH", path, map[string]any{"client_secret": "new-secret-value"}, nil)
	evs, _, err := e.srv.Store.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var sawSecretChange bool
	for _, ev := range evs {
		b, _ := json.Marshal(ev.Context)
		if strings.Contains(string(b), "new-secret-value") || strings.Contains(string(b), got.ClientSecret) {
			t.Errorf("event %s holds the client secret: %s", ev.Action, b)
		}
		sawSecretChange = sawSecretChange || strings.Contains(string(b), `"client_secret"`)
	}
	if !sawSecretChange {
		t.Error("no event says the client secret changed")
	}

	if code, b := e.call(apitest.AdminToken, "PATCH", "/providers/oauth2/999999/", map[string]any{"name": "x"}); code != http.StatusNotFound {
		t.Errorf("patch of an unknown provider: %d %s", code, b)
	}
}

func TestOAuth2ProviderListAndPermissions(t *testing.T) {
	e := newOAuth2Env(t)
	pks := map[string]int64{}
	for _, n := range []string{"Grafana", "Gitea", "Nextcloud"} {
		var p oauth2Provider
		e.admin("POST", "/providers/oauth2/", e.oauth2Body(n, map[string]any{"client_id": strings.ToLower(n) + "-client"}), &p)
		pks[n] = p.PK
	}
	// A provider of another type is not listed here.
	if err := e.srv.Store.CreateProvider(context.Background(), &store.Provider{Name: "ldap", Type: "ldap"}); err != nil {
		t.Fatal(err)
	}
	type listed struct {
		Pagination struct {
			Count int `json:"count"`
			Next  int `json:"next"`
		} `json:"pagination"`
		Results []oauth2Provider `json:"results"`
	}
	names := func(l listed) []string {
		var out []string
		for _, p := range l.Results {
			out = append(out, p.Name)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Gitea", "Grafana", "Nextcloud"}},
		{"?search=g", []string{"Gitea", "Grafana"}},
		{"?search=nextcloud-cl", []string{"Nextcloud"}},
		{"?ordering=-name", []string{"Nextcloud", "Grafana", "Gitea"}},
		{"?ordering=pk&page_size=2", []string{"Grafana", "Gitea"}},
		{"?ordering=pk&page_size=2&page=2", []string{"Nextcloud"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var l listed
			e.admin("GET", "/providers/oauth2/"+tc.query, nil, &l)
			if d := cmp.Diff(tc.want, names(l)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	e.badRequest("GET", "/providers/oauth2/?ordering=client_secret", nil, "ordering")
	e.badRequest("GET", "/providers/oauth2/?search=a%00", nil, "search")

	// Alice sees nothing without permissions, then what she is given.
	var l listed
	e.as(e.aliceTk, "GET", "/providers/oauth2/", nil, http.StatusOK, &l)
	if l.Pagination.Count != 0 {
		t.Errorf("alice without permissions sees %v", names(l))
	}
	grafana := "/providers/oauth2/" + strconv.FormatInt(pks["Grafana"], 10) + "/"
	e.as(e.aliceTk, "GET", grafana, nil, http.StatusNotFound, nil)
	e.as(e.aliceTk, "POST", "/providers/oauth2/", e.oauth2Body("mine", nil), http.StatusForbidden, nil)
	e.grant(e.alice, "authentik_providers_oauth2.view_oauth2provider")
	e.as(e.aliceTk, "GET", "/providers/oauth2/", nil, http.StatusOK, &l)
	if l.Pagination.Count != 3 {
		t.Errorf("alice with view_oauth2provider sees %v", names(l))
	}
	e.as(e.aliceTk, "PATCH", grafana, map[string]any{"name": "x"}, http.StatusForbidden, nil)
	e.as(e.aliceTk, "DELETE", grafana, nil, http.StatusForbidden, nil)

	// The permissions can be given through the API.
	var perms struct {
		Results []struct {
			Codename string `json:"codename"`
			AppLabel string `json:"app_label"`
		} `json:"results"`
	}
	e.admin("GET", "/rbac/permissions/?search=oauth2provider", nil, &perms)
	if len(perms.Results) != 4 || perms.Results[0].AppLabel != "authentik_providers_oauth2" {
		t.Errorf("rbac registry: %+v", perms.Results)
	}
}

func TestOAuth2SetupURLs(t *testing.T) {
	e := newOAuth2Env(t)
	var perProvider, global, orphan oauth2Provider
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("per", nil), &perProvider)
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("glob", map[string]any{"issuer_mode": "global"}), &global)
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("orphan", nil), &orphan)
	e.admin("POST", "/core/applications/", map[string]any{"name": "Grafana", "slug": "grafana", "provider": perProvider.PK}, nil)
	e.admin("POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": "wiki", "provider": global.PK}, nil)

	base := e.srv.URL
	o := base + "/application/o/"
	tests := []struct {
		name string
		pk   int64
		want map[string]string
	}{
		{"per_provider", perProvider.PK, map[string]string{"issuer": o + "grafana/", "authorize": o + "authorize/",
			"token": o + "token/", "user_info": o + "userinfo/",
			"provider_info": o + "grafana/.well-known/openid-configuration",
			"logout":        o + "grafana/end-session/", "jwks": o + "grafana/jwks/"}},
		{"global", global.PK, map[string]string{"issuer": base + "/", "authorize": o + "authorize/",
			"token": o + "token/", "user_info": o + "userinfo/",
			"provider_info": o + "wiki/.well-known/openid-configuration",
			"logout":        o + "wiki/end-session/", "jwks": o + "wiki/jwks/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]string
			e.admin("GET", "/providers/oauth2/"+strconv.FormatInt(tc.pk, 10)+"/setup_urls/", nil, &got)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	code, b := e.call(apitest.AdminToken, "GET", "/providers/oauth2/"+strconv.FormatInt(orphan.PK, 10)+"/setup_urls/", nil)
	if code != http.StatusNotFound || !strings.Contains(string(b), "no application") {
		t.Errorf("setup_urls without application: %d %s", code, b)
	}

	// assigned_application_* show the application.
	var got oauth2Provider
	e.admin("GET", "/providers/oauth2/"+strconv.FormatInt(perProvider.PK, 10)+"/", nil, &got)
	if got.AssignedApplicationSlug == nil || *got.AssignedApplicationSlug != "grafana" {
		t.Errorf("assigned_application_slug %v", got.AssignedApplicationSlug)
	}
}

func TestOAuth2ProviderDelete(t *testing.T) {
	e := newOAuth2Env(t)
	for _, via := range []string{"/providers/oauth2/", "/providers/all/"} {
		t.Run(via, func(t *testing.T) {
			var p oauth2Provider
			e.admin("POST", "/providers/oauth2/", e.oauth2Body("del"+strings.ReplaceAll(via, "/", "-"), nil), &p)
			id := strconv.FormatInt(p.PK, 10) + "/"
			e.admin("POST", "/core/applications/", map[string]any{"name": "App " + id, "slug": "app-" + strconv.FormatInt(p.PK, 10),
				"provider": p.PK}, nil)
			e.admin("DELETE", via+id, nil, nil)
			for _, path := range []string{"/providers/oauth2/" + id, "/providers/all/" + id, "/providers/oauth2/" + id + "setup_urls/"} {
				if code, b := e.call(apitest.AdminToken, "GET", path, nil); code != http.StatusNotFound {
					t.Errorf("GET %s after delete: %d %s", path, code, b)
				}
			}
			if _, err := e.srv.Store.OAuth2ProviderByClientID(context.Background(), p.ClientID); err == nil {
				t.Error("the OAuth2 part outlived its provider")
			}
		})
	}
}

// grantTokens makes a grant with a code, an access and a refresh token in
// the store and returns their hashes.
func (e *oauth2Env) grantTokens(providerPK, userPK int64, scope string, revoked bool) (code, access, refresh string) {
	e.t.Helper()
	now := time.Now().UTC()
	tag := uuid.NewString()
	toks := []*store.OAuth2Token{
		{Hash: "code-" + tag, Kind: store.OAuth2Code, Expires: now.Add(time.Minute), Created: now},
		{Hash: "access-" + tag, Kind: store.OAuth2Access, Expires: now.Add(-time.Minute), Created: now},
		{Hash: "refresh-" + tag, Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now},
	}
	g := &store.OAuth2Grant{ProviderPK: providerPK, UserPK: userPK, Scope: scope, AuthTime: now, Created: now, Revoked: revoked}
	if err := e.srv.Store.CreateOAuth2Grant(context.Background(), g, toks...); err != nil {
		e.t.Fatal(err)
	}
	return toks[0].Hash, toks[1].Hash, toks[2].Hash
}

type grantModel struct {
	PK       string `json:"pk"`
	Provider struct {
		PK   int64  `json:"pk"`
		Name string `json:"name"`
	} `json:"provider"`
	User struct {
		PK       int64  `json:"pk"`
		Username string `json:"username"`
	} `json:"user"`
	IsExpired bool     `json:"is_expired"`
	Expires   string   `json:"expires"`
	Scope     []string `json:"scope"`
	Revoked   bool     `json:"revoked"`
}

func TestOAuth2Tokens(t *testing.T) {
	e := newOAuth2Env(t)
	var p1, p2 oauth2Provider
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("one", nil), &p1)
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("two", nil), &p2)
	admin, err := e.srv.Store.UserByUsername(context.Background(), "akadmin")
	if err != nil {
		t.Fatal(err)
	}
	aliceCode, aliceAccess, aliceRefresh := e.grantTokens(p1.PK, e.alice, "openid email", false)
	_, adminAccess, _ := e.grantTokens(p2.PK, admin.PK, "openid", true)
	_, admin2Access, _ := e.grantTokens(p1.PK, admin.PK, "", false)

	list := func(token, path string) []string {
		t.Helper()
		var l struct {
			Pagination struct {
				Count int `json:"count"`
			} `json:"pagination"`
			Results []grantModel `json:"results"`
		}
		e.as(token, "GET", path, nil, http.StatusOK, &l)
		out := []string{}
		for _, r := range l.Results {
			out = append(out, r.PK)
		}
		if l.Pagination.Count != len(out) {
			t.Errorf("GET %s: count %d, %d results", path, l.Pagination.Count, len(out))
		}
		return out
	}
	hashes := func(s ...string) []string { return append([]string{}, s...) }
	alicePK, adminPK := strconv.FormatInt(e.alice, 10), strconv.FormatInt(admin.PK, 10)
	tests := []struct {
		name  string
		token string
		path  string
		want  []string
	}{
		{"admin sees all access tokens", apitest.AdminToken, "/oauth2/access_tokens/", hashes(aliceAccess, adminAccess, admin2Access)},
		{"filter by user", apitest.AdminToken, "/oauth2/access_tokens/?user=" + alicePK, hashes(aliceAccess)},
		{"filter by provider", apitest.AdminToken, "/oauth2/access_tokens/?provider=" + strconv.FormatInt(p2.PK, 10), hashes(adminAccess)},
		{"codes", apitest.AdminToken, "/oauth2/authorization_codes/?user=" + alicePK, hashes(aliceCode)},
		{"refresh tokens", apitest.AdminToken, "/oauth2/refresh_tokens/?user=" + alicePK, hashes(aliceRefresh)},
		{"alice sees her own", e.aliceTk, "/oauth2/access_tokens/", hashes(aliceAccess)},
		{"alice cannot filter for others", e.aliceTk, "/oauth2/access_tokens/?user=" + adminPK, hashes()},
		{"alice filters for herself", e.aliceTk, "/oauth2/refresh_tokens/?user=" + alicePK, hashes(aliceRefresh)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.token, tc.path)
			if d := cmp.Diff(tc.want, got, cmpSorted); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	// The fields, for one token of each kind.
	var g grantModel
	e.admin("GET", "/oauth2/access_tokens/"+aliceAccess+"/", nil, &g)
	if g.PK != aliceAccess || g.Provider.PK != p1.PK || g.Provider.Name != "one" || g.User.Username != "alice" ||
		!g.IsExpired || g.Revoked || !cmp.Equal(g.Scope, []string{"openid", "email"}) || g.Expires == "" {
		t.Errorf("access token: %+v", g)
	}
	e.admin("GET", "/oauth2/refresh_tokens/"+aliceRefresh+"/", nil, &g)
	if g.IsExpired || g.Revoked {
		t.Errorf("refresh token: %+v", g)
	}
	e.admin("GET", "/oauth2/access_tokens/"+adminAccess+"/", nil, &g)
	if !g.Revoked || !cmp.Equal(g.Scope, []string{"openid"}) {
		t.Errorf("token of a revoked grant: %+v", g)
	}
	e.admin("GET", "/oauth2/access_tokens/"+admin2Access+"/", nil, &g)
	if g.Scope == nil || len(g.Scope) != 0 {
		t.Errorf("empty scope: %+v, want []", g.Scope)
	}

	// Retrieve and destroy: the owner may; others need the permission,
	// and a hash of another kind is not found.
	steps := []struct {
		token, method, path string
		status              int
	}{
		{apitest.AdminToken, "GET", "/oauth2/refresh_tokens/" + aliceAccess + "/", http.StatusNotFound},
		{apitest.AdminToken, "GET", "/oauth2/access_tokens/no-such-hash/", http.StatusNotFound},
		{e.aliceTk, "GET", "/oauth2/access_tokens/" + adminAccess + "/", http.StatusNotFound},
		{e.aliceTk, "DELETE", "/oauth2/access_tokens/" + adminAccess + "/", http.StatusNotFound},
		{e.aliceTk, "GET", "/oauth2/authorization_codes/" + aliceCode + "/", http.StatusOK},
		{e.aliceTk, "DELETE", "/oauth2/authorization_codes/" + aliceCode + "/", http.StatusNoContent},
		{e.aliceTk, "GET", "/oauth2/authorization_codes/" + aliceCode + "/", http.StatusNotFound},
		{apitest.AdminToken, "DELETE", "/oauth2/access_tokens/" + aliceAccess + "/", http.StatusNoContent},
	}
	for _, s := range steps {
		if code, b := e.call(s.token, s.method, s.path, nil); code != s.status {
			t.Errorf("%s %s: %d, want %d: %s", s.method, s.path, code, s.status, b)
		}
	}
	// With view_accesstoken alice sees everyone's access tokens; with
	// view_refreshtoken only, she may view but not delete another's.
	e.grant(e.alice, "authentik_providers_oauth2.view_accesstoken")
	if d := cmp.Diff(hashes(adminAccess, admin2Access), list(e.aliceTk, "/oauth2/access_tokens/"), cmpSorted); d != "" {
		t.Errorf("alice with view_accesstoken (-want +got):\n%s", d)
	}
	e.as(e.aliceTk, "GET", "/oauth2/access_tokens/"+adminAccess+"/", nil, http.StatusOK, nil)
	e.as(e.aliceTk, "DELETE", "/oauth2/access_tokens/"+adminAccess+"/", nil, http.StatusForbidden, nil)
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
