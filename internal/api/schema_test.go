package api_test

// Schema conformance: the OpenAPI document served at /api/v3/schema/ is
// loaded and checked by an independent validator (kin-openapi), then every
// operation it lists is called and both the request and the server's answer
// are validated against it.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// publicOperations answer without credentials (the login page reads them).
var publicOperations = map[string]bool{
	"core_brands_current_retrieve": true,
	"root_config_retrieve":         true,
}

// promisedOperations are authentik paths the project promises, with their
// operation ids.
var promisedOperations = []struct{ method, path, id string }{
	{"GET", "/core/users/", "core_users_list"},
	{"POST", "/core/users/", "core_users_create"},
	{"GET", "/core/users/me/", "core_users_me_retrieve"},
	{"POST", "/core/users/{id}/set_password/", "core_users_set_password_create"},
	{"POST", "/core/users/service_account/", "core_users_service_account_create"},
	{"POST", "/core/users/{id}/recovery/", "core_users_recovery_create"},
	{"POST", "/core/users/{id}/recovery_email/", "core_users_recovery_email_create"},
	{"GET", "/core/groups/", "core_groups_list"},
	{"GET", "/core/applications/{slug}/check_access/", "core_applications_check_access_retrieve"},
	{"GET", "/core/tokens/{identifier}/view_key/", "core_tokens_view_key_retrieve"},
	{"GET", "/core/brands/current/", "core_brands_current_retrieve"},
	{"GET", "/rbac/roles/", "rbac_roles_list"},
	{"GET", "/rbac/permissions/", "rbac_permissions_list"},
	{"POST", "/crypto/certificatekeypairs/generate/", "crypto_certificatekeypairs_generate_create"},
	{"GET", "/events/events/", "events_events_list"},
	{"GET", "/events/events/actions/", "events_events_actions_list"},
	{"GET", "/events/events/volume/", "events_events_volume_list"},
	{"GET", "/admin/version/", "admin_version_retrieve"},
	{"GET", "/admin/settings/", "admin_settings_retrieve"},
	{"GET", "/root/config/", "root_config_retrieve"},
	{"GET", "/providers/all/", "providers_all_list"},
}

// conformance is a test server with its loaded schema.
type conformance struct {
	t   *testing.T
	srv *apitest.Server
	doc *openapi3.T
}

// schema31 is the query of the native OpenAPI 3.1 document (JSON).
const schema31 = "?version=3.1&format=json"

// newConformance starts a server and loads its default (3.0) JSON schema.
func newConformance(t *testing.T) *conformance { return newConformanceFor(t, "?format=json") }

// newConformanceFor starts a server and loads the schema /schema/+query.
func newConformanceFor(t *testing.T, query string) *conformance {
	t.Helper()
	c := &conformance{t: t, srv: apitest.New(t)}
	c.doc = c.loadSchema(query)
	return c
}

// fetch GETs a URL below /api/v3 without credentials.
func (c *conformance) fetch(path string) ([]byte, *http.Response) {
	c.t.Helper()
	resp, err := http.Get(c.srv.URL + "/api/v3" + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b, resp
}

// loadSchema fetches /schema/ with query and requires it to load and validate.
func (c *conformance) loadSchema(query string) *openapi3.T {
	c.t.Helper()
	b, _ := c.fetch("/schema/" + query)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		c.t.Fatalf("schema%s does not load: %v", query, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		c.t.Fatalf("schema%s is not valid OpenAPI: %v", query, err)
	}
	return doc
}

// operation is one path+method of the document.
type operation struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

func (o operation) String() string { return o.method + " " + o.path + " (" + o.op.OperationID + ")" }

func (c *conformance) operations() []operation {
	var out []operation
	for _, path := range c.doc.Paths.InMatchingOrder() {
		item := c.doc.Paths.Value(path)
		for method, op := range item.Operations() {
			out = append(out, operation{path: path, method: method, item: item, op: op})
		}
	}
	// Deterministic order; deletes last, so that the other operations still
	// find the fixtures (applications before the providers they use).
	rank := func(o operation) int {
		if o.method != http.MethodDelete {
			return 0
		}
		if strings.HasPrefix(o.path, "/providers/") || strings.HasPrefix(o.path, "/policies/all/") || strings.HasPrefix(o.path, "/flows/instances/") {
			return 2
		}
		return 1
	}
	slices.SortFunc(out, func(a, b operation) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		if d := strings.Compare(a.path, b.path); d != 0 {
			return d
		}
		return strings.Compare(a.method, b.method)
	})
	return out
}

// bearerAuth accepts the document's bearer scheme when the request carries
// a bearer token.
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s != nil && s.Type == "apiKey" && s.In == "cookie" {
		if _, err := in.RequestValidationInput.Request.Cookie(s.Name); err != nil {
			return errors.New("no session cookie")
		}
		return nil
	}
	if s == nil || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		return fmt.Errorf("unexpected security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || len(h) == len("Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// validationOptions are the validator's options; schema errors are told
// briefly (where and why, not the whole schema).
func validationOptions(auth openapi3filter.AuthenticationFunc) *openapi3filter.Options {
	o := &openapi3filter.Options{AuthenticationFunc: auth, MultiError: true, IncludeResponseStatus: true}
	o.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		v, _ := json.Marshal(e.Value)
		if len(v) > 200 {
			v = append(v[:200], "..."...)
		}
		return fmt.Sprintf("at /%s: %s (value %s)", strings.Join(e.JSONPointer(), "/"), e.Reason, v)
	})
	return o
}

