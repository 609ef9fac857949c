package adminui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
	"github.com/gatehouse-idp/gatehouse/internal/web"
	"github.com/gatehouse-idp/gatehouse/internal/web/adminui"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/htmlpagetest"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// xss goes into every user-controlled field; it must never come back
// unescaped.
const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// env is the admin UI, the user UI and the API in process on a fresh
// SQLite store, with akadmin (superuser) and carol (no permission) signed
// in, and things to look at, most named with the XSS payload.
type env struct {
	t      testing.TB
	st     *sqlstore.Store
	q      *sqlqueue.Queue
	h      http.Handler
	api    *api.API
	admin  *store.User
	carol  *store.User
	adminC string
	carolC string
	victim *store.User // a user with XSS in every field
	group  *store.Group
	app    *store.Application
	event  *store.Event
	sched  *store.TaskSchedule
}

// onPostgres makes newEnv use a fresh PostgreSQL database
// (TestOnPostgres, BenchmarkUsersPage).
var onPostgres bool

// TestOnPostgres runs the page tests again on PostgreSQL
// (GATEHOUSE_TEST_POSTGRES_URL).
func TestOnPostgres(t *testing.T) {
	testenv.PostgresDB(t) // skips (fails under CI=true) without PostgreSQL
	onPostgres = true
	t.Cleanup(func() { onPostgres = false })
	for name, f := range map[string]func(*testing.T){"pages": TestEveryPageRendersEscaped, "contents": TestPageContents,
		"403": TestNonAdminGets403, "csrf": TestCSRFEnforcedOnEveryPost, "page_size": TestPageSizeCapped,
		"users": TestUserLifecycle, "groups": TestGroupMembers, "schedule": TestRunSchedule, "chart": TestDashboardChart,
		"delegated": TestDelegatedAdmin} {
		t.Run(name, f)
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	var st *sqlstore.Store
	var err error
	if onPostgres {
		st, err = sqlstore.OpenPostgres(ctx, testenv.PostgresDB(t), sqlstore.Options{})
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	q := sqlqueue.New(st, sqlqueue.Options{})
	a, err := api.New(api.Deps{Store: st, Log: slog.New(slog.DiscardHandler), SecretKey: "adminui-test-secret-key-0123456789abcdef",
		Version: "2026.1-test"})
	if err != nil {
		t.Fatal(err)
	}
	a.Queue = q
	user := &userui.UI{API: a.Handler(), Store: func() store.Store { return st }, Log: slog.New(slog.DiscardHandler)}
	// The dashboard's clock: half past the current hour, so events a few
	// minutes before it fall in its hour.
	half := time.Now().Truncate(time.Hour).Add(30 * time.Minute)
	admin := &adminui.UI{API: a.Handler(), Version: "2026.1-test", Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return half }}
	ws := &web.Server{Log: slog.New(slog.DiscardHandler), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Mount: func(r chi.Router) {
			r.Mount(api.Prefix, a.Handler())
			user.Mount(r)
			admin.Mount(r)
		}}
	ws.SetStarted(true)
	e := &env{t: t, st: st, q: q, h: ws.Handler(), api: a}
	if e.admin, err = st.UserByUsername(ctx, "akadmin"); err != nil {
		t.Fatal(err)
	}
	e.carol = e.user("carol", "Carol")
	e.victim = e.user("victim"+strconv.Itoa(1), "Victim "+xss)
	e.victim.Attributes = store.Attributes{"note": xss}
	if err := st.UpdateUser(ctx, e.victim); err != nil {
		t.Fatal(err)
	}
	e.adminC = e.session(e.admin)
	e.carolC = e.session(e.carol)

	e.group = &store.Group{Name: "Team " + xss}
	if err := st.CreateGroup(ctx, e.group); err != nil {
		t.Fatal(err)
	}
	prov := &store.OAuth2Provider{Provider: &store.Provider{Name: "Wiki provider " + xss}, ClientType: "confidential",
		ClientID: "wiki-client-id", ClientSecret: "wiki-client-secret-value", SubMode: "hashed_user_id", IssuerMode: "per_provider"}
	if err := st.CreateOAuth2Provider(ctx, prov); err != nil {
		t.Fatal(err)
	}
	e.app = &store.Application{Name: "Wiki " + xss, Slug: "wiki", ProviderPK: &prov.ProviderPK, PolicyEngineMode: "any",
		MetaLaunchURL: "javascript:alert(1)", MetaDescription: xss, MetaPublisher: xss}
	if err := st.CreateApplication(ctx, e.app); err != nil {
		t.Fatal(err)
	}
	ip := "198.51.100.7"
	e.event = &store.Event{UUID: uuid.New(), Action: "login_failed", User: store.Attributes{"username": "victim1"}, ClientIP: &ip,
		Context: store.Attributes{"username": xss, "message": xss, "nested": map[string]any{"html": "</pre>" + xss}},
		Created: time.Now().Add(-90 * time.Minute), Expires: time.Now().Add(24 * time.Hour)}
	if err := st.CreateEvent(ctx, e.event); err != nil {
		t.Fatal(err)
	}
	e.sched = &store.TaskSchedule{Identifier: "clean_expired_models", Name: "clean_expired_models", Crontab: "2-59/5 * * * *",
		NextRun: time.Now().Add(time.Minute), TimeoutMS: 60000, Description: "Deletes " + xss}
	if err := st.EnsureTaskSchedule(ctx, e.sched); err != nil {
		t.Fatal(err)
	}
	for name, days := range map[string]int{"soon " + xss: 10, "long-lived": 365} {
		e.apiCall(http.MethodPost, "/crypto/certificatekeypairs/generate/", fmt.Sprintf(`{"common_name":%q,"validity_days":%d}`, name, days), 200)
	}
	fin := time.Now()
	if err := st.CreateSystemTask(ctx, &store.SystemTask{UUID: uuid.New(), TaskID: "t1", Name: "clean_expired_models", Status: store.TaskError,
		Attempt: 1, Started: fin.Add(-time.Second), Finished: &fin, DurationMS: 1000, Error: "boom " + xss,
		Messages: []store.TaskMessage{{Time: fin, Level: "info", Text: "deleted " + xss}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) user(username, name string) *store.User {
	e.t.Helper()
	u := &store.User{Username: username, Name: name, Email: username + "@example.com", IsActive: true, Path: "users", Type: "internal"}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) session(u *store.User) string {
	e.t.Helper()
	cookie := "cookie-" + u.Username + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now().UTC()
	s := &store.Session{Key: session.Key(cookie), UserPK: &u.PK, LastIP: "203.0.113.9", LastUserAgent: "test", LastUsed: now,
		Expires: now.Add(time.Hour)}
	if err := e.st.CreateSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return cookie
}

const csrf = "csrf-token-value"

// apiCall calls the API as akadmin (session and CSRF header) and returns
// the answer's JSON object.
func (e *env) apiCall(method, path, body string, want int) map[string]any {
	e.t.Helper()
	r := httptest.NewRequest(method, api.Prefix+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(api.CSRFHeader, csrf)
	r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: e.adminC})
	r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: csrf})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != want {
		e.t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return out
}

// visitor is a browser holding the session cookie ("" anonymous).
func (e *env) visitor(cookie string) htmlpagetest.Visitor {
	return htmlpagetest.Visitor{Handler: e.h, Session: cookie, CSRF: csrf}
}

func (e *env) get(cookie, path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(cookie).Get(path)
}

// post sends a form; token is the form's csrf field ("" leaves it out).
func (e *env) post(cookie, path, token string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(cookie).Post(path, token, form)
}

// page fetches a page as akadmin; it must answer 200.
func (e *env) page(path string) string {
	e.t.Helper()
	w := e.get(e.adminC, path)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

// pages are every GET page with the title it must have.
func (e *env) pages() map[string]string {
	v, g := strconv.FormatInt(e.victim.PK, 10), e.group.UUID.String()
	return map[string]string{
		"/if/admin/":                                           "Dashboard",
		"/if/admin/users/":                                     "Users",
		"/if/admin/users/?q=victim&active=true":                "Users",
		"/if/admin/users/new/":                                 "New user",
		"/if/admin/users/" + v + "/":                           "victim1",
		"/if/admin/users/" + v + "/edit/":                      "Edit victim1",
		"/if/admin/users/" + v + "/password/":                  "Set password for victim1",
		"/if/admin/users/" + v + "/delete/":                    "Delete user",
		"/if/admin/groups/":                                    "Groups",
		"/if/admin/groups/new/":                                "New group",
		"/if/admin/groups/" + g + "/":                          "Team " + xss,
		"/if/admin/groups/" + g + "/delete/":                   "Delete group",
		"/if/admin/groups/" + g + "/members/" + v + "/remove/": "Remove member",
		"/if/admin/applications/":                              "Applications",
		"/if/admin/applications/wiki/":                         "Wiki " + xss,
		"/if/admin/applications/wiki/?check=victim1":           "Wiki " + xss,
		"/if/admin/flows/":                                     "Flows",
		"/if/admin/events/":                                    "Events",
		"/if/admin/events/?action=login_failed&username=victim1&client_ip=198.51.100.7": "Events",
		"/if/admin/events/" + e.event.UUID.String() + "/":                               "Event login_failed",
		"/if/admin/system/tasks/":                                                       "System tasks",
		"/if/admin/system/certificates/":                                                "Certificates",
	}
}

// inlineCode is an inline script, a style element, or a style or event
// handler attribute of a real tag.
var inlineCode = regexp.MustCompile(`<script>|<style|<[a-z]+(\s+[a-z-]+(="[^"]*")?)*\s+(style|on[a-z]+)=`)

func TestEveryPageRendersEscaped(t *testing.T) {
	e := newEnv(t)
	escapedTitle := func(s string) string {
		return strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
	}
	for path, title := range e.pages() {
		t.Run(path, func(t *testing.T) {
			w := e.get(e.adminC, path)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			body := w.Body.String()
			if !strings.Contains(body, "<title>"+escapedTitle(title)+" · Admin · ") {
				t.Errorf("title %q missing in %.300s", title, body[:min(len(body), 600)])
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
				t.Error("unescaped XSS payload")
			}
			if inlineCode.MatchString(body) {
				t.Errorf("inline code: %q", inlineCode.FindString(body))
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q", csp)
			}
			if !strings.Contains(body, `<nav class="side admin-nav" aria-label="Administration">`) {
				t.Error("no sidebar")
			}
			if strings.Contains(body, "<form method=\"post\"") && !strings.Contains(body, `name="csrf" value="`+csrf+`"`) {
				t.Error("a post form without the CSRF field")
			}
		})
	}
}

func TestPageContents(t *testing.T) {
	e := newEnv(t)
	v := strconv.FormatInt(e.victim.PK, 10)
	checks := []struct {
		path string
		want []string
		not  []string
	}{
		{"/if/admin/", []string{`id="count-users">3<`, `id="count-groups">2<`, `id="count-applications">1<`, `<svg class="chart"`,
			`class="bar-failed"`, "1 failed", `id="version">2026.1-test<`, "None running", "login_failed"}, nil},
		{"/if/admin/users/", []string{`data-pk="` + v + `"`, "carol@example.com", "akadmin"}, nil},
		{"/if/admin/users/?q=carol", []string{"carol@example.com"}, []string{fmt.Sprintf(`data-pk="%d"`, e.admin.PK)}},
		{"/if/admin/users/" + v + "/", []string{`id="user-sessions">0 active`, "&lt;script&gt;", `id="user-attributes"`, "login_failed"}, nil},
		{"/if/admin/applications/wiki/", []string{`value="wiki-client-id"`, `id="ep-issuer"`, "/application/o/wiki/"}, []string{"javascript:alert", "wiki-client-secret-value"}},
		{"/if/admin/applications/wiki/?check=victim1", []string{`id="check-result"`, "Allowed"}, nil},
		{"/if/admin/applications/wiki/?check=nobody", []string{"No user has this username."}, nil},
		{"/if/admin/events/?action=login", nil, []string{`data-action="login_failed"`}},
		{"/if/admin/events/?action=login_failed", []string{`data-action="login_failed"`, "198.51.100.7"}, nil},
		{"/if/admin/events/" + e.event.UUID.String() + "/", []string{`id="event-context"`, "&lt;/pre&gt;&lt;script&gt;"}, nil},
		{"/if/admin/system/tasks/", []string{"clean_expired_models", "Run now", "status-error", "boom &lt;script&gt;", "deleted &lt;script&gt;", `id="no-workers"`}, nil},
		{"/if/admin/system/certificates/", []string{"long-lived", "soon &lt;script&gt;", `class="cert warn-row"`, "Expires in 9 days"}, nil},
		{"/if/admin/", []string{"soon &lt;script&gt;", "expires in 9 days"}, []string{"long-lived expires"}},
	}
	for _, c := range checks {
		body := e.page(c.path)
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q", c.path, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: has %q", c.path, n)
			}
		}
	}
}

