package adminui_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// partB is what the directory and system pages need on top of env: a role,
// a token, an invitation, a brand, a rule and a transport, named with the
// XSS payload where the API allows it, and a session and a device of the
// victim.
type partB struct {
	*env
	role, invitation, brand, rule, transport, cert string
	victimSession                                  *store.Session
	victimDevice                                   *store.AuthenticatorDevice
}

func newPartB(t *testing.T) *partB {
	e := &partB{env: newEnv(t)}
	ctx := context.Background()
	e.role = e.apiCall(http.MethodPost, "/rbac/roles/", fmt.Sprintf(`{"name":%q}`, "Auditors "+xss), 201)["pk"].(string)
	e.apiCall(http.MethodPost, "/rbac/permissions/assigned_by_roles/"+e.role+"/assign/", `{"permissions":["authentik_core.view_user"]}`, 204)
	e.apiCall(http.MethodPatch, "/core/groups/"+e.group.UUID.String()+"/", fmt.Sprintf(`{"roles":[%q],"users":[%d]}`, e.role, e.victim.PK), 200)
	e.apiCall(http.MethodPost, "/core/tokens/", fmt.Sprintf(`{"identifier":"victim-token","user":%d,"intent":"api","description":%q}`, e.victim.PK, xss), 201)
	flow := &store.Flow{UUID: uuid.New(), Name: "Enroll " + xss, Slug: "enroll", Title: "Enroll", Designation: "enrollment", PolicyEngineMode: "any"}
	if err := e.st.CreateFlow(ctx, flow); err != nil {
		t.Fatal(err)
	}
	e.invitation = e.apiCall(http.MethodPost, "/stages/invitation/invitations/", fmt.Sprintf(`{"name":"welcome","flow":%q,"fixed_data":{"email":%q}}`,
		flow.UUID, xss), 201)["pk"].(string)
	e.brand = e.apiCall(http.MethodPost, "/core/brands/", fmt.Sprintf(`{"domain":"xss.example.com","branding_title":%q,"branding_logo":"javascript:alert(1)"}`, xss), 201)["brand_uuid"].(string)
	e.transport = e.apiCall(http.MethodPost, "/events/transports/", fmt.Sprintf(`{"name":%q,"mode":"local"}`, "Inbox "+xss), 201)["pk"].(string)
	e.rule = e.apiCall(http.MethodPost, "/events/rules/", fmt.Sprintf(`{"name":%q,"transports":[%q],"severity":"alert","destination_group":%q}`,
		"Rule "+xss, e.transport, e.group.UUID), 201)["pk"].(string)
	certs, _, err := e.st.ListKeyPairs(ctx, nil, store.ListOptions{Search: "soon"})
	if err != nil || len(certs) != 1 {
		t.Fatalf("the soon-expiring certificate: %v %v", certs, err)
	}
	e.cert = certs[0].UUID.String()
	now := time.Now().UTC()
	e.victimSession = &store.Session{Key: "victim-session-key", UserPK: &e.victim.PK, LastIP: "192.0.2.44", LastUserAgent: "Firefox/140.0 " + xss,
		LastUsed: now, Expires: now.Add(time.Hour)}
	if err := e.st.CreateSession(ctx, e.victimSession); err != nil {
		t.Fatal(err)
	}
	e.victimDevice = &store.AuthenticatorDevice{UserPK: e.victim.PK, Type: store.DeviceTOTP, Name: "Phone " + xss, Confirmed: true, Data: store.Attributes{}}
	if err := e.st.CreateDevice(ctx, e.victimDevice); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPartBOnPostgres runs the directory and system page tests again on
// PostgreSQL (GATEHOUSE_TEST_POSTGRES_URL).
func TestPartBOnPostgres(t *testing.T) {
	testenv.PostgresDB(t) // skips (fails under CI=true) without PostgreSQL
	onPostgres = true
	t.Cleanup(func() { onPostgres = false })
	for name, f := range map[string]func(*testing.T){"pages": TestPartBPagesRender, "csrf": TestPartBCSRFAnd403,
		"page_size": TestPartBPageSizeCapped, "roles": TestRoles, "tokens": TestTokensAndServiceAccounts, "invitations": TestInvitations,
		"users": TestUserActions, "brands": TestBrandsAndSettings, "certificates": TestCertificates, "notifications": TestRulesAndTransports} {
		t.Run(name, f)
	}
}

// partBPages are the new GET pages with their titles.
func (e *partB) partBPages() map[string]string {
	v := strconv.FormatInt(e.victim.PK, 10)
	return map[string]string{
		"/if/admin/roles/":                       "Roles",
		"/if/admin/roles/?q=Auditors":            "Roles",
		"/if/admin/roles/new/":                   "New role",
		"/if/admin/roles/" + e.role + "/":        "Auditors " + xss,
		"/if/admin/roles/" + e.role + "/edit/":   "Rename role",
		"/if/admin/roles/" + e.role + "/delete/": "Delete role",
		"/if/admin/roles/" + e.role + "/groups/" + e.group.UUID.String() + "/remove/":            "Take role from group",
		"/if/admin/roles/" + e.role + "/permissions/remove/?permission=authentik_core.view_user": "Remove permission",
		"/if/admin/users/" + v + "/permissions/":                                                 "Permissions of victim1",
		"/if/admin/users/" + v + "/roles/" + e.role + "/remove/":                                 "Take role from user",
		"/if/admin/users/" + v + "/deactivate/":                                                  "Deactivate user",
		"/if/admin/users/" + v + "/impersonate/":                                                 "Impersonate victim1",
		"/if/admin/users/" + v + "/sessions/" + e.victimSession.UUID.String() + "/revoke/":       "Sign out session",
		fmt.Sprintf("/if/admin/users/%s/devices/totp/%d/delete/", v, e.victimDevice.PK):          "Delete MFA device",
		"/if/admin/users/service-account/":                                                       "New service account",
		"/if/admin/tokens/":                                                                      "Tokens",
		"/if/admin/tokens/?intent=api&q=victim":                                                  "Tokens",
		"/if/admin/tokens/new/":                                                                  "New token",
		"/if/admin/tokens/victim-token/delete/":                                                  "Delete token",
		"/if/admin/invitations/":                                                                 "Invitations",
		"/if/admin/invitations/new/":                                                             "New invitation",
		"/if/admin/invitations/" + e.invitation + "/":                                            "welcome",
		"/if/admin/invitations/" + e.invitation + "/delete/":                                     "Delete invitation",
		"/if/admin/system/brands/":                                                               "Brands",
		"/if/admin/system/brands/new/":                                                           "New brand",
		"/if/admin/system/brands/" + e.brand + "/edit/":                                          "Edit brand xss.example.com",
		"/if/admin/system/brands/" + e.brand + "/delete/":                                        "Delete brand",
		"/if/admin/system/settings/":                                                             "System settings",
		"/if/admin/system/workers/":                                                              "Workers",
		"/if/admin/system/certificates/generate/":                                                "Generate a certificate",
		"/if/admin/system/certificates/import/":                                                  "Import a certificate",
		"/if/admin/system/certificates/" + e.cert + "/":                                          "soon " + xss,
		"/if/admin/system/certificates/" + e.cert + "/delete/":                                   "Delete certificate",
		"/if/admin/events/rules/":                                                                "Notification rules",
		"/if/admin/events/rules/new/":                                                            "New notification rule",
		"/if/admin/events/rules/" + e.rule + "/edit/":                                            "Edit rule Rule " + xss,
		"/if/admin/events/rules/" + e.rule + "/delete/":                                          "Delete notification rule",
		"/if/admin/events/transports/":                                                           "Notification transports",
		"/if/admin/events/transports/new/":                                                       "New notification transport",
		"/if/admin/events/transports/" + e.transport + "/edit/":                                  "Edit transport Inbox " + xss,
		"/if/admin/events/transports/" + e.transport + "/delete/":                                "Delete notification transport",
	}
}

// partBPosts are the new POST routes.
func (e *partB) partBPosts() []string {
	v := strconv.FormatInt(e.victim.PK, 10)
	return []string{"/if/admin/roles/new/", "/if/admin/roles/" + e.role + "/edit/", "/if/admin/roles/" + e.role + "/delete/",
		"/if/admin/roles/" + e.role + "/permissions/", "/if/admin/roles/" + e.role + "/permissions/remove/?permission=authentik_core.view_user",
		"/if/admin/roles/" + e.role + "/groups/", "/if/admin/roles/" + e.role + "/groups/" + e.group.UUID.String() + "/remove/",
		"/if/admin/roles/" + e.role + "/users/", "/if/admin/users/" + v + "/roles/" + e.role + "/remove/",
		"/if/admin/users/" + v + "/activate/", "/if/admin/users/" + v + "/deactivate/", "/if/admin/users/" + v + "/impersonate/",
		"/if/admin/users/" + v + "/sessions/" + e.victimSession.UUID.String() + "/revoke/",
		fmt.Sprintf("/if/admin/users/%s/devices/totp/%d/delete/", v, e.victimDevice.PK),
		"/if/admin/users/service-account/", "/if/admin/tokens/new/", "/if/admin/tokens/victim-token/delete/",
		"/if/admin/invitations/new/", "/if/admin/invitations/" + e.invitation + "/delete/",
		"/if/admin/system/brands/new/", "/if/admin/system/brands/" + e.brand + "/edit/", "/if/admin/system/brands/" + e.brand + "/delete/",
		"/if/admin/system/settings/", "/if/admin/system/certificates/generate/", "/if/admin/system/certificates/import/",
		"/if/admin/system/certificates/" + e.cert + "/delete/",
		"/if/admin/events/rules/new/", "/if/admin/events/rules/" + e.rule + "/edit/", "/if/admin/events/rules/" + e.rule + "/delete/",
		"/if/admin/events/transports/new/", "/if/admin/events/transports/" + e.transport + "/edit/",
		"/if/admin/events/transports/" + e.transport + "/test/", "/if/admin/events/transports/" + e.transport + "/delete/"}
}

var escapeTitle = strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;")

// Every new page renders for akadmin with its title, the payload escaped,
// no inline code and the CSRF field in its post forms; carol (no
// permission) gets 403 pages without data.
func TestPartBPagesRender(t *testing.T) {
	e := newPartB(t)
	for path, title := range e.partBPages() {
		t.Run(path, func(t *testing.T) {
			w := e.get(e.adminC, path)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %.500s", w.Code, w.Body)
			}
			body := w.Body.String()
			if !strings.Contains(body, "<title>"+escapeTitle.Replace(title)+" · Admin · ") {
				t.Errorf("title %q missing", title)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `src="javascript:`) {
				t.Error("unescaped XSS payload")
			}
			if inlineCode.MatchString(body) {
				t.Errorf("inline code: %q", inlineCode.FindString(body))
			}
			if !strings.Contains(body, `<nav class="side admin-nav" aria-label="Administration">`) {
				t.Error("no sidebar")
			}
			if n, m := strings.Count(body, `<form method="post"`), strings.Count(body, `name="csrf" value="`+csrf+`"`); n != m {
				t.Errorf("%d post forms, %d CSRF fields", n, m)
			}
			for _, label := range regexp.MustCompile(`<(?:input|select|textarea) [^>]*id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `for="`+label[1]+`"`) && !strings.Contains(body, `<label><input type="checkbox" id="`+label[1]+`"`) &&
					!strings.Contains(body, `id="`+label[1]+`" readonly`) {
					t.Errorf("input %s has no label", label[1])
				}
			}
			cw := e.get(e.carolC, path)
			if cw.Code != http.StatusForbidden {
				t.Errorf("carol: %d", cw.Code)
			}
			for _, secret := range []string{"victim1", "Auditors", "welcome", "xss.example.com", "Inbox", "192.0.2.44"} {
				if strings.Contains(cw.Body.String(), secret) {
					t.Errorf("carol's page shows %q", secret)
				}
			}
		})
	}
	if body := e.page("/if/admin/invitations/"); !strings.Contains(body, `<td class="mono">enroll</td>`) {
		t.Error("the invitation's flow is not listed")
	}
	// The user page links the new actions and lists the sessions and devices.
	body := e.page(fmt.Sprintf("/if/admin/users/%d/", e.victim.PK))
	for _, want := range []string{`id="impersonate"`, `id="deactivate-user"`, `id="user-permissions"`, "192.0.2.44", "Phone &lt;script&gt;",
		fmt.Sprintf(`/devices/totp/%d/delete/`, e.victimDevice.PK), e.victimSession.UUID.String() + "/revoke/"} {
		if !strings.Contains(body, want) {
			t.Errorf("user page: no %q", want)
		}
	}
}

// Every new POST needs the form's CSRF field; carol's are refused.
func TestPartBCSRFAnd403(t *testing.T) {
	e := newPartB(t)
	fields := url.Values{"name": {"x"}, "username": {"carol"}, "permissions": {"authentik_core.view_user"}, "group": {"Team"},
		"identifier": {"x"}, "domain": {"x.example.com"}, "common_name": {"x"}, "validity_days": {"1"}, "mode": {"local"}}
	for _, path := range e.partBPosts() {
		form := func() url.Values { f := url.Values{}; maps.Copy(f, fields); return f }
		for _, token := range []string{"", "wrong-token"} {
			if w := e.post(e.adminC, path, token, form()); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CSRF check failed") {
				t.Errorf("POST %s with csrf %q: %d", path, token, w.Code)
			}
		}
		if w := e.post(e.carolC, path, csrf, form()); w.Code != http.StatusForbidden {
			t.Errorf("carol POST %s: %d", path, w.Code)
		}
	}
	ctx := context.Background()
	if u, err := e.st.UserByPK(ctx, e.victim.PK); err != nil || !u.IsActive {
		t.Errorf("victim after refused posts: %+v %v", u, err)
	}
	if _, err := e.st.RoleByUUID(ctx, uuid.MustParse(e.role)); err != nil {
		t.Errorf("role deleted: %v", err)
	}
	if _, err := e.st.SessionByUUID(ctx, e.victimSession.UUID, time.Now()); err != nil {
		t.Errorf("session revoked: %v", err)
	}
	if n := pending(t, e.q); n != 0 {
		t.Errorf("%d tasks queued", n)
	}
}

func TestPartBPageSizeCapped(t *testing.T) {
	e := newPartB(t)
	for i := range 110 {
		e.apiCall(http.MethodPost, "/rbac/roles/", fmt.Sprintf(`{"name":"bulk-%03d"}`, i), 201)
	}
	body := e.page("/if/admin/roles/?page_size=100000")
	if n := strings.Count(body, `class="role-row"`); n != 100 {
		t.Errorf("%d rows with page_size=100000, want 100", n)
	}
	if body := e.page("/if/admin/roles/?page_size=50&page=3"); strings.Count(body, `class="role-row"`) != 11 || !strings.Contains(body, "101–111 of 111") {
		t.Error("page 3 of 50")
	}
}

func TestRoles(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/roles/new/", csrf, url.Values{"name": {""}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="name-err"><p class="field-error">`) {
		t.Fatalf("empty name: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, "/if/admin/roles/new/", csrf, url.Values{"name": {"Helpdesk"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	path := strings.TrimSuffix(w.Header().Get("Location"), "?done=role-created")
	id := strings.TrimSuffix(strings.TrimPrefix(path, "/if/admin/roles/"), "/")
	// No permission chosen, an unknown one, then two.
	if w := e.post(e.adminC, path+"permissions/", csrf, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Choose at least one permission.") {
		t.Errorf("none: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"permissions/", csrf, url.Values{"permissions": {"authentik_core.fly"}}); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "Unknown permission authentik_core.fly.") {
		t.Errorf("unknown: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"permissions/", csrf, url.Values{"permissions": {"authentik_core.view_user", "authentik_core.impersonate"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", w.Code, w.Body)
	}
	perms, err := e.st.RolePermissions(ctx, uuid.MustParse(id))
	if err != nil || len(perms) != 2 {
		t.Fatalf("held: %v %v", perms, err)
	}
	body := e.page(path)
	if !strings.Contains(body, `data-permission="authentik_core.impersonate"`) || !strings.Contains(body, "Can impersonate") {
		t.Error("the role page does not list its permissions")
	}
	// Unassign asks first.
	remove := path + "permissions/remove/?permission=authentik_core.impersonate"
	if body := e.page(remove); !strings.Contains(body, `id="confirm"`) || !strings.Contains(body, `action="`+strings.ReplaceAll(remove, "&", "&amp;")+`"`) {
		t.Error("no confirmation")
	}
	if w := e.post(e.adminC, remove, csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("unassign: %d", w.Code)
	}
	if perms, _ := e.st.RolePermissions(ctx, uuid.MustParse(id)); len(perms) != 1 || perms[0].Permission != "authentik_core.view_user" {
		t.Errorf("after unassign: %v", perms)
	}
	// Groups: unknown, then the env's group.
	if w := e.post(e.adminC, path+"groups/", csrf, url.Values{"group": {"nope"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "No group has this name.") {
		t.Errorf("unknown group: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"groups/", csrf, url.Values{"group": {e.group.Name}}); w.Code != http.StatusSeeOther {
		t.Fatalf("give to group: %d %s", w.Code, w.Body)
	}
	if body := e.page(path); !strings.Contains(body, `class="row role-group" data-pk="`+e.group.UUID.String()+`"`) {
		t.Error("the group is not listed")
	}
	// Users: carol gets it directly; her permissions page shows it.
	if w := e.post(e.adminC, path+"users/", csrf, url.Values{"username": {"nobody"}}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown user: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"users/", csrf, url.Values{"username": {"carol"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("give to carol: %d %s", w.Code, w.Body)
	}
	carolPerms := fmt.Sprintf("/if/admin/users/%d/permissions/", e.carol.PK)
	if body := e.page(carolPerms); !strings.Contains(body, `id="direct-roles"`) || !strings.Contains(body, `data-permission="authentik_core.view_user"`) {
		t.Error("carol's permissions page")
	}
	// carol now gets into the admin interface and sees users.
	e.page2(e.carolC, "/if/admin/users/", http.StatusOK)
	// The victim holds it through the group (and the env's Auditors role).
	if body := e.page(fmt.Sprintf("/if/admin/users/%d/permissions/", e.victim.PK)); !strings.Contains(body, `id="group-roles"`) || !strings.Contains(body, "Helpdesk") {
		t.Error("victim's roles through the group")
	}
	if w := e.post(e.adminC, fmt.Sprintf("/if/admin/users/%d/roles/%s/remove/", e.carol.PK, id), csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("take from carol: %d", w.Code)
	}
	e.page2(e.carolC, "/if/admin/users/", http.StatusForbidden)
	if w := e.post(e.adminC, path+"groups/"+e.group.UUID.String()+"/remove/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("take from group: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"edit/", csrf, url.Values{"name": {"Support"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.RoleByUUID(ctx, uuid.MustParse(id)); err == nil {
		t.Error("not deleted")
	}
}

var keyField = regexp.MustCompile(`id="(?:token-key|sa-token)" readonly value="([^"]+)"`)

func TestTokensAndServiceAccounts(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/tokens/new/", csrf, url.Values{"identifier": {"ci"}, "username": {"nobody"}, "intent": {"api"}, "expiry": {"30d"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="username-err"><p class="field-error">No user has this username.`) {
		t.Fatalf("unknown user: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, "/if/admin/tokens/new/", csrf, url.Values{"identifier": {"bad id!"}, "username": {"carol"}, "intent": {"api"}, "expiry": {"30d"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="identifier-err"><p class="field-error">`) {
		t.Fatalf("bad identifier: %d", w.Code)
	}
	w = e.post(e.adminC, "/if/admin/tokens/new/", csrf, url.Values{"identifier": {"ci"}, "username": {"carol"}, "intent": {"api"},
		"expiry": {"30d"}, "description": {xss}})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	m := keyField.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatal("no key shown")
	}
	tok, err := e.st.TokenByIdentifier(ctx, "ci")
	if err != nil || tok.UserPK != e.carol.PK || tok.Expires == nil || time.Until(*tok.Expires) < 29*24*time.Hour {
		t.Fatalf("token: %+v %v", tok, err)
	}
	// The key works as a Bearer token for carol.
	r, _ := http.NewRequest(http.MethodGet, "/api/v3/core/users/me/", nil)
	r.Header.Set("Authorization", "Bearer "+m[1])
	rw := httptest.NewRecorder()
	e.h.ServeHTTP(rw, r)
	if rw.Code != http.StatusOK || !strings.Contains(rw.Body.String(), `"username":"carol"`) {
		t.Errorf("the shown key: %d", rw.Code)
	}
	if body := e.page("/if/admin/tokens/?q=ci"); !strings.Contains(body, `data-identifier="ci"`) || strings.Contains(body, m[1]) {
		t.Error("the list misses the token or shows its key")
	}
	if w := e.post(e.adminC, "/if/admin/tokens/ci/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.TokenByIdentifier(ctx, "ci"); err == nil {
		t.Error("not deleted")
	}
	// A service account.
	w = e.post(e.adminC, "/if/admin/users/service-account/", csrf, url.Values{"name": {"backup-bot"}, "create_group": {"on"}, "expiry": {"never"}})
	if w.Code != http.StatusCreated {
		t.Fatalf("service account: %d %s", w.Code, w.Body)
	}
	if keyField.FindStringSubmatch(w.Body.String()) == nil {
		t.Error("no token shown")
	}
	sa, err := e.st.UserByUsername(ctx, "backup-bot")
	if err != nil || sa.Type != store.UserServiceAccount {
		t.Fatalf("service account user: %+v %v", sa, err)
	}
	if w := e.post(e.adminC, "/if/admin/users/service-account/", csrf, url.Values{"name": {"backup-bot"}, "expiry": {"never"}}); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), `id="name-err"><p class="field-error">`) {
		t.Errorf("duplicate service account: %d", w.Code)
	}
}

func TestInvitations(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	flow, err := e.st.FlowBySlug(ctx, "enroll")
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {"spring-hires"}, "flow": {flow.UUID.String()}, "expires": {"2099-01-02T03:04"}, "single_use": {"on"},
		"fixed_data": {`{"email": "new@example.com"`}}
	w := e.post(e.adminC, "/if/admin/invitations/new/", csrf, form)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="fixed_data-err"><p class="field-error">Enter a JSON object.`) {
		t.Fatalf("bad JSON: %d %s", w.Code, w.Body)
	}
	form.Set("fixed_data", `{"email": "new@example.com"}`)
	form.Set("name", "bad name")
	if w := e.post(e.adminC, "/if/admin/invitations/new/", csrf, form); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="name-err"><p class="field-error">`) {
		t.Fatalf("bad name: %d", w.Code)
	}
	form.Set("name", "spring-hires")
	w = e.post(e.adminC, "/if/admin/invitations/new/", csrf, form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	detail := strings.TrimSuffix(w.Header().Get("Location"), "?done=invitation-created")
	id := strings.TrimSuffix(strings.TrimPrefix(detail, "/if/admin/invitations/"), "/")
	inv, err := e.st.InvitationByUUID(ctx, uuid.MustParse(id))
	if err != nil || !inv.SingleUse || inv.Expires == nil || inv.Expires.UTC().Format(time.RFC3339) != "2099-01-02T03:04:00Z" || inv.FixedData["email"] != "new@example.com" {
		t.Fatalf("invitation: %+v %v", inv, err)
	}
	body := e.page(detail)
	if want := `value="http://example.com/if/flow/` + flow.Slug + `/?itoken=` + id + `"`; !strings.Contains(body, want) {
		t.Errorf("no link %s", want)
	}
	if w := e.post(e.adminC, detail+"delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.InvitationByUUID(ctx, uuid.MustParse(id)); err == nil {
		t.Error("not deleted")
	}
}

func TestUserActions(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	v := fmt.Sprintf("/if/admin/users/%d/", e.victim.PK)
	if w := e.post(e.adminC, v+"deactivate/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", w.Code)
	}
	if u, _ := e.st.UserByPK(ctx, e.victim.PK); u.IsActive {
		t.Error("still active")
	}
	if body := e.page(v); !strings.Contains(body, `id="activate-user"`) {
		t.Error("no activate button")
	}
	if w := e.post(e.adminC, v+"activate/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("activate: %d", w.Code)
	}
	if u, _ := e.st.UserByPK(ctx, e.victim.PK); !u.IsActive {
		t.Error("not active")
	}
	// Sessions and devices.
	if w := e.post(e.adminC, v+"sessions/"+e.victimSession.UUID.String()+"/revoke/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := e.st.SessionByUUID(ctx, e.victimSession.UUID, time.Now()); err == nil {
		t.Error("session not revoked")
	}
	if w := e.post(e.adminC, fmt.Sprintf("%sdevices/totp/%d/delete/", v, e.victimDevice.PK), csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete device: %d %s", w.Code, w.Body)
	}
	if ds, _, _ := e.st.ListDevices(ctx, store.DeviceFilter{UserPK: e.victim.PK}); len(ds) != 0 {
		t.Errorf("devices left: %v", ds)
	}
	for _, bad := range []string{v + "devices/nope/1/delete/", v + "devices/totp/x/delete/", v + "sessions/nope/revoke/"} {
		if w := e.get(e.adminC, bad); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
	// Impersonation needs a reason (the default settings); then this
	// browser is the victim until it ends.
	w := e.post(e.adminC, v+"impersonate/", csrf, url.Values{"reason": {""}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="reason-err"><p class="field-error">A reason is required`) {
		t.Fatalf("no reason: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, v+"impersonate/", csrf, url.Values{"reason": {"ticket 42"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/if/user/" {
		t.Fatalf("impersonate: %d %s", w.Code, w.Header().Get("Location"))
	}
	body := e.page("/if/user/")
	if !strings.Contains(body, `id="impersonation-banner"`) || !strings.Contains(body, "akadmin is impersonating <strong>victim1</strong>") {
		t.Errorf("no banner: %.2000s", body)
	}
	w = e.post(e.adminC, "/if/user/impersonation/end/", csrf, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != v {
		t.Fatalf("end: %d %s", w.Code, w.Header().Get("Location"))
	}
	if body := e.page(v); !strings.Contains(body, `id="user-title"`) {
		t.Error("not back as akadmin")
	}
}

func TestBrandsAndSettings(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/system/brands/new/", csrf, url.Values{"domain": {""}, "branding_title": {xss}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="domain-err"><p class="field-error">`) ||
		!strings.Contains(w.Body.String(), `value="`+escapeTitle.Replace(xss)+`"`) {
		t.Fatalf("empty domain: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, "/if/admin/system/brands/new/", csrf, url.Values{"domain": {"sso.example.org"}, "branding_title": {"Example SSO"},
		"web_certificate": {e.cert}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var bs []*store.Brand
	all, err := e.st.ListBrands(ctx)
	for _, b := range all {
		if b.Domain == "sso.example.org" {
			bs = append(bs, b)
		}
	}
	if err != nil || len(bs) != 1 || bs[0].WebCertificate == nil || bs[0].WebCertificate.String() != e.cert {
		t.Fatalf("brand: %v %v", bs, err)
	}
	edit := "/if/admin/system/brands/" + bs[0].UUID.String() + "/edit/"
	if body := e.page(edit); !strings.Contains(body, `<option value="`+e.cert+`" selected>`) {
		t.Error("the certificate is not selected")
	}
	if w := e.post(e.adminC, edit, csrf, url.Values{"domain": {"sso.example.org"}, "branding_title": {"Renamed"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	if b, _ := e.st.BrandByUUID(ctx, bs[0].UUID); b.BrandingTitle != "Renamed" || b.WebCertificate != nil {
		t.Errorf("edited: %+v", b)
	}
	if w := e.post(e.adminC, "/if/admin/system/brands/"+bs[0].UUID.String()+"/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	// Settings: a bad duration is shown at its field; then saved.
	form := url.Values{"avatars": {"initials"}, "event_retention": {"forever"}, "default_token_duration": {"minutes=30"},
		"default_token_length": {"60"}, "impersonation": {"on"}}
	w = e.post(e.adminC, "/if/admin/system/settings/", csrf, form)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="event_retention-err"><p class="field-error">`) {
		t.Fatalf("bad retention: %d %s", w.Code, w.Body)
	}
	form.Set("event_retention", "days=30")
	if w := e.post(e.adminC, "/if/admin/system/settings/", csrf, form); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	got := e.apiCall(http.MethodGet, "/admin/settings/", "", 200)
	if got["event_retention"] != "days=30" || got["impersonation_require_reason"] != false || got["gdpr_compliance"] != false {
		t.Errorf("settings: %v", got)
	}
}

func TestCertificates(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/system/certificates/generate/", csrf, url.Values{"common_name": {"a.example.com"}, "validity_days": {"0"}, "alg": {"ecdsa"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="validity_days-err"><p class="field-error">`) {
		t.Fatalf("0 days: %d %s", w.Code, w.Body)
	}
	for alg, check := range map[string]func(any) bool{
		"ecdsa": func(k any) bool { p, ok := k.(*ecdsa.PublicKey); return ok && p.Curve == elliptic.P256() },
		"rsa":   func(k any) bool { p, ok := k.(*rsa.PublicKey); return ok && p.N.BitLen() == 2048 },
	} {
		w := e.post(e.adminC, "/if/admin/system/certificates/generate/", csrf, url.Values{"common_name": {alg + ".example.com"},
			"subject_alt_name": {"alt.example.com"}, "validity_days": {"20"}, "alg": {alg}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", alg, w.Code, w.Body)
		}
		detail := strings.TrimSuffix(w.Header().Get("Location"), "?done=certificate-generated")
		body := e.page(detail)
		if !strings.Contains(body, `id="expiry-warning"`) || !strings.Contains(body, `id="download-key"`) {
			t.Errorf("%s: no expiry warning or key download", alg)
		}
		dl := e.get(e.adminC, detail+"certificate.pem")
		if dl.Code != http.StatusOK || !strings.HasPrefix(dl.Header().Get("Content-Disposition"), `attachment; filename="`+alg+`.example.com.pem"`) {
			t.Fatalf("%s download: %d %v", alg, dl.Code, dl.Header())
		}
		b, _ := pem.Decode(dl.Body.Bytes())
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil || !check(cert.PublicKey) || cert.Subject.CommonName != alg+".example.com" || len(cert.DNSNames) == 0 {
			t.Errorf("%s certificate: %v %v", alg, cert, err)
		}
		key := e.get(e.adminC, detail+"private-key.pem")
		if key.Code != http.StatusOK || !strings.Contains(key.Body.String(), "PRIVATE KEY-----") {
			t.Errorf("%s key: %d", alg, key.Code)
		}
		// Import the same pair under another name.
		if alg == "ecdsa" {
			w := e.post(e.adminC, "/if/admin/system/certificates/import/", csrf, url.Values{"name": {"imported"}, "certificate_data": {"not pem"}})
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="certificate_data-err"><p class="field-error">`) {
				t.Errorf("bad PEM: %d %s", w.Code, w.Body)
			}
			w = e.post(e.adminC, "/if/admin/system/certificates/import/", csrf, url.Values{"name": {"imported"},
				"certificate_data": {dl.Body.String()}, "key_data": {key.Body.String()}})
			if w.Code != http.StatusSeeOther {
				t.Fatalf("import: %d %s", w.Code, w.Body)
			}
		}
	}
	if body := e.page("/if/admin/system/certificates/?q=imported"); !strings.Contains(body, "imported") {
		t.Error("the imported pair is not listed")
	}
	if w := e.post(e.adminC, "/if/admin/system/certificates/"+e.cert+"/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.KeyPairByUUID(ctx, uuid.MustParse(e.cert)); err == nil {
		t.Error("not deleted")
	}
}

func TestRulesAndTransports(t *testing.T) {
	e := newPartB(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/events/transports/new/", csrf, url.Values{"name": {"Hook"}, "mode": {"webhook"}, "webhook_url": {"ftp://x"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="webhook_url-err"><p class="field-error">`) {
		t.Fatalf("bad URL: %d %s", w.Code, w.Body)
	}
	if w := e.post(e.adminC, "/if/admin/events/transports/new/", csrf, url.Values{"name": {"Local"}, "mode": {"local"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("create transport: %d %s", w.Code, w.Body)
	}
	ts, _, err := e.st.ListNotificationTransports(ctx, store.ListOptions{Search: "Local"})
	if err != nil || len(ts) != 1 {
		t.Fatalf("transports: %v %v", ts, err)
	}
	tid := ts[0].UUID.String()
	w = e.post(e.adminC, "/if/admin/events/transports/"+tid+"/test/", csrf, nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="test-result"`) {
		t.Fatalf("test: %d %s", w.Code, w.Body)
	}
	ns, _, _ := e.st.ListNotifications(ctx, store.NotificationFilter{UserPK: e.admin.PK})
	if len(ns) != 1 {
		t.Errorf("%d notifications after the local test, want 1", len(ns))
	}
	form := url.Values{"name": {"Failed logins"}, "severity": {"warning"}, "transports": {tid, e.transport},
		"destination_group": {e.group.UUID.String()}, "destination_event_user": {"on"}}
	if w := e.post(e.adminC, "/if/admin/events/rules/new/", csrf, url.Values{"name": {""}, "severity": {"warning"}}); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), `id="name-err"><p class="field-error">`) {
		t.Errorf("empty name: %d", w.Code)
	}
	if w := e.post(e.adminC, "/if/admin/events/rules/new/", csrf, form); w.Code != http.StatusSeeOther {
		t.Fatalf("create rule: %d %s", w.Code, w.Body)
	}
	rs, _, err := e.st.ListNotificationRules(ctx, store.ListOptions{Search: "Failed logins"})
	if err != nil || len(rs) != 1 || len(rs[0].Transports) != 2 || !rs[0].DestinationEventUser || rs[0].DestinationGroup == nil {
		t.Fatalf("rule: %+v %v", rs, err)
	}
	edit := "/if/admin/events/rules/" + rs[0].UUID.String() + "/edit/"
	if body := e.page(edit); strings.Count(body, `" selected>`) < 4 {
		t.Error("the rule's choices are not selected")
	}
	form.Del("destination_group")
	form.Set("transports", tid)
	if w := e.post(e.adminC, edit, csrf, form); w.Code != http.StatusSeeOther {
		t.Fatalf("edit rule: %d %s", w.Code, w.Body)
	}
	if r, _ := e.st.NotificationRuleByUUID(ctx, rs[0].UUID); r.DestinationGroup != nil || len(r.Transports) != 1 {
		t.Errorf("edited rule: %+v", r)
	}
	if w := e.post(e.adminC, "/if/admin/events/rules/"+rs[0].UUID.String()+"/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete rule: %d", w.Code)
	}
	if w := e.post(e.adminC, "/if/admin/events/transports/"+tid+"/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete transport: %d", w.Code)
	}
}