// reply is what the server answered.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends method path (below /api/v3) with token ("" for none) and a JSON body.
func (c *conformance) do(method, path, token string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL+"/api/v3"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// admin sends as akadmin and requires a 2xx answer, decoding it into out.
func (c *conformance) admin(method, path string, body, out any) {
	c.t.Helper()
	r := c.do(method, path, apitest.AdminToken, body)
	if r.status/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// fixtures are the objects the operations work on.
type fixtures struct {
	user, provider         int64
	group, role, brand, kp string
	event, token, app      string
	certPEM, keyPEM        string
	sessionCookie          string
	flow, stage, binding   string
	flowID                 string
	policy, policyBinding  string
	invitation             string
	oauth2Provider         int64
	scopeMapping, mapping  string
	code, access, refresh  string            // token hashes
	blueprint              string            // a blueprint instance (uuid)
	schedule, taskRun      string            // tasks_test.go
	rule, transport, note  string            // notifications_test.go
	webhookMapping         string            // notifications_test.go
	devices                map[string]string // device pks by path prefix (authenticators_test.go)
	emailStage             string            // userrecovery_test.go
}

func (c *conformance) makeFixtures() fixtures {
	c.t.Helper()
	var f fixtures
	f.sessionCookie = c.adminSession()
	var role struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/rbac/roles/", map[string]any{"name": "conformance-role"}, &role)
	f.role = role.PK

	var group struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/core/groups/", map[string]any{"name": "conformance-group", "roles": []string{f.role},
		"attributes": map[string]any{"k": "v"}}, &group)
	f.group = group.PK

	var user struct {
		PK int64 `json:"pk"`
	}
	c.admin("POST", "/core/users/", map[string]any{"username": "conformance-user", "name": "Conformance User",
		"email": "conformance@example.com", "groups": []string{f.group}, "roles": []string{f.role},
		"last_login": time.Now().UTC().Format(time.RFC3339)}, &user)
	f.user = user.PK

	var tok struct {
		Identifier string `json:"identifier"`
	}
	c.admin("POST", "/core/tokens/", map[string]any{"identifier": "conformance-token", "intent": "api",
		"description": "conformance", "expiring": true}, &tok)
	f.token = tok.Identifier

	var brand struct {
		UUID string `json:"brand_uuid"`
	}
	c.admin("POST", "/core/brands/", map[string]any{"domain": "conformance.example.com", "branding_title": "Conformance"}, &brand)
	f.brand = brand.UUID

	var kp struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "conformance.example.com",
		"validity_days": 30}, &kp)
	f.kp = kp.PK

	p := &store.Provider{Name: "conformance-provider", Type: "oauth2"}
	if err := c.srv.Store.CreateProvider(context.Background(), p); err != nil {
		c.t.Fatal(err)
	}
	f.provider = p.PK

	// One application without a provider, one with (provider_obj null and set).
	var app struct {
		Slug string `json:"slug"`
	}
	c.admin("POST", "/core/applications/", map[string]any{"name": "Conformance", "slug": "conformance"}, &app)
	f.app = app.Slug
	c.admin("POST", "/core/applications/", map[string]any{"name": "Conformance P", "slug": "conformance-p",
		"provider": f.provider, "meta_launch_url": "https://conformance.example.com/"}, nil)

	var flow struct {
		PK   string `json:"pk"`
		Slug string `json:"slug"`
	}
	c.admin("POST", "/flows/instances/", map[string]any{"name": "Conformance flow", "slug": "conformance-flow",
		"title": "Conformance", "designation": "authentication"}, &flow)
	f.flow, f.flowID = flow.Slug, flow.PK
	var stage struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/stages/dummy/", map[string]any{"name": "conformance-dummy"}, &stage)
	f.stage = stage.PK
	var binding struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/flows/bindings/", map[string]any{"target": flow.PK, "stage": stage.PK, "order": 10}, &binding)
	f.binding = binding.PK
	var pol struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/policies/dummy/", map[string]any{"name": "conformance-policy", "settings": map[string]any{"result": true}}, &pol)
	f.policy = pol.PK
	var pb struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/policies/bindings/", map[string]any{"target": flow.PK, "policy": pol.PK, "order": 0}, &pb)
	f.policyBinding = pb.PK
	var inv struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/stages/invitation/invitations/", map[string]any{"name": "conformance-invite",
		"fixed_data": map[string]any{"email": "invited@example.com"}, "single_use": true, "flow": flow.PK}, &inv)
	f.invitation = inv.PK
	f.makeOAuth2Fixtures(c)
	f.makeBlueprintFixtures(c)
	f.makeTaskFixtures(c)
	f.makeDeviceFixtures(c)
	f.makeNotificationFixtures(c)
	f.makeSessionFixtures(c)
	f.makeRecoveryFixtures(c)

	var events struct {
		Results []struct {
			PK string `json:"pk"`
		} `json:"results"`
	}
	c.admin("GET", "/events/events/", nil, &events)
	if len(events.Results) == 0 {
		c.t.Fatal("creating the fixtures wrote no event")
	}
	f.event = events.Results[0].PK
	f.certPEM, f.keyPEM = testKeyPair(c.t)
	return f
}

// makeOAuth2Fixtures adds an OAuth2 provider (with an application), two
// scope mappings (one for propertymappings/all/, which deletes its own) and
// a grant with a code, an access and a refresh token for akadmin.
func (f *fixtures) makeOAuth2Fixtures(c *conformance) {
	c.t.Helper()
	var sm struct {
		PK string `json:"pk"`
	}
	for name, dst := range map[string]*string{"conformance-scope": &f.scopeMapping, "conformance-scope-all": &f.mapping} {
		c.admin("POST", "/propertymappings/provider/scope/", map[string]any{"name": name, "scope_name": "conformance",
			"expression": `return {"conformance": user.username}`}, &sm)
		*dst = sm.PK
	}
	var op struct {
		PK int64 `json:"pk"`
	}
	c.admin("POST", "/providers/oauth2/", map[string]any{"name": "conformance-oauth2", "authorization_flow": f.flowID,
		"invalidation_flow": f.flowID, "property_mappings": []string{f.scopeMapping}, "signing_key": f.kp,
		"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": "https://conformance.example.com/cb"}}}, &op)
	f.oauth2Provider = op.PK
	c.admin("POST", "/core/applications/", map[string]any{"name": "Conformance O", "slug": "conformance-o", "provider": op.PK}, nil)
	ctx := context.Background()
	admin, err := c.srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		c.t.Fatal(err)
	}
	now := time.Now().UTC()
	f.code, f.access, f.refresh = "conformance-code-hash", "conformance-access-hash", "conformance-refresh-hash"
	if err := c.srv.Store.CreateOAuth2Grant(ctx, &store.OAuth2Grant{ProviderPK: op.PK, UserPK: admin.PK, Scope: "openid email",
		AuthTime: now, Created: now},
		&store.OAuth2Token{Hash: f.code, Kind: store.OAuth2Code, Expires: now.Add(time.Minute), Created: now},
		&store.OAuth2Token{Hash: f.access, Kind: store.OAuth2Access, Expires: now.Add(time.Hour), Created: now},
		&store.OAuth2Token{Hash: f.refresh, Kind: store.OAuth2Refresh, Expires: now.Add(24 * time.Hour), Created: now}); err != nil {
		c.t.Fatal(err)
	}
}

// conformanceBlueprint is a blueprint file of the test server's dir and
// the content of the fixture instance.
const conformanceBlueprint = `version: 1
metadata:
  name: Conformance blueprint
  labels: {blueprints.goauthentik.io/description: conformance}
entries:
  - model: authentik_core.group
    identifiers: {name: conformance-blueprint-group}
`

// makeBlueprintFixtures adds a blueprint file to the server's blueprints
// dir and a blueprint instance kept in the database.
func (f *fixtures) makeBlueprintFixtures(c *conformance) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.srv.BlueprintsDir, "conformance.yaml"), []byte(conformanceBlueprint), 0o600); err != nil {
		c.t.Fatal(err)
	}
	var bp struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/managed/blueprints/", map[string]any{"name": "conformance-blueprint", "content": conformanceBlueprint,
		"context": map[string]any{"k": "v"}}, &bp)
	f.blueprint = bp.PK
}