// A signed-in user without any permission gets 403 pages and no data; an
// anonymous visitor is sent to sign in.
func TestNonAdminGets403(t *testing.T) {
	e := newEnv(t)
	for path := range e.pages() {
		w := e.get(e.carolC, path)
		if w.Code != http.StatusForbidden {
			t.Errorf("carol GET %s: %d", path, w.Code)
		}
		body := w.Body.String()
		for _, secret := range []string{"victim1", "wiki-client-id", "198.51.100.7", "clean_expired_models", "Team &lt;"} {
			if strings.Contains(body, secret) {
				t.Errorf("carol GET %s: page shows %q", path, secret)
			}
		}
		if a := e.get("", path); a.Code != http.StatusFound || !strings.HasPrefix(a.Header().Get("Location"), "/flows/-/default/authentication/?next=") {
			t.Errorf("anonymous GET %s: %d %s", path, a.Code, a.Header().Get("Location"))
		}
	}
	for _, path := range e.posts() {
		if w := e.post(e.carolC, path, csrf, url.Values{"name": {"x"}, "username": {"carol"}}); w.Code != http.StatusForbidden {
			t.Errorf("carol POST %s: %d", path, w.Code)
		}
	}
	if u, err := e.st.UserByPK(context.Background(), e.victim.PK); err != nil || u.Username != "victim1" {
		t.Errorf("victim after carol's posts: %v %v", u, err)
	}
}

