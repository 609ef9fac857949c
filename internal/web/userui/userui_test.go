package userui_test

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/web"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/htmlpagetest"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// xss is put into every user-controlled field; it must never come back
// unescaped.
const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// env is the UI and the API in process on a fresh SQLite store, with alice
// and bob signed in (each with a second session) and things of their own.
type env struct {
	t       testing.TB
	st      store.Store
	h       http.Handler
	alice   *store.User
	bob     *store.User
	aliceC  string // alice's session cookie value
	bobC    string
	aliceS2 *store.Session // alice's other session
	bobS    *store.Session
	devices map[string]*store.AuthenticatorDevice
	consent map[string]*store.UserConsent
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
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
	a, err := api.New(api.Deps{Store: st, Log: slog.New(slog.DiscardHandler), SecretKey: "userui-test-secret-key-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	ui := &userui.UI{API: a.Handler(), Store: func() store.Store { return st }, Log: slog.New(slog.DiscardHandler)}
	ws := &web.Server{Log: slog.New(slog.DiscardHandler), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Mount: func(r chi.Router) {
			r.Mount(api.Prefix, a.Handler())
			ui.Mount(r)
		}}
	ws.SetStarted(true)
	e := &env{t: t, st: st, h: ws.Handler(), devices: map[string]*store.AuthenticatorDevice{}, consent: map[string]*store.UserConsent{}}
	e.alice = e.user("alice", "Alice "+xss)
	e.bob = e.user("bob", "Bob")
	e.aliceC, _ = e.session(e.alice, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
	_, e.aliceS2 = e.session(e.alice, "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0 "+xss)
	e.bobC, e.bobS = e.session(e.bob, "Mozilla/5.0 (Macintosh; Mac OS X 14_0) Safari/605.1.15 bob-agent")
	e.devices["alice"] = e.device(e.alice, store.DeviceTOTP, "Phone "+xss)
	e.devices["alice-key"] = e.device(e.alice, store.DeviceWebAuthn, "YubiKey")
	e.devices["bob"] = e.device(e.bob, store.DeviceTOTP, "bob-secret-phone")
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

func (e *env) session(u *store.User, agent string) (string, *store.Session) {
	e.t.Helper()
	cookie := "cookie-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now().UTC()
	s := &store.Session{Key: session.Key(cookie), UserPK: &u.PK, LastIP: "203.0.113.9", LastUserAgent: agent, LastUsed: now,
		Expires: now.Add(time.Hour)}
	if err := e.st.CreateSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return cookie, s
}

func (e *env) device(u *store.User, typ, name string) *store.AuthenticatorDevice {
	e.t.Helper()
	d := &store.AuthenticatorDevice{UserPK: u.PK, Type: typ, Name: name, Confirmed: true, Data: store.Attributes{}}
	if typ == store.DeviceWebAuthn {
		d.CredentialID = "cred-" + name
	}
	if err := e.st.CreateDevice(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

const csrf = "csrf-token-value"

// visitor is a browser holding the session cookie ("" anonymous).
func (e *env) visitor(cookie string) htmlpagetest.Visitor {
	return htmlpagetest.Visitor{Handler: e.h, Session: cookie, CSRF: csrf}
}

// get fetches a page as the holder of cookie ("" anonymous).
func (e *env) get(cookie, path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(cookie).Get(path)
}

// post sends a form as the holder of cookie; token is the form's csrf field
// ("" leaves it out); header pairs are added.
func (e *env) post(cookie, path, token string, form url.Values, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(cookie).Post(path, token, form, header...)
}

// page fetches a page that must answer 200 and returns its HTML.
func (e *env) page(cookie, path string) string {
	e.t.Helper()
	w := e.get(cookie, path)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

// app creates an application through the store (as an admin would).
func (e *env) app(name, slug, group string, f func(*store.Application)) *store.Application {
	e.t.Helper()
	a := &store.Application{Name: name, Slug: slug, Group: group, PolicyEngineMode: "any", MetaLaunchURL: "https://" + slug + ".example.com/"}
	if f != nil {
		f(a)
	}
	if err := e.st.CreateApplication(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

var pagesToRender = []string{"/if/user/", "/if/user/settings/", "/if/user/settings/mfa/", "/if/user/settings/sessions/",
	"/if/user/settings/tokens/", "/if/user/settings/consents/"}

func TestAnonymousIsSentToSignIn(t *testing.T) {
	e := newEnv(t)
	for _, p := range append(pagesToRender, "/if/user/?q=wiki") {
		w := e.get("", p)
		if w.Code != http.StatusFound {
			t.Fatalf("GET %s anonymous: %d", p, w.Code)
		}
		want := "/flows/-/default/authentication/?" + url.Values{"next": {p}}.Encode()
		if got := w.Header().Get("Location"); got != want {
			t.Errorf("GET %s: Location %q, want %q", p, got, want)
		}
	}
	if w := e.post("not-a-session", "/if/user/settings/tokens/", csrf, nil); w.Code != http.StatusForbidden {
		t.Errorf("anonymous POST: %d, want 403", w.Code)
	}
}

// inlineCode is an inline script, a style element, or a style or event
// handler attribute of a real tag (attribute values skipped).
var inlineCode = regexp.MustCompile(`<script>|<style|<[a-z]+(\s+[a-z-]+(="[^"]*")?)*\s+(style|on[a-z]+)=`)

// landmarks every page has.
var landmarks = []*regexp.Regexp{
	regexp.MustCompile(`<html lang="en">`), regexp.MustCompile(`<main id="main"`), regexp.MustCompile(`<header class="top">`),
	regexp.MustCompile(`<nav class="primary" aria-label="Main">`), regexp.MustCompile(`<title>[^<]+</title>`),
	regexp.MustCompile(`href="#main"`),
}

func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t)
	e.app("Wiki", "wiki", "", nil)
	for _, p := range pagesToRender {
		t.Run(p, func(t *testing.T) {
			w := e.get(e.aliceC, p)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			body := w.Body.String()
			for _, re := range landmarks {
				if !re.MatchString(body) {
					t.Errorf("missing %s", re)
				}
			}
			csp := w.Header().Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || inlineCode.MatchString(body) {
				t.Errorf("inline script or style on %s", p)
			}
			// Every input has a label.
			for _, m := range regexp.MustCompile(`<input [^>]*id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `for="`+m[1]+`"`) {
					t.Errorf("input #%s has no label", m[1])
				}
			}
		})
	}
	for _, a := range []string{userui.StylePath, userui.ScriptPath} {
		if w := e.get("", a); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d", a, w.Code)
		}
	}
}

func TestApplications(t *testing.T) {
	e := newEnv(t)
	e.app("Wiki", "wiki", "Docs", func(a *store.Application) {
		a.MetaDescription, a.MetaPublisher, a.MetaIcon, a.OpenInNewTab = "The team wiki", "Acme", "/media/application-icons/wiki.png", true
	})
	e.app("Chat", "chat", "", nil)
	e.app("No launch", "nolaunch", "", func(a *store.Application) { a.MetaLaunchURL = "" })
	payroll := e.app("Payroll", "payroll", "Finance", nil)
	bob := e.bob.PK
	if err := e.st.CreatePolicyBinding(context.Background(), &store.PolicyBinding{TargetUUID: payroll.UUID, UserPK: &bob, Enabled: true, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	body := e.page(e.aliceC, "/if/user/")
	for _, want := range []string{`href="https://wiki.example.com/" target="_blank" rel="noopener noreferrer"`, "The team wiki", "Acme",
		`src="/media/application-icons/wiki.png"`, `<h2 class="group-name">Docs</h2>`, `href="https://chat.example.com/"`, "(opens in a new tab)"} {
		if !strings.Contains(body, want) {
			t.Errorf("applications page lacks %q", want)
		}
	}
	if strings.Contains(body, "Payroll") || strings.Contains(body, "payroll.example.com") {
		t.Error("alice sees Payroll, which a policy keeps for bob")
	}
	if strings.Contains(body, "No launch") {
		t.Error("an application without a launch URL is listed")
	}
	// Ungrouped first, then groups by name.
	if i, j := strings.Index(body, "chat.example.com"), strings.Index(body, "wiki.example.com"); i < 0 || j < 0 || i > j {
		t.Error("ungrouped applications are not listed before groups")
	}
	if body := e.page(e.bobC, "/if/user/"); !strings.Contains(body, "Payroll") {
		t.Error("bob does not see Payroll")
	}
	// Search, on the server.
	body = e.page(e.aliceC, "/if/user/?q=wik")
	if !strings.Contains(body, "wiki.example.com") || strings.Contains(body, "chat.example.com") {
		t.Error("search for wik does not list exactly Wiki")
	}
	body = e.page(e.aliceC, "/if/user/?q=nothing-matches")
	if !strings.Contains(body, "No application matches") {
		t.Error("an empty search result says nothing")
	}
	// A long search term is cut, not an error.
	e.page(e.aliceC, "/if/user/?q="+strings.Repeat("a", 5000))
}

func TestXSSEscaped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.app(xss, "xss", xss, func(a *store.Application) {
		a.MetaDescription, a.MetaPublisher, a.MetaLaunchURL = xss, xss, "javascript:alert(1)"
	})
	e.app("Icon "+xss, "xss-icon", "", func(a *store.Application) { a.MetaIcon = `javascript:alert(1)` })
	if err := e.st.CreateToken(ctx, &store.Token{Identifier: "xss-token", KeyHash: core.HashTokenKey("k-xss"), Intent: store.IntentAppPassword,
		UserPK: e.alice.PK, Description: xss}); err != nil {
		t.Fatal(err)
	}
	a := e.app("Consented "+xss, "consented", "", nil)
	if err := e.st.SaveConsent(ctx, &store.UserConsent{UserPK: e.alice.PK, ApplicationUUID: a.UUID, Permissions: "openid " + xss}); err != nil {
		t.Fatal(err)
	}
	brands, err := e.st.ListBrands(ctx)
	if err != nil || len(brands) == 0 {
		t.Fatal(brands, err)
	}
	brands[0].BrandingTitle = "Brand " + xss
	if err := e.st.UpdateBrand(ctx, brands[0]); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pagesToRender {
		body := e.page(e.aliceC, p)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "javascript:alert") {
			t.Errorf("%s renders the payload unescaped", p)
		}
		if strings.Contains(body, html.EscapeString(`<script>alert(`)) || strings.Contains(body, "&lt;script&gt;alert(") {
			seen[p] = true
		}
	}
	for _, p := range pagesToRender {
		if !seen[p] {
			t.Errorf("%s does not show the escaped payload (brand title, names): the test checks nothing there", p)
		}
	}
	// Confirmation pages name the object.
	for _, p := range []string{"/if/user/settings/mfa/totp/" + strconv.FormatInt(e.devices["alice"].PK, 10) + "/delete/",
		"/if/user/settings/sessions/" + e.aliceS2.UUID.String() + "/revoke/", "/if/user/settings/tokens/xss-token/delete/"} {
		body := e.page(e.aliceC, p)
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s renders the payload unescaped", p)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t)
	d := e.devices["alice"]
	path := "/if/user/settings/mfa/totp/" + strconv.FormatInt(d.PK, 10) + "/rename/"
	for name, token := range map[string]string{"no token": "", "wrong token": "other-value"} {
		w := e.post(e.aliceC, path, token, url.Values{"name": {"renamed"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
		}
	}
	// A cross-site POST with the right token is refused too.
	form := url.Values{"name": {"renamed"}, "csrf": {csrf}}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: e.aliceC})
	r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: csrf})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", w.Code)
	}
	if got, _ := e.st.Device(context.Background(), d.PK); got.Name != d.Name {
		t.Errorf("device renamed to %q by a refused POST", got.Name)
	}
	// Every form of every page carries the token.
	for _, p := range pagesToRender {
		body := e.page(e.aliceC, p)
		forms := regexp.MustCompile(`(?s)<form method="post".*?</form>`).FindAllString(body, -1)
		for _, f := range forms {
			if !strings.Contains(f, `name="csrf" value="`+csrf+`"`) {
				t.Errorf("%s: a form without the CSRF field: %.120s", p, f)
			}
		}
	}
	// Without a CSRF cookie, a GET sets one.
	r = httptest.NewRequest(http.MethodGet, "/if/user/", nil)
	r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: e.aliceC})
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Header().Get("Set-Cookie"), api.CSRFCookie+"=") {
		t.Errorf("first visit: %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
	}
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := e.page(e.aliceC, "/if/user/settings/mfa/")
	if !strings.Contains(body, "Security key or passkey") || !strings.Contains(body, "Authenticator app (TOTP)") || !strings.Contains(body, "YubiKey") {
		t.Error("alice's devices are not listed with their type")
	}
	if strings.Contains(body, "bob-secret-phone") {
		t.Error("alice sees bob's device")
	}
	alice, bob := e.devices["alice"], e.devices["bob"]
	// Rename: an empty name is the API's 400, shown at the device.
	w := e.post(e.aliceC, "/if/user/settings/mfa/totp/"+strconv.FormatInt(alice.PK, 10)+"/rename/", csrf, url.Values{"name": {""}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `class="field-error"`) {
		t.Errorf("empty name: %d, want 400 with the field error", w.Code)
	}
	w = e.post(e.aliceC, "/if/user/settings/mfa/totp/"+strconv.FormatInt(alice.PK, 10)+"/rename/", csrf, url.Values{"name": {"Work phone"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", w.Code, w.Body)
	}
	if d, _ := e.st.Device(ctx, alice.PK); d.Name != "Work phone" {
		t.Errorf("renamed device = %q", d.Name)
	}
	if body := e.page(e.aliceC, w.Header().Get("Location")); !strings.Contains(body, "The device was renamed.") {
		t.Error("no notice after renaming")
	}
	// Bob's device: a 404, whatever alice does.
	bobPath := "/if/user/settings/mfa/totp/" + strconv.FormatInt(bob.PK, 10)
	if w := e.get(e.aliceC, bobPath+"/delete/"); w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "bob-secret-phone") {
		t.Errorf("confirming bob's device: %d", w.Code)
	}
	for _, action := range []string{"/rename/", "/delete/"} {
		if w := e.post(e.aliceC, bobPath+action, csrf, url.Values{"name": {"mine"}}); w.Code != http.StatusNotFound {
			t.Errorf("POST %s on bob's device: %d, want 404", action, w.Code)
		}
	}
	if d, err := e.st.Device(ctx, bob.PK); err != nil || d.Name != "bob-secret-phone" {
		t.Errorf("bob's device after alice's attempts: %+v %v", d, err)
	}
	// Delete asks first, then deletes.
	confirm := e.page(e.aliceC, "/if/user/settings/mfa/totp/"+strconv.FormatInt(alice.PK, 10)+"/delete/")
	if !strings.Contains(confirm, "Delete “Work phone”?") || !strings.Contains(confirm, `<button type="submit" class="danger" id="confirm">`) {
		t.Error("the delete confirmation does not name the device")
	}
	if w := e.post(e.aliceC, "/if/user/settings/mfa/totp/"+strconv.FormatInt(alice.PK, 10)+"/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.Device(ctx, alice.PK); err == nil {
		t.Error("the device is still there")
	}
	// Unknown classes and ids are 404s.
	for _, p := range []string{"/if/user/settings/mfa/nope/1/delete/", "/if/user/settings/mfa/totp/abc/delete/"} {
		if w := e.get(e.aliceC, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
}

// The settings' links to flows (profile, password change, authenticator
// setup) come back to the page they were opened from once the flow is done,
// as authentik's user settings do (AndNext).
func TestSettingsFlowLinksComeBack(t *testing.T) {
	e := newEnv(t)
	if _, err := blueprint.ApplyDefaults(context.Background(), e.st); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ page, link string }{
		{"/if/user/settings/", `id="change-password" href="/if/flow/default-password-change/?next=%2Fif%2Fuser%2Fsettings%2F"`},
		{"/if/user/settings/", `id="edit-profile" href="/if/flow/default-user-settings-flow/?next=%2Fif%2Fuser%2Fsettings%2F"`},
		{"/if/user/settings/mfa/", `href="/if/flow/default-authenticator-totp-setup/?next=%2Fif%2Fuser%2Fsettings%2Fmfa%2F"`},
	} {
		if body := e.page(e.aliceC, c.page); !strings.Contains(body, c.link) {
			t.Errorf("%s has no link %s; links: %q", c.page, c.link, regexp.MustCompile(`href="/if/flow/[^"]*"`).FindAllString(body, -1))
		}
	}
}

func TestSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, third := e.session(e.alice, "curl/8.0")
	body := e.page(e.aliceC, "/if/user/settings/sessions/")
	if !strings.Contains(body, "Firefox on Linux") || !strings.Contains(body, "This session") || !strings.Contains(body, "203.0.113.9") {
		t.Error("sessions are not listed with browser, IP and the current one marked")
	}
	if n := strings.Count(body, `class="row session`); n != 3 {
		t.Errorf("%d sessions listed, want alice's 3", n)
	}
	if strings.Contains(body, "bob-agent") || strings.Contains(body, e.bobS.UUID.String()) {
		t.Error("alice sees bob's session")
	}
	// Bob's session cannot be revoked by alice.
	if w := e.post(e.aliceC, "/if/user/settings/sessions/"+e.bobS.UUID.String()+"/revoke/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("revoking bob's session: %d, want 404", w.Code)
	}
	if _, err := e.st.SessionByKey(ctx, e.bobS.Key, time.Now()); err != nil {
		t.Errorf("bob's session is gone: %v", err)
	}
	// One of her own.
	if w := e.post(e.aliceC, "/if/user/settings/sessions/"+third.UUID.String()+"/revoke/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := e.st.SessionByKey(ctx, third.Key, time.Now()); err == nil {
		t.Error("the revoked session still works")
	}
	// All others: hers end, this one and bob's stay.
	e.page(e.aliceC, "/if/user/settings/sessions/revoke-others/")
	if w := e.post(e.aliceC, "/if/user/settings/sessions/revoke-others/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("revoke others: %d %s", w.Code, w.Body)
	}
	if _, err := e.st.SessionByKey(ctx, e.aliceS2.Key, time.Now()); err == nil {
		t.Error("alice's other session still works")
	}
	body = e.page(e.aliceC, "/if/user/settings/sessions/")
	if n := strings.Count(body, `class="row session`); n != 1 || !strings.Contains(body, "All other sessions were signed out.") && !strings.Contains(body, "This session") {
		t.Errorf("after revoking the others: %d sessions", n)
	}
	if _, err := e.st.SessionByKey(ctx, e.bobS.Key, time.Now()); err != nil {
		t.Errorf("bob's session ended with alice's others: %v", err)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.CreateToken(ctx, &store.Token{Identifier: "bob-token", KeyHash: core.HashTokenKey("k-bob"), Intent: store.IntentAPI,
		UserPK: e.bob.PK, Description: "bob's"}); err != nil {
		t.Fatal(err)
	}
	// A bad identifier: the API's field error, inline, values kept.
	w := e.post(e.aliceC, "/if/user/settings/tokens/", csrf, url.Values{"identifier": {"has spaces"}, "description": {"mail"},
		"intent": {"app_password"}, "expiry": {"30d"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `class="field-error"`) || !strings.Contains(w.Body.String(), `value="has spaces"`) {
		t.Errorf("bad identifier: %d", w.Code)
	}
	w = e.post(e.aliceC, "/if/user/settings/tokens/", csrf, url.Values{"identifier": {"thunderbird"}, "description": {"Mail " + xss},
		"intent": {"app_password"}, "expiry": {""}})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	key := regexp.MustCompile(`id="created-key" readonly value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if key == nil {
		t.Fatal("the new key is not shown")
	}
	tok, err := e.st.TokenByIdentifier(ctx, "thunderbird")
	if err != nil || tok.UserPK != e.alice.PK || tok.Intent != store.IntentAppPassword || tok.Expiring || !bytes.Equal(tok.KeyHash, core.HashTokenKey(key[1])) {
		t.Fatalf("stored token = %+v %v", tok, err)
	}
	body := e.page(e.aliceC, "/if/user/settings/tokens/")
	if strings.Contains(body, key[1]) {
		t.Error("the key is shown again")
	}
	if !strings.Contains(body, "thunderbird") || !strings.Contains(body, "App password") || strings.Contains(body, "bob-token") {
		t.Error("the token list is wrong (missing hers or showing bob's)")
	}
	if w := e.post(e.aliceC, "/if/user/settings/tokens/bob-token/delete/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("deleting bob's token: %d, want 404", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/settings/tokens/", csrf, url.Values{"identifier": {"x"}, "intent": {"api"}, "expiry": {"7y"}}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown expiry: %d", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/settings/tokens/thunderbird/delete/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.st.TokenByIdentifier(ctx, "thunderbird"); err == nil {
		t.Error("the token is still there")
	}
}

func TestConsents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.app("Grafana", "grafana", "", nil)
	mine := &store.UserConsent{UserPK: e.alice.PK, ApplicationUUID: a.UUID, Permissions: "openid email"}
	bobs := &store.UserConsent{UserPK: e.bob.PK, ApplicationUUID: a.UUID, Permissions: "openid"}
	for _, c := range []*store.UserConsent{mine, bobs} {
		if err := e.st.SaveConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	body := e.page(e.aliceC, "/if/user/settings/consents/")
	if !strings.Contains(body, "Grafana") || !strings.Contains(body, `<span class="badge">email</span>`) || strings.Contains(body, bobs.UUID.String()) {
		t.Error("alice's consents are wrong")
	}
	if w := e.post(e.aliceC, "/if/user/settings/consents/"+bobs.UUID.String()+"/revoke/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("revoking bob's consent: %d", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/settings/consents/"+mine.UUID.String()+"/revoke/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", w.Code)
	}
	if _, err := e.st.Consent(ctx, e.alice.PK, a.UUID); err == nil {
		t.Error("the consent is still there")
	}
	if _, err := e.st.Consent(ctx, e.bob.PK, a.UUID); err != nil {
		t.Error("bob's consent is gone")
	}
}

func TestPageWeight(t *testing.T) {
	e := newEnv(t)
	for i := range 200 {
		e.app("Application "+strconv.Itoa(i), "app-"+strconv.Itoa(i), "Group "+strconv.Itoa(i%7), func(a *store.Application) {
			a.MetaDescription, a.MetaPublisher = "A description of application "+strconv.Itoa(i), "Publisher"
		})
	}
	size := e.get(e.aliceC, "/if/user/").Body.Len() + e.get("", userui.StylePath).Body.Len() + e.get("", userui.ScriptPath).Body.Len() +
		e.get("", userui.HTMXPath).Body.Len()
	t.Logf("first load of the applications page with 200 applications: %d bytes (HTML+CSS+JS, htmx included)", size)
	if size > 150<<10 {
		t.Errorf("page weight %d bytes, want <= 150 KiB", size)
	}
	// An htmx navigation transfers the page's fragment only (htmx_test.go):
	// <= 20 KiB, except the library itself here, which lists all its 200
	// applications on one page (about 350 bytes each); it is logged.
	for _, p := range append(pagesToRender, "/if/user/notifications/") {
		n := e.htmxGet(e.aliceC, p).Body.Len()
		t.Logf("htmx navigation to %s: %d bytes", p, n)
		if p != "/if/user/" && n > 20<<10 {
			t.Errorf("htmx navigation to %s: %d bytes, want <= 20 KiB", p, n)
		}
	}
}

func BenchmarkApplicationsPage(b *testing.B) {
	e := newEnv(b)
	for i := range 200 {
		e.app("Application "+strconv.Itoa(i), "app-"+strconv.Itoa(i), "Group "+strconv.Itoa(i%7), func(a *store.Application) {
			a.MetaDescription, a.MetaPublisher = "A description of application "+strconv.Itoa(i), "Publisher"
		})
	}
	b.ResetTimer()
	for b.Loop() {
		if w := e.get(e.aliceC, "/if/user/"); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