// pathParams fills the path parameters of path from the fixtures.
func (f fixtures) pathParams(path string) map[string]string {
	pp := map[string]string{}
	// In order: a later entry that matches (a narrower prefix) wins.
	for _, p := range []struct{ param, prefix, value string }{
		{"slug", "", f.app},
		{"slug", "/flows/", f.flow},
		{"type", "", "dummy"},
		{"invite_uuid", "", f.invitation},
		{"instance_uuid", "", f.blueprint},
		{"message_id", "", f.taskRun},
		{"pbm_uuid", "", f.rule},
		{"uuid", "/events/transports/", f.transport},
		{"uuid", "/events/notifications/", f.note},
		{"uuid", "/core/authenticated_sessions/", f.devices["/core/authenticated_sessions/"]},
		{"identifier", "", f.token},
		{"pm_uuid", "", f.scopeMapping},
		{"pm_uuid", "/propertymappings/all/", f.mapping},
		{"pm_uuid", "/propertymappings/notification/", f.webhookMapping},
	} {
		if strings.Contains(path, "{"+p.param+"}") && strings.HasPrefix(path, p.prefix) {
			pp[p.param] = p.value
		}
	}
	if strings.Contains(path, "{id}") {
		best := 0
		for prefix, id := range map[string]string{
			"/core/users/":                 strconv.FormatInt(f.user, 10),
			"/core/groups/":                f.group,
			"/core/brands/":                f.brand,
			"/rbac/roles/":                 f.role,
			"/rbac/permissions/":           f.role,
			"/crypto/certificatekeypairs/": f.kp,
			"/events/events/":              f.event,
			"/providers/all/":              strconv.FormatInt(f.provider, 10),
			"/providers/oauth2/":           strconv.FormatInt(f.oauth2Provider, 10),
			"/oauth2/authorization_codes/": f.code,
			"/oauth2/access_tokens/":       f.access,
			"/oauth2/refresh_tokens/":      f.refresh,
			"/flows/bindings/":             f.binding,
			"/policies/bindings/":          f.policyBinding,
			"/policies/":                   f.policy,
			"/stages/":                     f.stage,
			"/tasks/schedules/":            f.schedule,
		} {
			// The longest matching prefix wins (/policies/bindings/ over /policies/).
			if strings.HasPrefix(path, prefix) && len(prefix) > best {
				pp["id"], best = id, len(prefix)
			}
		}
	}
	for prefix, pk := range f.devices {
		if strings.Contains(path, "{id}") && strings.HasPrefix(path, prefix) {
			pp["id"] = pk
		}
	}
	return pp
}