// A user with some system permissions gets in; the API decides per page
// what they see and do.
func TestDelegatedAdmin(t *testing.T) {
	e := newEnv(t)
	role := e.apiCall(http.MethodPost, "/rbac/roles/", `{"name":"helpdesk"}`, 201)
	e.apiCall(http.MethodPost, "/rbac/permissions/assigned_by_roles/"+role["pk"].(string)+"/assign/",
		`{"permissions":["authentik_core.view_user"]}`, 204)
	e.apiCall(http.MethodPatch, "/core/groups/"+e.group.UUID.String()+"/",
		fmt.Sprintf(`{"roles":[%q],"users":[%d]}`, role["pk"], e.carol.PK), 200)
	if body := e.page2(e.carolC, "/if/admin/users/", http.StatusOK); !strings.Contains(body, `data-pk="`+strconv.FormatInt(e.victim.PK, 10)+`"`) {
		t.Error("the helpdesk does not see the users")
	}
	e.page2(e.carolC, "/if/admin/", http.StatusOK)
	// The API answers 404 for an object the caller may not view.
	for p, status := range map[string]int{"/if/admin/system/tasks/": http.StatusForbidden,
		"/if/admin/events/" + e.event.UUID.String() + "/": http.StatusNotFound} {
		if body := e.page2(e.carolC, p, status); strings.Contains(body, "clean_expired_models") || strings.Contains(body, "198.51.100.7") {
			t.Errorf("%s: data on the 403 page", p)
		}
	}
	if w := e.post(e.carolC, "/if/admin/users/new/", csrf, url.Values{"username": {"mallory"}}); w.Code != http.StatusForbidden {
		t.Errorf("helpdesk creates a user: %d", w.Code)
	}
	if _, err := e.st.UserByUsername(context.Background(), "mallory"); err == nil {
		t.Error("mallory was created")
	}
}

