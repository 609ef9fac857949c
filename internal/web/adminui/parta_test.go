package adminui_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// partA is newEnv plus what the application, provider, flow, stage and
// policy pages show: a flow with a stage binding, policies, and policy
// bindings on the application, the flow and the stage binding, most named
// with the XSS payload.
type partA struct {
	*env
	provider              string // the wiki's OAuth2 provider pk
	flow, flowPK          string // slug, uuid
	stage, binding        string // a deny stage, its binding in flow
	policy                string // an expression policy
	appBinding            string // policy binding of the wiki
	authzFlow, invalFlow  string // uuids, for the wizard
	identification, dummy string // stages: with a form, and without one
}

func newPartA(t testing.TB) *partA {
	t.Helper()
	e := &partA{env: newEnv(t)}
	id := func(m map[string]any, key string) string {
		switch v := m[key].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatInt(int64(v), 10)
		}
		t.Fatalf("no %s in %v", key, m)
		return ""
	}
	e.provider = strconv.FormatInt(*e.app.ProviderPK, 10)
	f := e.apiCall(http.MethodPost, "/flows/instances/", `{"name":"Login `+jsonEsc(xss)+`","slug":"xflow","title":"`+jsonEsc(xss)+`","designation":"authentication"}`, 201)
	e.flow, e.flowPK = "xflow", id(f, "pk")
	e.stage = id(e.apiCall(http.MethodPost, "/stages/deny/", `{"name":"Deny `+jsonEsc(xss)+`","deny_message":"`+jsonEsc(xss)+`"}`, 201), "pk")
	e.binding = id(e.apiCall(http.MethodPost, "/flows/bindings/", fmt.Sprintf(`{"target":%q,"stage":%q,"order":10}`, e.flowPK, e.stage), 201), "pk")
	e.policy = id(e.apiCall(http.MethodPost, "/policies/expression/", `{"name":"Only carol `+jsonEsc(xss)+`","expression":"return request.user.username == \"carol\""}`, 201), "pk")
	e.appBinding = id(e.apiCall(http.MethodPost, "/policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":0}`, e.app.UUID, e.policy), 201), "pk")
	for _, target := range []string{e.flowPK, e.binding} {
		e.apiCall(http.MethodPost, "/policies/bindings/", fmt.Sprintf(`{"target":%q,"policy":%q,"order":0}`, target, e.policy), 201)
	}
	e.authzFlow = id(e.apiCall(http.MethodPost, "/flows/instances/", `{"name":"Consent","slug":"consent","title":"Consent","designation":"authorization"}`, 201), "pk")
	e.invalFlow = id(e.apiCall(http.MethodPost, "/flows/instances/", `{"name":"Logout","slug":"logout","title":"Logout","designation":"invalidation"}`, 201), "pk")
	e.identification = id(e.apiCall(http.MethodPost, "/stages/identification/", `{"name":"Identify","user_fields":["username"],"webauthn_stage":null,"recovery_flow":"keep-me"}`, 201), "pk")
	e.dummy = id(e.apiCall(http.MethodPost, "/stages/dummy/", `{"name":"Dummy `+jsonEsc(xss)+`","settings":{}}`, 201), "pk")
	return e
}

// TestPartAOnPostgres runs these tests again on PostgreSQL
// (GATEHOUSE_TEST_POSTGRES_URL).
func TestPartAOnPostgres(t *testing.T) {
	testenv.PostgresDB(t) // skips (fails under CI=true) without PostgreSQL
	onPostgres = true
	t.Cleanup(func() { onPostgres = false })
	for name, f := range map[string]func(*testing.T){"pages": TestPartAPagesRender, "wizard": TestAppWizard,
		"edit": TestAppEditIconDelete, "provider": TestOAuth2ProviderPages, "bindings": TestAppPolicyBindings,
		"flows": TestFlowPages, "typed": TestStagesAndPolicies, "test": TestPolicyTestPage} {
		t.Run(name, f)
	}
}

// jsonEsc escapes s for a JSON string literal.
func jsonEsc(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

// pagesA are the GET pages of part A with their titles.
func (e *partA) pagesA() map[string]string {
	f, b, p := "/if/admin/flows/"+e.flow+"/", e.binding, e.policy
	return map[string]string{
		"/if/admin/applications/new/":                                       "New application",
		"/if/admin/applications/wiki/edit/":                                 "Edit Wiki " + xss,
		"/if/admin/applications/wiki/delete/":                               "Delete application",
		"/if/admin/applications/wiki/policies/":                             "Policies of Wiki " + xss,
		"/if/admin/applications/wiki/policies/" + e.appBinding + "/delete/": "Delete policy binding",
		"/if/admin/providers/oauth2/" + e.provider + "/":                    "Wiki provider " + xss,
		"/if/admin/providers/oauth2/" + e.provider + "/?secret=show":        "Wiki provider " + xss,
		"/if/admin/providers/oauth2/" + e.provider + "/edit/":               "Edit Wiki provider " + xss,
		"/if/admin/providers/oauth2/" + e.provider + "/delete/":             "Delete provider",
		"/if/admin/flows/new/":                                              "New flow",
		"/if/admin/flows/import/":                                           "Import a flow",
		f:                                                                   "Login " + xss,
		f + "edit/":                                                         "Edit Login " + xss,
		f + "delete/":                                                       "Delete flow",
		f + "policies/":                                                     "Policies of the flow Login " + xss,
		f + "bindings/" + b + "/":                                           "Binding of Deny " + xss,
		f + "bindings/" + b + "/delete/":                                    "Delete stage binding",
		f + "bindings/" + b + "/policies/":                                  "Policies of the stage Deny " + xss + " in Login " + xss,
		"/if/admin/stages/":                                                 "Stages",
		"/if/admin/stages/?q=deny&type=deny":                                "Stages",
		"/if/admin/stages/new/":                                             "New stage",
		"/if/admin/stages/new/?type=prompt":                                 "New prompt stage",
		"/if/admin/stages/new/?type=captcha":                                "New captcha stage",
		"/if/admin/stages/" + e.stage + "/":                                 "Edit Deny " + xss,
		"/if/admin/stages/" + e.dummy + "/":                                 "Edit Dummy " + xss,
		"/if/admin/stages/" + e.stage + "/delete/":                          "Delete stage",
		"/if/admin/policies/":                                               "Policies",
		"/if/admin/policies/new/":                                           "New policy",
		"/if/admin/policies/new/?type=password":                             "New password policy",
		"/if/admin/policies/" + p + "/":                                     "Edit Only carol " + xss,
		"/if/admin/policies/" + p + "/test/":                                "Test Only carol " + xss,
		"/if/admin/policies/" + p + "/delete/":                              "Delete policy",
	}
}

// postsA are part A's POST endpoints.
func (e *partA) postsA() []string {
	f, b := "/if/admin/flows/"+e.flow+"/", e.binding
	return []string{"/if/admin/applications/new/", "/if/admin/applications/wiki/edit/", "/if/admin/applications/wiki/icon/",
		"/if/admin/applications/wiki/delete/", "/if/admin/applications/wiki/policies/",
		"/if/admin/applications/wiki/policies/" + e.appBinding + "/", "/if/admin/applications/wiki/policies/" + e.appBinding + "/delete/",
		"/if/admin/providers/oauth2/" + e.provider + "/edit/", "/if/admin/providers/oauth2/" + e.provider + "/delete/",
		"/if/admin/flows/new/", "/if/admin/flows/import/", f + "edit/", f + "delete/", f + "bindings/", f + "bindings/" + b + "/",
		f + "bindings/" + b + "/order/", f + "bindings/" + b + "/delete/", f + "policies/",
		"/if/admin/stages/new/?type=deny", "/if/admin/stages/" + e.stage + "/", "/if/admin/stages/" + e.stage + "/delete/",
		"/if/admin/policies/new/?type=dummy", "/if/admin/policies/" + e.policy + "/", "/if/admin/policies/" + e.policy + "/delete/",
		"/if/admin/policies/" + e.policy + "/test/"}
}

// Every page renders with its title, the layout, no unescaped payload,
// no inline code, and the CSRF field in its post forms.
func TestPartAPagesRender(t *testing.T) {
	e := newPartA(t)
	esc := strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;")
	for path, title := range e.pagesA() {
		t.Run(path, func(t *testing.T) {
			body := e.page(path)
			if !strings.Contains(body, "<title>"+esc.Replace(title)+" · Admin · ") {
				t.Errorf("no title %q", title)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
				t.Error("unescaped XSS payload")
			}
			if m := inlineCode.FindString(body); m != "" {
				t.Errorf("inline code %q", m)
			}
			if !strings.Contains(body, `aria-label="Administration"`) {
				t.Error("no sidebar")
			}
			if strings.Count(body, `<form method="post"`) != strings.Count(body, `name="csrf" value="`+csrf+`"`) {
				t.Error("a post form without the CSRF field")
			}
		})
	}
}

// Users without permissions get 403 pages and change nothing.
func TestPartANonAdmin(t *testing.T) {
	e := newPartA(t)
	for path := range e.pagesA() {
		body := e.page2(e.carolC, path, http.StatusForbidden)
		for _, secret := range []string{"wiki-client-id", "Deny &lt;", "Only carol"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q to carol", path, secret)
			}
		}
	}
	for _, path := range e.postsA() {
		if w := e.post(e.carolC, path, csrf, url.Values{"name": {"x"}, "slug": {"x"}, "order": {"1"}}); w.Code != http.StatusForbidden {
			t.Errorf("carol POST %s: %d", path, w.Code)
		}
	}
	e.apiCall(http.MethodGet, "/core/applications/wiki/", "", 200)
	e.apiCall(http.MethodGet, "/stages/all/"+e.stage+"/", "", 200)
}

// Every POST needs the form's CSRF field.
func TestPartACSRF(t *testing.T) {
	e := newPartA(t)
	for _, path := range e.postsA() {
		for _, token := range []string{"", "wrong"} {
			w := e.post(e.adminC, path, token, url.Values{"name": {"x"}, "slug": {"x"}, "order": {"1"}, "provider_type": {"none"}})
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CSRF check failed") {
				t.Errorf("POST %s with csrf %q: %d", path, token, w.Code)
			}
		}
	}
	e.apiCall(http.MethodGet, "/core/applications/wiki/", "", 200)
	e.apiCall(http.MethodGet, "/flows/instances/"+e.flow+"/", "", 200)
	e.apiCall(http.MethodGet, "/policies/bindings/"+e.appBinding+"/", "", 200)
	if got := e.apiCall(http.MethodGet, "/core/applications/?page_size=100", "", 200); got["pagination"].(map[string]any)["count"].(float64) != 1 {
		t.Errorf("applications: %v", got["pagination"])
	}
}

// wantForm posts as akadmin and wants status; it returns the body.
func (e *partA) wantForm(path string, form url.Values, status int) string {
	e.t.Helper()
	w := e.post(e.adminC, path, csrf, form)
	if w.Code != status {
		e.t.Fatalf("POST %s: %d, want %d: %.600s", path, w.Code, status, w.Body)
	}
	return w.Body.String()
}

func (e *partA) count(path string) int {
	e.t.Helper()
	return int(e.apiCall(http.MethodGet, path, "", 200)["pagination"].(map[string]any)["count"].(float64))
}

// The wizard creates the application and its OAuth2 provider; a refused
// application shows its errors inline and leaves no provider behind.
func TestAppWizard(t *testing.T) {
	e := newPartA(t)
	form := func(slug string) url.Values {
		return url.Values{"name": {"Chat " + xss}, "slug": {slug}, "policy_engine_mode": {"any"}, "provider_type": {"oauth2"},
			"provider_name": {"Chat provider"}, "authorization_flow": {e.authzFlow}, "invalidation_flow": {e.invalFlow},
			"client_type": {"confidential"}, "redirect_mode": {"strict", "regex"},
			"redirect_url":         {"https://chat.example.com/cb", `^https://.*\.chat\.example\.com/cb$`},
			"access_code_validity": {"minutes=1"}, "access_token_validity": {"hours=1"}, "refresh_token_validity": {"days=30"},
			"sub_mode": {"hashed_user_id"}, "issuer_mode": {"per_provider"}, "include_claims_in_id_token": {"on"}}
	}
	providers := e.count("/providers/all/")
	// The API's 400 on the application (a taken slug) is shown inline.
	body := e.wantForm("/if/admin/applications/new/", form("wiki"), http.StatusBadRequest)
	if !strings.Contains(body, `id="slug" name="slug" value="wiki"`) || !strings.Contains(body, `class="field-error"`) ||
		strings.Contains(body, "<script>alert") {
		t.Errorf("the taken slug is not shown inline: %.2000s", body)
	}
	if n := e.count("/providers/all/"); n != providers {
		t.Errorf("providers after a refused application: %d, want %d", n, providers)
	}
	// The provider's 400 (no authorization flow) is shown in its section.
	bad := form("chat")
	bad.Del("authorization_flow")
	body = e.wantForm("/if/admin/applications/new/", bad, http.StatusBadRequest)
	if !strings.Contains(body, "This field is required.") {
		t.Errorf("the provider's error is not shown: %.1500s", body)
	}
	w := e.post(e.adminC, "/if/admin/applications/new/", csrf, form("chat"))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/if/admin/applications/chat/?done=app-created" {
		t.Fatalf("create: %d %s %.500s", w.Code, w.Header().Get("Location"), w.Body)
	}
	app := e.apiCall(http.MethodGet, "/core/applications/chat/", "", 200)
	prov := app["provider_obj"].(map[string]any)
	if prov["name"] != "Chat provider" || prov["component"] != "ak-provider-oauth2-form" {
		t.Fatalf("provider: %v", prov)
	}
	o := e.apiCall(http.MethodGet, fmt.Sprintf("/providers/oauth2/%.0f/", prov["pk"].(float64)), "", 200)
	uris := o["redirect_uris"].([]any)
	if len(uris) != 2 || uris[1].(map[string]any)["matching_mode"] != "regex" || o["client_id"] == "" {
		t.Errorf("oauth2 provider: %v", o)
	}
	page := e.page("/if/admin/applications/chat/?done=app-created")
	for _, want := range []string{"The application was created.", `id="ep-issuer"`, `href="/if/admin/providers/oauth2/`} {
		if !strings.Contains(page, want) {
			t.Errorf("application page: no %q", want)
		}
	}
	// A bookmark: no provider.
	w = e.post(e.adminC, "/if/admin/applications/new/", csrf, url.Values{"name": {"Docs"}, "slug": {"docs"},
		"meta_launch_url": {"https://docs.example.com"}, "policy_engine_mode": {"all"}, "provider_type": {"none"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("bookmark: %d %.500s", w.Code, w.Body)
	}
	if app := e.apiCall(http.MethodGet, "/core/applications/docs/", "", 200); app["provider"] != nil || app["policy_engine_mode"] != "all" {
		t.Errorf("bookmark: %v", app)
	}
}

// The edit form saves through the API and shows its 400 inline; the icon
// goes to the media operations; delete asks first.
func TestAppEditIconDelete(t *testing.T) {
	e := newPartA(t)
	body := e.wantForm("/if/admin/applications/wiki/edit/", url.Values{"name": {"Wiki"}, "slug": {"bad slug!"},
		"policy_engine_mode": {"any"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Enter a valid slug") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("slug error not inline: %.1500s", body)
	}
	w := e.post(e.adminC, "/if/admin/applications/wiki/edit/", csrf, url.Values{"name": {"Wiki 2"}, "slug": {"wiki2"},
		"group": {"Docs"}, "meta_publisher": {"ACME"}, "open_in_new_tab": {"on"}, "policy_engine_mode": {"all"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/if/admin/applications/wiki2/?done=app-saved" {
		t.Fatalf("save: %d %s", w.Code, w.Header().Get("Location"))
	}
	app := e.apiCall(http.MethodGet, "/core/applications/wiki2/", "", 200)
	if app["name"] != "Wiki 2" || app["group"] != "Docs" || app["open_in_new_tab"] != true || app["policy_engine_mode"] != "all" ||
		app["meta_publisher"] != "ACME" || app["provider"] == nil {
		t.Errorf("saved: %v", app)
	}
	// An icon by URL, then an upload (this server keeps no media: the
	// API's 400 is shown), then one that is not an image URL.
	if w := e.post(e.adminC, "/if/admin/applications/wiki2/icon/", csrf, url.Values{"icon_url": {"https://cdn.example.com/i.png"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("icon url: %d %.500s", w.Code, w.Body)
	}
	if got := e.apiCall(http.MethodGet, "/core/applications/wiki2/", "", 200)["meta_icon"]; got != "https://cdn.example.com/i.png" {
		t.Errorf("icon: %v", got)
	}
	up := e.multipart("/if/admin/applications/wiki2/icon/", map[string]string{"csrf": csrf}, []byte("\x89PNG\r\n\x1a\n0000"))
	if up.Code != http.StatusBadRequest || !strings.Contains(up.Body.String(), "keeps no uploaded media") {
		t.Errorf("upload: %d %.800s", up.Code, up.Body)
	}
	if up := e.multipart("/if/admin/applications/wiki2/icon/", map[string]string{}, []byte("x")); up.Code != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", up.Code)
	}
	e.wantForm("/if/admin/applications/wiki2/icon/", url.Values{"icon_url": {"javascript:alert(1)"}}, http.StatusBadRequest)
	if page := e.page("/if/admin/applications/wiki2/delete/"); !strings.Contains(page, "Delete the application") {
		t.Error("no confirmation")
	}
	e.wantForm("/if/admin/applications/wiki2/delete/", nil, http.StatusSeeOther)
	e.apiCall(http.MethodGet, "/core/applications/wiki2/", "", 404)
}

// multipart posts a file upload as akadmin with fields.
func (e *partA) multipart(path string, fields map[string]string, file []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "f")
	_, _ = fw.Write(file)
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, path, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: e.adminC})
	r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: csrf})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// The provider page shows the endpoints and the secret only on request;
// the edit form saves redirect URIs, type and scopes.
func TestOAuth2ProviderPages(t *testing.T) {
	e := newPartA(t)
	p := "/if/admin/providers/oauth2/" + e.provider + "/"
	page := e.page(p)
	for _, want := range []string{`value="wiki-client-id"`, `id="ep-issuer"`, `id="ep-jwks"`, `id="ep-discovery"`, `id="show-secret"`} {
		if !strings.Contains(page, want) {
			t.Errorf("provider page: no %q", want)
		}
	}
	if strings.Contains(page, "wiki-client-secret-value") {
		t.Error("the secret is shown without asking")
	}
	if !strings.Contains(e.page(p+"?secret=show"), `id="ep-client-secret" readonly value="wiki-client-secret-value"`) {
		t.Error("the secret is not shown on request")
	}
	body := e.wantForm(p+"edit/", url.Values{"provider_name": {"Wiki provider"}, "client_type": {"public"},
		"redirect_mode": {"strict"}, "redirect_url": {"not a url"}, "access_code_validity": {"minutes=1"},
		"access_token_validity": {"hours=1"}, "refresh_token_validity": {"days=30"}, "sub_mode": {"user_email"},
		"issuer_mode": {"per_provider"}}, http.StatusBadRequest)
	if !strings.Contains(body, `class="field-error"`) {
		t.Errorf("no inline error: %.1500s", body)
	}
	e.wantForm(p+"edit/", url.Values{"provider_name": {"Wiki provider"}, "client_type": {"public"},
		"redirect_mode": {"strict", "strict"}, "redirect_url": {"https://wiki.example.com/cb", ""}, "access_code_validity": {"minutes=2"},
		"access_token_validity": {"hours=1"}, "refresh_token_validity": {"days=30"}, "sub_mode": {"user_email"},
		"issuer_mode": {"global"}}, http.StatusSeeOther)
	o := e.apiCall(http.MethodGet, "/providers/oauth2/"+e.provider+"/", "", 200)
	if o["client_type"] != "public" || o["sub_mode"] != "user_email" || o["issuer_mode"] != "global" || o["access_code_validity"] != "minutes=2" ||
		len(o["redirect_uris"].([]any)) != 1 || o["name"] != "Wiki provider" {
		t.Errorf("saved: %v", o)
	}
}

// Policy bindings of an application: add (policy, user), the 400 of a
// binding of nothing, change the order and switches, delete; check access
// follows.
func TestAppPolicyBindings(t *testing.T) {
	e := newPartA(t)
	base := "/if/admin/applications/wiki/policies/"
	page := e.page(base)
	if !strings.Contains(page, `data-pk="`+e.appBinding+`"`) || !strings.Contains(page, "Only carol &lt;script&gt;") {
		t.Errorf("bindings page: %.2000s", page)
	}
	body := e.wantForm(base, url.Values{"order": {"5"}, "timeout": {"30"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Choose exactly one") {
		t.Error("binding of nothing accepted")
	}
	body = e.wantForm(base, url.Values{"username": {"nobody"}, "order": {"5"}, "timeout": {"30"}}, http.StatusBadRequest)
	if !strings.Contains(body, "No user has this username.") {
		t.Error("unknown user accepted")
	}
	body = e.wantForm(base, url.Values{"username": {"victim1"}, "order": {"5"}, "timeout": {"99999"}}, http.StatusBadRequest)
	if !strings.Contains(body, "field-error") {
		t.Errorf("the API's 400 (timeout) is not shown: %.1500s", body)
	}
	access := func(user int64) bool {
		return e.apiCall(http.MethodGet, fmt.Sprintf("/core/applications/wiki/check_access/?for_user=%d", user), "", 200)["passing"] == true
	}
	if access(e.victim.PK) || !access(e.carol.PK) {
		t.Fatal("the policy does not gate the application")
	}
	e.wantForm(base, url.Values{"username": {"victim1"}, "order": {"5"}, "timeout": {"30"}}, http.StatusSeeOther)
	if !access(e.victim.PK) {
		t.Error("the user binding does not let victim1 in")
	}
	// Disable and negate the policy binding: carol is out, the others in.
	e.wantForm(base+e.appBinding+"/", url.Values{"order": {"20"}, "timeout": {"10"}, "enabled": {"on"}, "negate": {"on"}}, http.StatusSeeOther)
	pb := e.apiCall(http.MethodGet, "/policies/bindings/"+e.appBinding+"/", "", 200)
	if pb["order"] != float64(20) || pb["negate"] != true || pb["timeout"] != float64(10) || pb["enabled"] != true {
		t.Errorf("saved binding: %v", pb)
	}
	if access(e.carol.PK) {
		t.Error("negated policy still passes carol")
	}
	// Another target's binding is not this page's.
	var other string
	for _, b := range e.apiCall(http.MethodGet, "/policies/bindings/?target="+e.flowPK, "", 200)["results"].([]any) {
		other = b.(map[string]any)["pk"].(string)
	}
	e.page2(e.adminC, base+other+"/delete/", http.StatusNotFound)
	e.wantForm(base+e.appBinding+"/delete/", nil, http.StatusSeeOther)
	e.apiCall(http.MethodGet, "/policies/bindings/"+e.appBinding+"/", "", 404)
}

// The flow page: bindings, reorder, binding options, policies, the
// structure view; create, edit, export, import and delete a flow.
func TestFlowPages(t *testing.T) {
	e := newPartA(t)
	f := "/if/admin/flows/" + e.flow + "/"
	page := e.page(f)
	for _, want := range []string{`data-pk="` + e.binding + `"`, `<svg class="diagram"`, "Deny &lt;script&gt;", "node-policy",
		"1 binding", `href="/if/admin/flows/xflow/export/"`, "fails: denied", "fails: skipped"} {
		if !strings.Contains(page, want) {
			t.Errorf("flow page: no %q", want)
		}
	}
	// Bind the identification stage before the deny stage, then move it.
	body := e.wantForm(f+"bindings/", url.Values{"stage": {""}, "order": {"5"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Choose a stage.") {
		t.Error("binding without a stage accepted")
	}
	e.wantForm(f+"bindings/", url.Values{"stage": {e.identification}, "order": {"5"}}, http.StatusSeeOther)
	order := func() []string {
		var names []string
		for _, b := range e.apiCall(http.MethodGet, "/flows/bindings/?target="+e.flowPK, "", 200)["results"].([]any) {
			names = append(names, b.(map[string]any)["stage_obj"].(map[string]any)["name"].(string))
		}
		return names
	}
	if got := order(); len(got) != 2 || got[0] != "Identify" {
		t.Fatalf("order: %v", got)
	}
	e.wantForm(f+"bindings/"+e.binding+"/order/", url.Values{"order": {"1"}}, http.StatusSeeOther)
	if got := order(); got[0] == "Identify" {
		t.Errorf("reorder: %v", got)
	}
	e.wantForm(f+"bindings/"+e.binding+"/order/", url.Values{"order": {"x"}}, http.StatusBadRequest)
	// The binding's options.
	e.wantForm(f+"bindings/"+e.binding+"/", url.Values{"order": {"1"}, "evaluate_on_plan": {"on"},
		"policy_engine_mode": {"all"}, "invalid_response_action": {"restart"}}, http.StatusSeeOther)
	b := e.apiCall(http.MethodGet, "/flows/bindings/"+e.binding+"/", "", 200)
	if b["evaluate_on_plan"] != true || b["re_evaluate_policies"] != false || b["policy_engine_mode"] != "all" || b["invalid_response_action"] != "restart" {
		t.Errorf("binding: %v", b)
	}
	body = e.wantForm(f+"bindings/"+e.binding+"/", url.Values{"order": {"1"}, "policy_engine_mode": {"most"},
		"invalid_response_action": {"restart"}}, http.StatusBadRequest)
	if !strings.Contains(body, "field-error") {
		t.Error("the API's 400 is not shown")
	}
	// A policy binding on the stage binding, by group.
	e.wantForm(f+"bindings/"+e.binding+"/policies/", url.Values{"group": {e.group.UUID.String()}, "order": {"3"}, "timeout": {"30"}}, http.StatusSeeOther)
	if n := e.count("/policies/bindings/?target=" + e.binding); n != 2 {
		t.Errorf("stage binding policies: %d", n)
	}
	// Export, delete, import the export back.
	w := e.get(e.adminC, f+"export/")
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Disposition"), `filename="xflow.yaml"`) ||
		!strings.Contains(w.Body.String(), "slug: xflow") {
		t.Fatalf("export: %d %v %.300s", w.Code, w.Header(), w.Body)
	}
	export := w.Body.Bytes()
	e.wantForm(f+"delete/", nil, http.StatusSeeOther)
	e.apiCall(http.MethodGet, "/flows/instances/xflow/", "", 404)
	imp := e.multipart("/if/admin/flows/import/", map[string]string{"csrf": csrf}, export)
	if imp.Code != http.StatusOK || !strings.Contains(imp.Body.String(), `id="import-log"`) || !strings.Contains(imp.Body.String(), "Imported") {
		t.Fatalf("import: %d %.1500s", imp.Code, imp.Body)
	}
	e.apiCall(http.MethodGet, "/flows/instances/xflow/", "", 200)
	bad := e.multipart("/if/admin/flows/import/", map[string]string{"csrf": csrf}, []byte("version: 1\nentries:\n- model: authentik_core.user\n  identifiers: {username: mallory}\n  attrs: {is_superuser: true}\n"))
	if bad.Code != http.StatusBadRequest || !strings.Contains(bad.Body.String(), "Not imported") || !strings.Contains(bad.Body.String(), "cannot be imported with a flow") {
		t.Errorf("bad import: %d %.1500s", bad.Code, bad.Body)
	}
	if none := e.wantForm("/if/admin/flows/import/", nil, http.StatusBadRequest); !strings.Contains(none, "No file was sent.") {
		t.Errorf("import without a file: %.1000s", none)
	}
	if e.count("/core/users/?username=mallory") != 0 {
		t.Error("mallory was imported")
	}
	// Create and edit.
	body = e.wantForm("/if/admin/flows/new/", url.Values{"name": {"X"}, "slug": {"bad slug"}, "designation": {"enrollment"},
		"policy_engine_mode": {"any"}, "authentication": {"none"}, "denied_action": {"message"}, "layout": {"stacked"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Enter a valid slug") {
		t.Error("slug error not shown")
	}
	e.wantForm("/if/admin/flows/new/", url.Values{"name": {"Sign up"}, "slug": {"signup"}, "title": {"Welcome"}, "designation": {"enrollment"},
		"policy_engine_mode": {"all"}, "authentication": {"require_unauthenticated"}, "denied_action": {"message"}, "layout": {"stacked"}}, http.StatusSeeOther)
	e.wantForm("/if/admin/flows/signup/edit/", url.Values{"name": {"Sign up 2"}, "slug": {"signup"}, "title": {"Welcome"},
		"designation": {"enrollment"}, "policy_engine_mode": {"any"}, "authentication": {"none"}, "denied_action": {"continue"},
		"layout": {"stacked"}, "compatibility_mode": {"on"}}, http.StatusSeeOther)
	fl := e.apiCall(http.MethodGet, "/flows/instances/signup/", "", 200)
	if fl["name"] != "Sign up 2" || fl["denied_action"] != "continue" || fl["compatibility_mode"] != true || fl["designation"] != "enrollment" {
		t.Errorf("flow: %v", fl)
	}
}

// Typed forms: a stage with a form, one with the JSON editor, the API's
// 400s inline; a save keeps the settings the form does not show.
func TestStagesAndPolicies(t *testing.T) {
	e := newPartA(t)
	w := e.post(e.adminC, "/if/admin/stages/new/?type=identification", csrf, url.Values{"name": {"Who " + xss},
		"set-user_fields": {"email", "username", "bogus"}, "set-case_insensitive_matching": {"on"}, "set-password_stage": {e.stage},
		"set-enrollment_flow": {""}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %.800s", w.Code, w.Body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(w.Header().Get("Location"), "/if/admin/stages/"), "/?done=stage-created")
	s := e.apiCall(http.MethodGet, "/stages/all/"+id+"/", "", 200)
	if fmt.Sprint(s["user_fields"]) != "[email username]" || s["case_insensitive_matching"] != true || s["password_stage"] != e.stage {
		t.Errorf("stage: %v", s)
	}
	if _, set := s["enrollment_flow"]; set {
		t.Error("an empty field was stored over the default")
	}
	page := e.page("/if/admin/stages/" + id + "/")
	if !strings.Contains(page, `name="set-user_fields" value="email" checked`) || !strings.Contains(page, `<option value="`+e.stage+`" selected>`) {
		t.Errorf("form does not show the settings: %.3000s", page)
	}
	// Settings not stored show the type's default (identification's
	// switches are on unless set off), so a save does not change them.
	if page := e.page("/if/admin/stages/" + e.identification + "/"); !strings.Contains(page, `name="set-case_insensitive_matching" checked`) {
		t.Error("an unset default-on switch is shown off")
	}
	// A select shows a stored value that is none of its choices (so that
	// saving sends it back), and a save keeps the settings the form does
	// not have (captcha_stage).
	e.apiCall(http.MethodPatch, "/stages/identification/"+e.identification+"/", `{"captcha_stage":"`+e.stage+`"}`, 200)
	if page := e.page("/if/admin/stages/" + e.identification + "/"); !strings.Contains(page, `<option value="keep-me" selected>`) {
		t.Error("the stored recovery_flow is not selected")
	}
	e.wantForm("/if/admin/stages/"+e.identification+"/", url.Values{"name": {"Identify 2"}, "set-user_fields": {"email"},
		"set-recovery_flow": {"keep-me"}, "set-passwordless_flow": {""}}, http.StatusSeeOther)
	s = e.apiCall(http.MethodGet, "/stages/all/"+e.identification+"/", "", 200)
	if s["name"] != "Identify 2" || s["captcha_stage"] != e.stage || fmt.Sprint(s["user_fields"]) != "[email]" || s["recovery_flow"] != "keep-me" {
		t.Errorf("saved identification: %v", s)
	}
	// The API's 400 (totp digits) and the form's own (a number).
	body := e.wantForm("/if/admin/stages/new/?type=authenticator_totp", url.Values{"name": {"TOTP"}, "set-digits": {"7"}}, http.StatusBadRequest)
	if !strings.Contains(body, "digits must be 6 or 8") || !strings.Contains(body, `value="7"`) {
		t.Errorf("totp error: %.2000s", body)
	}
	body = e.wantForm("/if/admin/stages/new/?type=authenticator_totp", url.Values{"name": {"TOTP"}, "set-digits": {"six"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Digits: enter a whole number.") {
		t.Error("number error not shown")
	}
	// The JSON editor of a type without a form.
	if page := e.page("/if/admin/stages/new/?type=captcha"); !strings.Contains(page, `id="settings_json"`) {
		t.Error("no JSON editor for captcha")
	}
	body = e.wantForm("/if/admin/stages/"+e.dummy+"/", url.Values{"name": {"Dummy"}, "settings_json": {"[1,"}}, http.StatusBadRequest)
	if !strings.Contains(body, "Not a JSON object") {
		t.Error("bad JSON accepted")
	}
	e.wantForm("/if/admin/stages/"+e.dummy+"/", url.Values{"name": {"Dummy"}, "settings_json": {`{"throw_error": false}`}}, http.StatusSeeOther)
	if s := e.apiCall(http.MethodGet, "/stages/all/"+e.dummy+"/", "", 200); s["name"] != "Dummy" || s["throw_error"] != false {
		t.Errorf("dummy: %v", s)
	}
	// Policies: reputation needs one check on (the API's 400), password.
	body = e.wantForm("/if/admin/policies/new/?type=reputation", url.Values{"name": {"Rep"}, "set-threshold": {"-5"}}, http.StatusBadRequest)
	if !strings.Contains(body, "check_ip or check_username must be on") {
		t.Errorf("reputation: %.1500s", body)
	}
	w = e.post(e.adminC, "/if/admin/policies/new/?type=reputation", csrf, url.Values{"name": {"Rep"}, "set-threshold": {"-5"},
		"set-check_ip": {"on"}, "execution_logging": {"on"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("reputation: %d %.500s", w.Code, w.Body)
	}
	if n := e.count("/policies/all/?type=reputation"); n != 1 {
		t.Errorf("reputation policies: %d", n)
	}
	list := e.page("/if/admin/policies/?type=reputation")
	if !strings.Contains(list, ">Rep<") || strings.Contains(list, "Only carol") {
		t.Errorf("filtered list: %.2000s", list)
	}
	e.wantForm("/if/admin/stages/"+e.dummy+"/delete/", nil, http.StatusSeeOther)
	e.apiCall(http.MethodGet, "/stages/all/"+e.dummy+"/", "", 404)
}

// The policy test runs the policy for a user and shows the result.
func TestPolicyTestPage(t *testing.T) {
	e := newPartA(t)
	p := "/if/admin/policies/" + e.policy + "/test/"
	if body := e.wantForm(p, url.Values{"username": {"carol"}}, http.StatusOK); !strings.Contains(body, `id="test-passing"`) {
		t.Errorf("carol: %.1500s", body)
	}
	if body := e.wantForm(p, url.Values{"username": {"victim1"}}, http.StatusOK); !strings.Contains(body, `id="test-failing"`) {
		t.Error("victim1 passes")
	}
	if body := e.wantForm(p, url.Values{"username": {"nobody"}}, http.StatusBadRequest); !strings.Contains(body, "No user has this username.") {
		t.Error("unknown user")
	}
	if body := e.wantForm(p, url.Values{"username": {"carol"}, "context": {"[]"}}, http.StatusBadRequest); !strings.Contains(body, "Not a JSON object") {
		t.Error("bad context")
	}
	msg := e.apiCall(http.MethodPost, "/policies/expression/", `{"name":"says","expression":"ak_message('hello `+jsonEsc(xss)+`')\nreturn False"}`, 201)
	body := e.wantForm("/if/admin/policies/"+msg["pk"].(string)+"/test/", url.Values{"username": {"carol"}}, http.StatusOK)
	if !strings.Contains(body, "hello &lt;script&gt;") || strings.Contains(body, "<script>alert") {
		t.Errorf("messages: %.2000s", body)
	}
}

// BenchmarkPartAPages measures the heaviest pages of part A: the flow page
// (bindings, their policies, the structure view), the stage list, the
// wizard (its flows, keys and scopes) and a policy binding page.
func BenchmarkPartAPages(b *testing.B) {
	e := newPartA(b)
	for _, path := range []string{"/if/admin/flows/xflow/", "/if/admin/stages/", "/if/admin/applications/new/",
		"/if/admin/applications/wiki/policies/"} {
		b.Run(strings.Trim(path, "/"), func(b *testing.B) {
			var n int
			for b.Loop() {
				w := e.get(e.adminC, path)
				if w.Code != http.StatusOK {
					b.Fatalf("%d", w.Code)
				}
				n = w.Body.Len()
			}
			b.ReportMetric(float64(n), "html-bytes")
		})
	}
}