func fillPath(path string, pp map[string]string) string {
	for k, v := range pp {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	return path
}

// opCase is how one operation is called: its body (nil: none; []byte: as
// is, else JSON) and query.
type opCase struct {
	body  any
	query url.Values
	// contentType is the body's media type when it is not JSON (body is
	// then []byte).
	contentType string
	// session sends the request with akadmin's browser session (and CSRF)
	// instead of the API token: the operation is session-only.
	session bool
}

// cases has an entry for every operation of the schema: an operation
// without one fails the test, so none is added untested.
func (f fixtures) cases() map[string]opCase {
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	return map[string]opCase{
		// core/users
		"core_users_impersonate_create":       {body: map[string]any{"reason": "conformance"}, session: true},
		"core_users_impersonate_end_retrieve": {session: true},
		"core_users_list":                     {query: url.Values{"ordering": {"username"}, "search": {"conformance"}, "page_size": {"10"}}},
		"core_users_create": {body: map[string]any{"username": "conformance-created", "name": "Created",
			"email": "created@example.com", "is_active": true, "path": "users", "type": "internal",
			"attributes": map[string]any{"a": 1}, "groups": []string{f.group}, "roles": []string{f.role}}},
		"core_users_me_retrieve": {},
		"core_users_service_account_create": {body: map[string]any{"name": "conformance-sa", "create_group": true,
			"expiring": true, "expires": future}},
		"core_users_retrieve": {},
		"core_users_update": {body: map[string]any{"username": "conformance-user", "name": "Conformance User 2",
			"email": "conformance@example.com", "is_active": true, "groups": []string{f.group}, "roles": []string{f.role},
			"attributes": map[string]any{"settings": map[string]any{"locale": "en"}}, "path": "users", "type": "internal"}},
		"core_users_partial_update":        {body: map[string]any{"name": "Conformance User 3"}},
		"core_users_destroy":               {},
		"core_users_set_password_create":   {body: map[string]any{"password": "correct horse battery staple"}},
		"core_users_recovery_create":       {body: map[string]any{"token_duration": "hours=1"}},
		"core_users_recovery_email_create": {body: map[string]any{"email_stage": f.emailStage}},
		// core/groups
		"core_groups_list": {query: url.Values{"ordering": {"tree"}, "parent__isnull": {"true"}}},
		"core_groups_create": {body: map[string]any{"name": "conformance-created-group", "parent": f.group,
			"users": []int64{f.user}, "attributes": map[string]any{}, "roles": []string{f.role}}},
		"core_groups_retrieve": {},
		"core_groups_update": {body: map[string]any{"name": "conformance-group", "users": []int64{f.user},
			"attributes": map[string]any{"k": "v2"}, "roles": []string{f.role}}},
		"core_groups_partial_update": {body: map[string]any{"attributes": map[string]any{"k": "v3"}}},
		"core_groups_destroy":        {},
		// rbac
		"rbac_roles_list":             {query: url.Values{"search": {"conformance"}}},
		"rbac_roles_create":           {body: map[string]any{"name": "conformance-created-role"}},
		"rbac_roles_retrieve":         {},
		"rbac_roles_update":           {body: map[string]any{"name": "conformance-role"}},
		"rbac_roles_partial_update":   {body: map[string]any{"name": "conformance-role"}},
		"rbac_roles_destroy":          {},
		"rbac_permissions_list":       {query: url.Values{"ordering": {"codename"}, "search": {"user"}}},
		"rbac_permissions_roles_list": {},
		"rbac_permissions_assigned_by_roles_assign": {body: map[string]any{
			"permissions": []string{"authentik_core.view_user", "authentik_core.change_user"}}},
		"rbac_permissions_assigned_by_roles_unassign_partial_update": {body: map[string]any{
			"permissions": []string{"authentik_core.change_user"}}},
		// core/tokens
		"core_tokens_list": {query: url.Values{"intent": {"api"}}},
		"core_tokens_create": {body: map[string]any{"identifier": "conformance-created-token", "intent": "app_password",
			"user": f.user, "description": "created", "expiring": true, "expires": future}},
		"core_tokens_retrieve":          {},
		"core_tokens_partial_update":    {body: map[string]any{"description": "patched", "expires": future}},
		"core_tokens_destroy":           {},
		"core_tokens_view_key_retrieve": {},
		// core/brands
		"core_brands_list": {query: url.Values{"ordering": {"domain"}}},
		"core_brands_create": {body: map[string]any{"domain": "created.example.com", "branding_title": "Created",
			"web_certificate": f.kp, "attributes": map[string]any{"settings": map[string]any{}}}},
		"core_brands_current_retrieve": {},
		"core_brands_retrieve":         {},
		"core_brands_update": {body: map[string]any{"domain": "conformance.example.com", "branding_title": "Replaced",
			"branding_logo": "/static/logo.svg", "branding_favicon": "/static/icon.png"}},
		"core_brands_partial_update": {body: map[string]any{"branding_custom_css": "body{}"}},
		"core_brands_destroy":        {},
		// core/applications and providers
		"core_applications_list": {query: url.Values{"search": {"conformance"}}},
		"core_applications_create": {body: map[string]any{"name": "Created", "slug": "created-app",
			"open_in_new_tab": true, "meta_description": "d", "meta_publisher": "p", "policy_engine_mode": "any",
			"group": "g"}},
		"core_applications_retrieve": {},
		"core_applications_update": {body: map[string]any{"name": "Conformance", "slug": "conformance",
			"meta_launch_url": "https://app.example.com/", "policy_engine_mode": "all"}},
		"core_applications_partial_update":        {body: map[string]any{"meta_icon": "/static/icon.png"}},
		"core_applications_destroy":               {},
		"core_applications_check_access_retrieve": {query: url.Values{"for_user": {strconv.FormatInt(f.user, 10)}}},
		"core_applications_set_icon_create": {contentType: "multipart/form-data; boundary=" + conformanceBoundary,
			body: multipartFile("file", testPNG(4, 4))},
		"core_applications_set_icon_url_create": {body: map[string]any{"url": "https://cdn.example.com/icon.png"}},
		"providers_all_list":                    {},
		"providers_all_retrieve":                {},
		"providers_all_destroy":                 {},
		// providers/oauth2 and property mappings
		"providers_oauth2_list": {query: url.Values{"search": {"conformance"}, "ordering": {"-name"}}},
		"providers_oauth2_create": {body: map[string]any{"name": "conformance-created-oauth2", "authorization_flow": f.flowID,
			"invalidation_flow": f.flowID, "client_type": "public", "property_mappings": []string{f.scopeMapping},
			"access_token_validity": "minutes=5", "sub_mode": "user_email", "issuer_mode": "global",
			"redirect_uris": []map[string]any{{"matching_mode": "regex", "url": `https://.*\.example\.com/cb`,
				"redirect_uri_type": "authorization"}}, "jwt_federation_sources": []string{}}},
		"providers_oauth2_retrieve": {},
		"providers_oauth2_update": {body: map[string]any{"name": "conformance-oauth2", "authorization_flow": f.flowID,
			"invalidation_flow": f.flowID, "client_type": "confidential", "signing_key": f.kp, "encryption_key": f.kp,
			"refresh_token_threshold": "hours=1", "logout_uri": "https://conformance.example.com/logout", "logout_method": "frontchannel"}},
		"providers_oauth2_partial_update":                {body: map[string]any{"include_claims_in_id_token": false}},
		"providers_oauth2_destroy":                       {},
		"providers_oauth2_setup_urls_retrieve":           {},
		"propertymappings_all_list":                      {query: url.Values{"search": {"conformance"}, "ordering": {"name"}}},
		"propertymappings_all_retrieve":                  {},
		"propertymappings_all_destroy":                   {},
		"propertymappings_provider_scope_list":           {query: url.Values{"scope_name": {"conformance"}, "search": {"conformance"}}},
		"propertymappings_provider_scope_create":         {body: map[string]any{"name": "conformance-created-scope", "scope_name": "created", "description": "Created", "expression": "return {}"}},
		"propertymappings_provider_scope_retrieve":       {},
		"propertymappings_provider_scope_update":         {body: map[string]any{"name": "conformance-scope-replaced", "scope_name": "conformance", "expression": "return {}"}},
		"propertymappings_provider_scope_partial_update": {body: map[string]any{"description": "Patched"}},
		"propertymappings_provider_scope_destroy":        {},
		// oauth2 grants
		"oauth2_authorization_codes_list":     {query: url.Values{"provider": {strconv.FormatInt(f.oauth2Provider, 10)}}},
		"oauth2_authorization_codes_retrieve": {},
		"oauth2_authorization_codes_destroy":  {},
		"oauth2_access_tokens_list":           {query: url.Values{"provider": {strconv.FormatInt(f.oauth2Provider, 10)}, "page_size": {"5"}}},
		"oauth2_access_tokens_retrieve":       {},
		"oauth2_access_tokens_destroy":        {},
		"oauth2_refresh_tokens_list":          {},
		"oauth2_refresh_tokens_retrieve":      {},
		"oauth2_refresh_tokens_destroy":       {},
		// flows
		"flows_instances_list":             {query: url.Values{"designation": {"authentication"}, "search": {"conformance"}}},
		"flows_instances_create":           {body: map[string]any{"name": "Created flow", "slug": "created-flow", "title": "Created", "designation": "enrollment"}},
		"flows_instances_retrieve":         {},
		"flows_instances_diagram_retrieve": {},
		"flows_instances_export_retrieve":  {},
		"flows_instances_import_create": {contentType: "multipart/form-data; boundary=" + conformanceBoundary,
			body: multipartFile("file", []byte("version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: conformance-imported}\n"+
				"    attrs: {name: Imported, title: Imported, designation: authentication}\n"))},
		"flows_instances_set_background_create": {contentType: "multipart/form-data; boundary=" + conformanceBoundary,
			body: multipartFile("file", testPNG(8, 4))},
		"flows_instances_set_background_url_create": {body: map[string]any{"url": "https://cdn.example.com/bg.jpg"}},
		"flows_instances_partial_update":            {body: map[string]any{"title": "Conformance 2", "policy_engine_mode": "all"}},
		"flows_instances_destroy":                   {},
		"flows_bindings_list":                       {query: url.Values{"target": {f.flowID}}},
		"flows_bindings_create":                     {body: map[string]any{"target": f.flowID, "stage": f.stage, "order": 20}},
		"flows_bindings_retrieve":                   {},
		"flows_bindings_partial_update":             {body: map[string]any{"order": 30, "evaluate_on_plan": true}},
		"flows_bindings_destroy":                    {},
		"stages_all_list":                           {query: url.Values{"type": {"dummy"}}},
		"stages_all_retrieve":                       {},
		"stages_all_destroy":                        {},
		"stages_create":                             {body: map[string]any{"name": "created-deny", "settings": map[string]any{"deny_message": "no"}}},
		"stages_partial_update":                     {body: map[string]any{"name": "conformance-dummy-2", "settings": map[string]any{"throw_error": false}}},
		// policies
		"policies_all_list":                {query: url.Values{"type": {"dummy"}}},
		"policies_all_retrieve":            {},
		"policies_all_destroy":             {},
		"policies_all_test_create":         {body: map[string]any{"user": f.user}},
		"policies_create":                  {body: map[string]any{"name": "created-policy", "settings": map[string]any{"result": false}}},
		"policies_partial_update":          {body: map[string]any{"execution_logging": true, "settings": map[string]any{"result": true}}},
		"policies_bindings_list":           {query: url.Values{"target": {f.flowID}}},
		"policies_bindings_create":         {body: map[string]any{"target": f.flowID, "user": f.user, "order": 5}},
		"policies_bindings_retrieve":       {},
		"policies_bindings_partial_update": {body: map[string]any{"negate": true}},
		"policies_bindings_destroy":        {},
		// invitations
		"stages_invitation_invitations_list":           {query: url.Values{"search": {"conformance"}}},
		"stages_invitation_invitations_create":         {body: map[string]any{"name": "created-invite", "single_use": false}},
		"stages_invitation_invitations_retrieve":       {},
		"stages_invitation_invitations_partial_update": {body: map[string]any{"fixed_data": map[string]any{"name": "Invited"}}},
		"stages_invitation_invitations_destroy":        {},
		// authenticators (devices: makeDeviceFixtures)
		"authenticators_all_list":                      {},
		"authenticators_admin_all_list":                {query: url.Values{"user": {strconv.FormatInt(f.user, 10)}}},
		"authenticators_static_list":                   {query: url.Values{"search": {"conformance"}, "ordering": {"-name"}}},
		"authenticators_static_retrieve":               {},
		"authenticators_static_update":                 {body: map[string]any{"name": "conformance static 2"}},
		"authenticators_static_partial_update":         {body: map[string]any{"name": "conformance static 3"}},
		"authenticators_static_destroy":                {},
		"authenticators_totp_list":                     {query: url.Values{"name": {"conformance totp"}}},
		"authenticators_totp_retrieve":                 {},
		"authenticators_totp_update":                   {body: map[string]any{"name": "conformance totp 2"}},
		"authenticators_totp_partial_update":           {body: map[string]any{"name": "conformance totp 3"}},
		"authenticators_totp_destroy":                  {},
		"authenticators_webauthn_list":                 {query: url.Values{"page_size": {"5"}}},
		"authenticators_webauthn_retrieve":             {},
		"authenticators_webauthn_update":               {body: map[string]any{"name": "conformance webauthn 2"}},
		"authenticators_webauthn_partial_update":       {body: map[string]any{"name": "conformance webauthn 3"}},
		"authenticators_webauthn_destroy":              {},
		"authenticators_sms_list":                      {},
		"authenticators_sms_retrieve":                  {},
		"authenticators_sms_update":                    {body: map[string]any{"name": "conformance sms 2"}},
		"authenticators_sms_partial_update":            {body: map[string]any{"name": "conformance sms 3"}},
		"authenticators_sms_destroy":                   {},
		"authenticators_email_list":                    {},
		"authenticators_email_retrieve":                {},
		"authenticators_email_update":                  {body: map[string]any{"name": "conformance email 2"}},
		"authenticators_email_partial_update":          {body: map[string]any{"name": "conformance email 3"}},
		"authenticators_email_destroy":                 {},
		"authenticators_admin_static_list":             {query: url.Values{"user": {strconv.FormatInt(f.user, 10)}, "ordering": {"name"}}},
		"authenticators_admin_static_retrieve":         {},
		"authenticators_admin_static_update":           {body: map[string]any{"name": "admin static 2"}},
		"authenticators_admin_static_partial_update":   {body: map[string]any{"name": "admin static 3"}},
		"authenticators_admin_static_destroy":          {},
		"authenticators_admin_totp_list":               {query: url.Values{"search": {"admin"}, "name": {"admin totp"}}},
		"authenticators_admin_totp_retrieve":           {},
		"authenticators_admin_totp_update":             {body: map[string]any{"name": "admin totp 2"}},
		"authenticators_admin_totp_partial_update":     {body: map[string]any{"name": "admin totp 3"}},
		"authenticators_admin_totp_destroy":            {},
		"authenticators_admin_webauthn_list":           {},
		"authenticators_admin_webauthn_retrieve":       {},
		"authenticators_admin_webauthn_update":         {body: map[string]any{"name": "admin webauthn 2"}},
		"authenticators_admin_webauthn_partial_update": {body: map[string]any{"name": "admin webauthn 3"}},
		"authenticators_admin_webauthn_destroy":        {},
		"authenticators_admin_sms_list":                {},
		"authenticators_admin_sms_retrieve":            {},
		"authenticators_admin_sms_update":              {body: map[string]any{"name": "admin sms 2"}},
		"authenticators_admin_sms_partial_update":      {body: map[string]any{"name": "admin sms 3"}},
		"authenticators_admin_sms_destroy":             {},
		"authenticators_admin_email_list":              {},
		"authenticators_admin_email_retrieve":          {},
		"authenticators_admin_email_update":            {body: map[string]any{"name": "admin email 2"}},
		"authenticators_admin_email_partial_update":    {body: map[string]any{"name": "admin email 3"}},
		"authenticators_admin_email_destroy":           {},
		"stages_all_user_settings_list":                {},
		// sessions and consents (makeSessionFixtures)
		"core_authenticated_sessions_list":     {query: url.Values{"search": {"192.0.2"}, "ordering": {"-last_used"}}},
		"core_authenticated_sessions_retrieve": {},
		"core_authenticated_sessions_destroy":  {},
		"core_user_consent_list":               {query: url.Values{"search": {"conformance"}}},
		"core_user_consent_retrieve":           {},
		"core_user_consent_destroy":            {},
		// managed blueprints
		"managed_blueprints_list": {query: url.Values{"search": {"conformance"}, "ordering": {"-name"}, "name": {"conformance-blueprint"}}},
		"managed_blueprints_create": {body: map[string]any{"name": "conformance-created-blueprint", "content": conformanceBlueprint,
			"context": map[string]any{"a": 1}, "enabled": false}},
		"managed_blueprints_available_list": {},
		"managed_blueprints_retrieve":       {},
		"managed_blueprints_update":         {body: map[string]any{"name": "conformance-blueprint", "path": "conformance.yaml", "enabled": true}},
		"managed_blueprints_partial_update": {body: map[string]any{"context": map[string]any{"k": "v2"}}},
		"managed_blueprints_destroy":        {},
		"managed_blueprints_apply_create":   {},
		"managed_blueprints_import_create": {contentType: "multipart/form-data; boundary=" + conformanceBoundary,
			body: multipartFile("file", []byte("version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: conformance-imported}\n"))},
		// tasks
		"tasks_tasks_list":               {query: url.Values{"actor_name": {"conformance_task"}, "aggregated_status": {"warning"}, "ordering": {"-started"}}},
		"tasks_tasks_retrieve":           {},
		"tasks_schedules_list":           {query: url.Values{"search": {"conformance"}, "ordering": {"next_run"}}},
		"tasks_schedules_retrieve":       {},
		"tasks_schedules_partial_update": {body: map[string]any{"crontab": "*/7 * * * *", "paused": false}},
		"tasks_schedules_send_create":    {},
		"tasks_workers_list":             {},
		// crypto
		"crypto_certificatekeypairs_list": {query: url.Values{"has_key": {"true"}}},
		"crypto_certificatekeypairs_create": {body: map[string]any{"name": "conformance-imported",
			"certificate_data": f.certPEM, "key_data": f.keyPEM}},
		"crypto_certificatekeypairs_generate_create": {body: map[string]any{"common_name": "generated.example.com",
			"subject_alt_name": "generated.example.com, 127.0.0.1", "validity_days": 10, "alg": "rsa"}},
		"crypto_certificatekeypairs_retrieve":                  {},
		"crypto_certificatekeypairs_partial_update":            {body: map[string]any{"name": "conformance-renamed"}},
		"crypto_certificatekeypairs_destroy":                   {},
		"crypto_certificatekeypairs_view_certificate_retrieve": {},
		"crypto_certificatekeypairs_view_private_key_retrieve": {},
		// events
		"events_events_list":         {query: url.Values{"action": {"model_created"}, "ordering": {"-created"}, "created__gte": {"2000-01-01"}}},
		"events_events_actions_list": {},
		"events_events_volume_list":  {query: url.Values{"action": {"model_created"}, "history_days": {"1"}, "created__lte": {"2100-01-01T00:00:00Z"}}},
		"events_events_retrieve":     {},
		// events/rules, transports, notifications (notifications_test.go)
		"events_rules_list": {query: url.Values{"search": {"conformance"}, "ordering": {"-severity"}}},
		"events_rules_create": {body: map[string]any{"name": "conformance-created-rule", "transports": []string{f.transport},
			"severity": "warning", "destination_group": f.group, "destination_event_user": true}},
		"events_rules_retrieve":       {},
		"events_rules_update":         {body: map[string]any{"name": "conformance-rule", "transports": []string{f.transport}, "severity": "alert"}},
		"events_rules_partial_update": {body: map[string]any{"destination_event_user": false}},
		"events_rules_destroy":        {},
		"events_transports_list":      {query: url.Values{"search": {"conformance"}, "ordering": {"mode"}}},
		"events_transports_create": {body: map[string]any{"name": "conformance-created-transport", "mode": "webhook",
			"webhook_url": "https://hooks.example.com/x", "webhook_secret": "s", "send_once": true}},
		"events_transports_retrieve":                {},
		"events_transports_update":                  {body: map[string]any{"name": "conformance-transport", "mode": "local"}},
		"events_transports_partial_update":          {body: map[string]any{"email_subject_prefix": "[c] "}},
		"events_transports_destroy":                 {},
		"events_transports_test_create":             {},
		"events_notifications_list":                 {query: url.Values{"seen": {"false"}, "ordering": {"-created"}}},
		"events_notifications_retrieve":             {},
		"events_notifications_partial_update":       {body: map[string]any{"seen": true}},
		"events_notifications_destroy":              {},
		"events_notifications_mark_all_seen_create": {},
		"propertymappings_notification_list":        {query: url.Values{"search": {"conformance"}, "ordering": {"name"}}},
		"propertymappings_notification_create": {body: map[string]any{"name": "conformance-created-hook-body",
			"expression": `return {"text": notification.body}`}},
		"propertymappings_notification_retrieve":       {},
		"propertymappings_notification_update":         {body: map[string]any{"name": "conformance-hook-body", "expression": `return {"t": notification.severity}`}},
		"propertymappings_notification_partial_update": {body: map[string]any{"name": "conformance-hook-body-2"}},
		"propertymappings_notification_destroy":        {},
		// admin and root
		"admin_settings_retrieve": {},
		"admin_settings_update": {body: map[string]any{"avatars": "initials", "default_user_change_name": true,
			"default_user_change_email": false, "default_user_change_username": false, "event_retention": "days=365",
			"footer_links":    []any{map[string]any{"name": "Docs", "href": "https://example.com/"}},
			"gdpr_compliance": true, "impersonation": true, "impersonation_require_reason": true,
			"default_token_duration": "minutes=30", "default_token_length": 60, "flags": map[string]any{}}},
		"admin_settings_partial_update": {body: map[string]any{"default_token_duration": "hours=1"}},
		"admin_version_retrieve":        {},
		"root_config_retrieve":          {},
	}
}

// request builds the request for o (with a bearer token unless token is
// "") and the input for validating it.
func (c *conformance) request(o operation, f fixtures, oc opCase, token string) (*http.Request, *openapi3filter.RequestValidationInput) {
	c.t.Helper()
	pp := f.pathParams(o.path)
	u := c.srv.URL + "/api/v3" + fillPath(o.path, pp)
	if len(oc.query) > 0 {
		u += "?" + oc.query.Encode()
	}
	var body []byte
	if raw, ok := oc.body.([]byte); ok {
		body = raw
	} else if oc.body != nil {
		var err error
		if body, err = json.Marshal(oc.body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(o.method, u, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if oc.contentType != "" {
		req.Header.Set("Content-Type", oc.contentType)
	} else if oc.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if oc.session && token != "" {
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: f.sessionCookie})
		req.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: "conformance-csrf"})
		req.Header.Set(api.CSRFHeader, "conformance-csrf")
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: pp,
		Route: &routers.Route{Spec: c.doc, Server: c.doc.Servers[0], Path: o.path, PathItem: o.item,
			Method: o.method, Operation: o.op},
		Options: validationOptions(bearerAuth),
	}
	// ValidateRequest reads the body: give the request a fresh one after.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return req, in
}