// page2 fetches a page as the holder of cookie, which must answer status.
func (e *env) page2(cookie, path string, status int) string {
	e.t.Helper()
	w := e.get(cookie, path)
	if w.Code != status {
		e.t.Fatalf("GET %s: %d, want %d: %.500s", path, w.Code, status, w.Body)
	}
	return w.Body.String()
}

func (e *env) posts() []string {
	v, g := strconv.FormatInt(e.victim.PK, 10), e.group.UUID.String()
	return []string{"/if/admin/users/new/", "/if/admin/users/" + v + "/edit/", "/if/admin/users/" + v + "/password/",
		"/if/admin/users/" + v + "/delete/", "/if/admin/groups/new/", "/if/admin/groups/" + g + "/members/",
		"/if/admin/groups/" + g + "/members/" + v + "/remove/", "/if/admin/groups/" + g + "/delete/",
		"/if/admin/system/schedules/" + e.sched.UUID.String() + "/run/"}
}

// Every POST needs the form's CSRF field to repeat the cookie.
func TestCSRFEnforcedOnEveryPost(t *testing.T) {
	e := newEnv(t)
	for _, path := range e.posts() {
		for _, token := range []string{"", "wrong-token"} {
			w := e.post(e.adminC, path, token, url.Values{"name": {"x"}, "username": {"victim1"}, "password": {"p"}, "password_repeat": {"p"}})
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CSRF check failed") {
				t.Errorf("POST %s with csrf %q: %d", path, token, w.Code)
			}
		}
	}
	ctx := context.Background()
	if _, err := e.st.UserByPK(ctx, e.victim.PK); err != nil {
		t.Errorf("the victim was deleted without CSRF: %v", err)
	}
	if _, err := e.st.GroupByUUID(ctx, e.group.UUID); err != nil {
		t.Errorf("the group was deleted without CSRF: %v", err)
	}
	if n := pending(t, e.q); n != 0 {
		t.Errorf("%d tasks queued without CSRF", n)
	}
}