// send sends req (with a fresh copy of its body).
func (c *conformance) send(req *http.Request) reply {
	c.t.Helper()
	out := req.Clone(req.Context())
	if req.GetBody != nil {
		b, _ := req.GetBody()
		out.Body = b
	}
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// validateResponse checks the status is documented and the body matches.
func (c *conformance) validateResponse(in *openapi3filter.RequestValidationInput, r reply) error {
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                validationOptions(nil),
	})
}

func TestSchemaValid(t *testing.T) {
	c := newConformance(t)
	yamlDoc := c.loadSchema("")
	if got, want := len(yamlDoc.Paths.Map()), len(c.doc.Paths.Map()); got != want {
		t.Errorf("YAML schema has %d paths, JSON %d", got, want)
	}
	for _, d := range []*openapi3.T{c.doc, yamlDoc} {
		if !strings.HasPrefix(d.OpenAPI, "3.0.") {
			t.Errorf("default schema is OpenAPI %q, want the 3.0 downgrade", d.OpenAPI)
		}
	}

	// The native 3.1 document, JSON and YAML, is valid as well.
	doc31 := c.loadSchema(schema31)
	yaml31 := c.loadSchema("?version=3.1")
	for _, d := range []*openapi3.T{doc31, yaml31} {
		if d.OpenAPI != "3.1.0" || len(d.Paths.Map()) != len(c.doc.Paths.Map()) {
			t.Errorf("3.1 schema: openapi %q with %d paths", d.OpenAPI, len(d.Paths.Map()))
		}
	}
	b, resp := c.fetch("/schema/" + schema31)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("3.1 JSON schema Content-Type %q", ct)
	}
	var v31 map[string]any
	if err := json.Unmarshal(b, &v31); err != nil {
		t.Fatalf("3.1 schema is not JSON: %v", err)
	}
	if v31["openapi"] != "3.1.0" {
		t.Errorf("3.1 schema says openapi %v", v31["openapi"])
	}
	if paths, _ := v31["paths"].(map[string]any); len(paths) != len(c.doc.Paths.Map()) {
		t.Errorf("3.1 schema has %d paths, 3.0 %d", len(paths), len(c.doc.Paths.Map()))
	}

	for _, d := range []*openapi3.T{c.doc, yamlDoc, doc31} {
		for _, p := range promisedOperations {
			item := d.Paths.Value(p.path)
			if item == nil {
				t.Errorf("schema has no path %s", p.path)
				continue
			}
			o := item.GetOperation(p.method)
			if o == nil {
				t.Errorf("schema has no %s %s", p.method, p.path)
				continue
			}
			if o.OperationID != p.id {
				t.Errorf("%s %s: operationId %q, want %q", p.method, p.path, o.OperationID, p.id)
			}
		}
		ss := d.Components.SecuritySchemes["authentik"]
		if ss == nil || ss.Value == nil || ss.Value.Type != "http" || ss.Value.Scheme != "bearer" {
			t.Errorf("no bearer security scheme \"authentik\": %+v", ss)
		}
		if len(d.Security) == 0 || d.Security[0]["authentik"] == nil {
			t.Errorf("the bearer scheme is not required by default: %+v", d.Security)
		}
	}

	// Operation ids are unique, and every operation documents its errors.
	seen := map[string]string{}
	for _, o := range c.operations() {
		if o.op.OperationID == "" {
			t.Errorf("%s %s has no operationId", o.method, o.path)
		}
		if prev, ok := seen[o.op.OperationID]; ok {
			t.Errorf("operationId %s on %s and %s %s", o.op.OperationID, prev, o.method, o.path)
		}
		seen[o.op.OperationID] = o.method + " " + o.path
		for _, code := range []int{400, 403} {
			if o.op.Responses.Status(code) == nil {
				t.Errorf("%s does not document %d", o, code)
			}
		}
	}
}

// TestEveryOperation calls every operation of the schema, validating the
// request and the answer against the 3.0 document and against the 3.1 one.
func TestEveryOperation(t *testing.T) {
	t.Run("3.0", func(t *testing.T) { testEveryOperation(t, "?format=json") })
	t.Run("3.1", func(t *testing.T) { testEveryOperation(t, schema31) })
}

func testEveryOperation(t *testing.T, query string) {
	c := newConformanceFor(t, query)
	f := c.makeFixtures()
	cases := f.cases()
	ctx := context.Background()

	inSchema := map[string]bool{}
	for _, o := range c.operations() {
		id := o.op.OperationID
		inSchema[id] = true
		oc, ok := cases[id]
		if !ok {
			t.Errorf("%s: no entry in the test's operation table; add one", o)
			continue
		}
		if (oc.body != nil) != (o.op.RequestBody != nil) {
			t.Errorf("%s: the table has body %v, the schema request body %v", o, oc.body != nil, o.op.RequestBody != nil)
			continue
		}
		req, in := c.request(o, f, oc, apitest.AdminToken)
		for name := range f.pathParams(o.path) {
			if o.op.Parameters.GetByInAndName(openapi3.ParameterInPath, name) == nil {
				t.Errorf("%s: path parameter %q is not documented", o, name)
			}
		}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s: the test's request does not match the schema: %v", o, err)
			continue
		}
		r := c.send(req)
		if r.status/100 != 2 {
			t.Errorf("%s: status %d, want 2xx: %s", o, r.status, r.body)
			continue
		}
		if err := c.validateResponse(in, r); err != nil {
			t.Errorf("%s: the answer does not match the schema: %v\n%s", o, err, r.body)
		}
	}
	for id := range cases {
		if !inSchema[id] {
			t.Errorf("the operation table has %s, which the schema does not", id)
		}
	}
}