func pending(t *testing.T, q *sqlqueue.Queue) int {
	t.Helper()
	var b queue.Backend = q
	jobs, err := b.Claim(context.Background(), "test", 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

func TestPageSizeCapped(t *testing.T) {
	e := newEnv(t)
	for i := range 120 {
		e.user(fmt.Sprintf("bulk%03d", i), "Bulk")
	}
	body := e.page("/if/admin/users/?page_size=100000")
	if n := strings.Count(body, `class="user-row"`); n != 100 {
		t.Errorf("%d rows with page_size=100000, want the cap 100", n)
	}
	body = e.page("/if/admin/users/?page_size=10&page=2")
	if n := strings.Count(body, `class="user-row"`); n != 10 || !strings.Contains(body, "11–20 of 123") {
		t.Errorf("page 2 of 10: %d rows", n)
	}
	if !strings.Contains(body, `rel="next" href="/if/admin/users/?page=3&amp;page_size=10"`) ||
		!strings.Contains(body, `rel="prev" href="/if/admin/users/?page=1&amp;page_size=10"`) {
		t.Errorf("pager links wrong: %s", body[strings.Index(body, `class="pager"`):])
	}
	for _, p := range []string{"/if/admin/users/?page=99999999999", "/if/admin/users/?page=-1&page_size=-5", "/if/admin/events/?page=500"} {
		e.page(p)
	}
}

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The API's 400s are shown at their fields.
	w := e.post(e.adminC, "/if/admin/users/new/", csrf, url.Values{"username": {"carol"}, "name": {xss}, "email": {"c@example.com"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="username-err"><p class="field-error">`) ||
		!strings.Contains(w.Body.String(), `value="`+strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(xss)+`"`) {
		t.Fatalf("duplicate username: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, "/if/admin/users/new/", csrf, url.Values{"username": {""}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `class="field-error"`) {
		t.Fatalf("empty username: %d", w.Code)
	}
	w = e.post(e.adminC, "/if/admin/users/new/", csrf, url.Values{"username": {"dave"}, "name": {"Dave"}, "email": {"dave@example.com"}, "is_active": {"on"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	dave, err := e.st.UserByUsername(ctx, "dave")
	if err != nil || !dave.IsActive || dave.Email != "dave@example.com" {
		t.Fatalf("created: %+v %v", dave, err)
	}
	detail := fmt.Sprintf("/if/admin/users/%d/", dave.PK)
	if loc := w.Header().Get("Location"); loc != detail+"?done=user-created" {
		t.Errorf("Location %q", loc)
	}
	if body := e.page(detail + "?done=user-created"); !strings.Contains(body, "The user was created.") {
		t.Error("no notice")
	}
	// Edit: deactivate.
	if w := e.post(e.adminC, detail+"edit/", csrf, url.Values{"name": {"David"}, "email": {"david@example.com"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	if dave, _ = e.st.UserByPK(ctx, dave.PK); dave.IsActive || dave.Name != "David" {
		t.Errorf("edited: %+v", dave)
	}
	if body := e.page("/if/admin/users/?active=false"); !strings.Contains(body, "david@example.com") || strings.Contains(body, "carol@") {
		t.Error("inactive filter")
	}
	// Password: a mismatch is shown at the field; then set.
	w = e.post(e.adminC, detail+"password/", csrf, url.Values{"password": {"a-long-password-1"}, "password_repeat": {"other"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "The passwords do not match.") {
		t.Errorf("mismatch: %d", w.Code)
	}
	if w := e.post(e.adminC, detail+"password/", csrf, url.Values{"password": {"a-long-password-1"}, "password_repeat": {"a-long-password-1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("set password: %d %s", w.Code, w.Body)
	}
	if dave, _ = e.st.UserByPK(ctx, dave.PK); dave.PasswordHash == "" {
		t.Error("no password set")
	}
	// Delete asks first.
	if body := e.page(detail + "delete/"); !strings.Contains(body, `id="confirm"`) || !strings.Contains(body, "Delete the user “dave”?") {
		t.Error("no confirmation page")
	}
	if w := e.post(e.adminC, detail+"delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.UserByPK(ctx, dave.PK); err == nil {
		t.Error("not deleted")
	}
	if w := e.get(e.adminC, detail); w.Code != http.StatusNotFound {
		t.Errorf("deleted user's page: %d", w.Code)
	}
	if w := e.get(e.adminC, "/if/admin/users/abc/"); w.Code != http.StatusNotFound {
		t.Errorf("bad pk: %d", w.Code)
	}
}

func TestGroupMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.post(e.adminC, "/if/admin/groups/new/", csrf, url.Values{"name": {""}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="name-err"><p class="field-error">`) {
		t.Fatalf("empty name: %d %s", w.Code, w.Body)
	}
	w = e.post(e.adminC, "/if/admin/groups/new/", csrf, url.Values{"name": {"Editors"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	path := strings.TrimSuffix(w.Header().Get("Location"), "?done=group-created")
	id, err := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(path, "/if/admin/groups/"), "/"))
	if err != nil {
		t.Fatalf("Location %q", path)
	}
	w = e.post(e.adminC, path+"members/", csrf, url.Values{"username": {"nobody"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "No user has this username.") {
		t.Errorf("unknown member: %d", w.Code)
	}
	if w := e.post(e.adminC, path+"members/", csrf, url.Values{"username": {"victim1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d %s", w.Code, w.Body)
	}
	if w := e.post(e.adminC, path+"members/", csrf, url.Values{"username": {"victim1"}}); w.Code != http.StatusBadRequest {
		t.Errorf("add twice: %d", w.Code)
	}
	if m, _ := e.st.GroupMembers(ctx, id); len(m) != 1 || m[0] != e.victim.PK {
		t.Fatalf("members: %v", m)
	}
	body := e.page(path)
	if !strings.Contains(body, fmt.Sprintf(`class="member" data-pk="%d"`, e.victim.PK)) || strings.Contains(body, "<script>alert") {
		t.Error("member not listed (or unescaped)")
	}
	if body := e.page(fmt.Sprintf("/if/admin/users/%d/", e.victim.PK)); !strings.Contains(body, ">Editors</a>") {
		t.Error("group not on the user's page")
	}
	remove := fmt.Sprintf("%smembers/%d/remove/", path, e.victim.PK)
	if body := e.page(remove); !strings.Contains(body, `id="confirm"`) {
		t.Error("remove does not ask")
	}
	if w := e.post(e.adminC, remove, csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d", w.Code)
	}
	if m, _ := e.st.GroupMembers(ctx, id); len(m) != 0 {
		t.Errorf("members after remove: %v", m)
	}
	if w := e.post(e.adminC, path+"delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.GroupByUUID(ctx, id); err == nil {
		t.Error("group not deleted")
	}
}

func TestRunSchedule(t *testing.T) {
	e := newEnv(t)
	w := e.post(e.adminC, "/if/admin/system/schedules/"+e.sched.UUID.String()+"/run/", csrf, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/if/admin/system/tasks/?done=schedule-sent" {
		t.Fatalf("run: %d %s", w.Code, w.Header().Get("Location"))
	}
	if n := pending(t, e.q); n != 1 {
		t.Errorf("%d tasks queued, want 1", n)
	}
	if w := e.post(e.adminC, "/if/admin/system/schedules/"+uuid.NewString()+"/run/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown schedule: %d", w.Code)
	}
}

// The chart counts logins per hour.
func TestDashboardChart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Hour).Add(30 * time.Minute) // the dashboard's clock
	for i, ago := range []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Hour, 30 * time.Hour} {
		ev := &store.Event{UUID: uuid.New(), Action: "login", User: store.Attributes{"username": "carol"},
			Context: store.Attributes{}, Created: now.Add(-ago - time.Duration(i)*time.Second), Expires: now.Add(time.Hour)}
		if err := e.st.CreateEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	body := e.page("/if/admin/")
	if !strings.Contains(body, "3 logins") {
		t.Errorf("logins in 24 h: %s", body[strings.Index(body, "legend"):][:200])
	}
	if n := strings.Count(body, `<rect class="bar-login"`); n != 2 {
		t.Errorf("%d login bars, want 2 (this hour, 5 hours ago)", n)
	}
	if !strings.Contains(body, ": 2 logins</title>") {
		t.Error("no bar of 2 logins")
	}
}

// BenchmarkUsersPage renders the users list (25 a page, searching and
// not) with 10,000 users in the store.
func BenchmarkUsersPage(b *testing.B) {
	b.Run("sqlite", benchUsersPage)
	if os.Getenv(testenv.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) {
			onPostgres = true
			defer func() { onPostgres = false }()
			benchUsersPage(b)
		})
	}
}

func benchUsersPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx store.Store) error {
		for i := range 10_000 {
			u := &store.User{Username: fmt.Sprintf("user%05d", i), Name: fmt.Sprintf("User %d", i),
				Email: fmt.Sprintf("user%05d@example.com", i), IsActive: i%7 != 0, Path: "users", Type: "internal"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"first", "/if/admin/users/"}, {"page200", "/if/admin/users/?page=200"},
		{"search", "/if/admin/users/?q=user0999"}, {"inactive", "/if/admin/users/?active=false&page=10"}} {
		b.Run(c.name, func(b *testing.B) {
			size := 0
			for b.Loop() {
				w := e.get(e.adminC, c.path)
				if w.Code != http.StatusOK {
					b.Fatalf("%d", w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "html-bytes")
		})
	}
}