func TestOperationsRequireAuth(t *testing.T) {
	c := newConformance(t)
	f := c.makeFixtures()
	cases := f.cases()
	for _, o := range c.operations() {
		id := o.op.OperationID
		oc := cases[id]
		// Without credentials: the request is otherwise valid, then without
		// its body and query (authentication comes before validation).
		for _, variant := range []opCase{oc, {}} {
			req, in := c.request(o, f, variant, "")
			r := c.send(req)
			if publicOperations[id] {
				// The schema says so: the token is optional.
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("%s without credentials: the schema does not allow it: %v", o, err)
				}
				if r.status != http.StatusOK {
					t.Errorf("%s without credentials: %d, want 200 (public): %s", o, r.status, r.body)
				} else if err := c.validateResponse(in, r); err != nil {
					t.Errorf("%s without credentials: the answer does not match the schema: %v", o, err)
				}
				continue
			}
			if r.status != http.StatusForbidden {
				t.Errorf("%s without credentials (body %v): %d, want 403: %s", o, variant.body != nil, r.status, r.body)
				continue
			}
			if d, ok := r.json(t)["detail"].(string); !ok || d == "" {
				t.Errorf("%s without credentials: body %s, want {\"detail\": ...}", o, r.body)
			}
			if err := c.validateResponse(in, r); err != nil {
				t.Errorf("%s without credentials: the 403 does not match the schema: %v", o, err)
			}
		}
		// A bearer token that is no token: refused, public or not (and
		// session-only operations get the bearer header here, not a cookie).
		bad := oc
		bad.session = false
		req, in := c.request(o, f, bad, "not-a-token-0123456789")
		r := c.send(req)
		if r.status != http.StatusForbidden {
			t.Errorf("%s with a bad token: %d, want 403: %s", o, r.status, r.body)
			continue
		}
		if d, ok := r.json(t)["detail"].(string); !ok || d == "" {
			t.Errorf("%s with a bad token: body %s, want {\"detail\": ...}", o, r.body)
		}
		if err := c.validateResponse(in, r); err != nil {
			t.Errorf("%s with a bad token: the 403 does not match the schema: %v", o, err)
		}
	}
}

// requireDRFValidation checks a 400 body is DRF's {"field": ["message", ...]}.
func requireDRFValidation(t *testing.T, what string, r reply, field string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400: %s", what, r.status, r.body)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil || len(m) == 0 {
		t.Errorf("%s: body %s is not a non-empty JSON object", what, r.body)
		return
	}
	for k, v := range m {
		if k == "detail" {
			t.Errorf("%s: a validation error has \"detail\": %s", what, r.body)
		}
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			t.Errorf("%s: %q is %v, want a list of messages", what, k, v)
			continue
		}
		for _, s := range list {
			if msg, ok := s.(string); !ok || msg == "" {
				t.Errorf("%s: %q holds %v, want message strings", what, k, s)
			}
		}
	}
	if field != "" {
		if _, ok := m[field]; !ok {
			t.Errorf("%s: no error on %q: %s", what, field, r.body)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	c := newConformance(t)
	f := c.makeFixtures()
	countEvents := func() int {
		var out struct {
			Pagination struct {
				Count int `json:"count"`
			} `json:"pagination"`
		}
		c.admin("GET", "/events/events/", nil, &out)
		return out.Pagination.Count
	}
	before := countEvents()

	// find returns the operation of the document for validating answers.
	find := func(method, path string) operation {
		item := c.doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Fatalf("no %s %s in the schema", method, path)
		}
		return operation{path: path, method: method, item: item, op: item.GetOperation(method)}
	}
	check := func(what, method, path string, oc opCase, wantStatus int, field string) reply {
		t.Helper()
		o := find(method, path)
		req, in := c.request(o, f, oc, apitest.AdminToken)
		r := c.send(req)
		if wantStatus == http.StatusBadRequest {
			requireDRFValidation(t, what, r, field)
		} else if r.status != wantStatus {
			t.Errorf("%s: status %d, want %d: %s", what, r.status, wantStatus, r.body)
		}
		if err := c.validateResponse(in, r); err != nil {
			t.Errorf("%s: the error does not match the schema: %v\n%s", what, err, r.body)
		}
		return r
	}

	check("wrong types", "POST", "/core/users/", opCase{body: map[string]any{"username": 5, "is_active": "yes"}}, 400, "username")
	check("missing required field", "POST", "/core/groups/", opCase{body: map[string]any{"is_superuser": false}}, 400, "")
	check("missing required field", "POST", "/rbac/roles/", opCase{body: map[string]any{}}, 400, "")
	check("invalid username", "POST", "/core/users/", opCase{body: map[string]any{"username": "no spaces allowed", "name": "x"}}, 400, "username")
	check("invalid JSON", "PATCH", "/core/users/{id}/", opCase{body: []byte(`{"name": "x",}`)}, 400, "")
	check("duplicate", "POST", "/rbac/roles/", opCase{body: map[string]any{"name": "conformance-role"}}, 400, "name")
	check("unknown permission", "POST", "/rbac/permissions/assigned_by_roles/{id}/assign/",
		opCase{body: map[string]any{"permissions": []string{"authentik_core.fly"}}}, 400, "permissions")
	for _, p := range []string{"/core/users/", "/core/groups/", "/core/applications/", "/events/events/",
		"/rbac/roles/", "/crypto/certificatekeypairs/", "/providers/all/", "/core/tokens/", "/core/brands/"} {
		check("unknown ordering on "+p, "GET", p, opCase{query: url.Values{"ordering": {"no_such_field"}}}, 400, "ordering")
		check("page_size over 100 on "+p, "GET", p, opCase{query: url.Values{"page_size": {"101"}}}, 400, "page_size")
	}

	notFound := func(what, method, path string, pp map[string]string, body any) {
		t.Helper()
		o := find(method, path)
		nf := f
		switch {
		case pp["id"] != "" && strings.HasPrefix(path, "/core/users/"):
			nf.user, _ = strconv.ParseInt(pp["id"], 10, 64)
		case pp["id"] != "" && strings.HasPrefix(path, "/providers/"):
			nf.provider, _ = strconv.ParseInt(pp["id"], 10, 64)
		case pp["id"] != "":
			nf.group, nf.role, nf.brand, nf.kp, nf.event = pp["id"], pp["id"], pp["id"], pp["id"], pp["id"]
		case pp["slug"] != "":
			nf.app = pp["slug"]
		case pp["identifier"] != "":
			nf.token = pp["identifier"]
		}
		req, in := c.request(o, nf, opCase{body: body}, apitest.AdminToken)
		r := c.send(req)
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404: %s", what, r.status, r.body)
			return
		}
		if m := r.json(t); len(m) != 1 || m["detail"] != "Not found." {
			t.Errorf("%s: body %s, want {\"detail\": \"Not found.\"}", what, r.body)
		}
		if err := c.validateResponse(in, r); err != nil {
			t.Errorf("%s: the 404 does not match the schema: %v", what, err)
		}
	}
	missing := "00000000-0000-4000-8000-000000000000"
	notFound("unknown user", "GET", "/core/users/{id}/", map[string]string{"id": "999999"}, nil)
	notFound("unknown user (patch)", "PATCH", "/core/users/{id}/", map[string]string{"id": "999999"}, map[string]any{"name": "x"})
	notFound("unknown group", "GET", "/core/groups/{id}/", map[string]string{"id": missing}, nil)
	notFound("unknown role", "DELETE", "/rbac/roles/{id}/", map[string]string{"id": missing}, nil)
	notFound("unknown brand", "GET", "/core/brands/{id}/", map[string]string{"id": missing}, nil)
	notFound("unknown key pair", "GET", "/crypto/certificatekeypairs/{id}/", map[string]string{"id": missing}, nil)
	notFound("unknown event", "GET", "/events/events/{id}/", map[string]string{"id": missing}, nil)
	notFound("unknown provider", "GET", "/providers/all/{id}/", map[string]string{"id": "999999"}, nil)
	notFound("unknown application", "GET", "/core/applications/{slug}/", map[string]string{"slug": "no-such-app"}, nil)
	notFound("unknown token", "GET", "/core/tokens/{identifier}/", map[string]string{"identifier": "no-such-token"}, nil)

	// A path the API does not have.
	if r := c.do("GET", "/core/no-such-thing/", apitest.AdminToken, nil); r.status != http.StatusNotFound ||
		r.json(t)["detail"] != "Not found." {
		t.Errorf("unknown path: %d %s, want 404 {\"detail\": \"Not found.\"}", r.status, r.body)
	}

	if after := countEvents(); after != before {
		t.Errorf("failed requests wrote %d events", after-before)
	}
}

// testKeyPair makes a self-signed ECDSA P-256 certificate and its key (PEM),
// for the import operation.
func testKeyPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imported.example.com"},
		DNSNames: []string{"imported.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// adminSession makes a browser session for akadmin directly in the store and
// returns its cookie value.
func (c *conformance) adminSession() string {
	c.t.Helper()
	ctx := context.Background()
	admin, err := c.srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		c.t.Fatal(err)
	}
	cookie := "conformance-session-cookie-value"
	sum := sha256.Sum256([]byte(cookie))
	if err := c.srv.Store.CreateSession(ctx, &store.Session{Key: hex.EncodeToString(sum[:]), UserPK: &admin.PK,
		Expires: time.Now().Add(time.Hour)}); err != nil {
		c.t.Fatal(err)
	}
	return cookie
}

// conformanceBoundary is the multipart boundary of the upload cases.
const conformanceBoundary = "conformance-boundary-7d1f"

// multipartFile is a multipart/form-data body with one file field.
func multipartFile(field string, data []byte) []byte {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary(conformanceBoundary)
	fw, _ := mw.CreateFormFile(field, field+".yaml")
	_, _ = fw.Write(data)
	_ = mw.Close()
	return buf.Bytes()
}
