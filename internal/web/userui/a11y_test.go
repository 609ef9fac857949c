package userui_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/a11ytest"
)

// a11yPage is one answer of the user interface to check: a GET, or a
// form sent with POST, and the status it must have.
type a11yPage struct {
	method, path string
	form         url.Values
	status       int
}

// Every page of the user interface (each list, each confirmation, a form
// answered with its errors, the created token, a 404), as the full page
// and as the document an htmx navigation leaves behind, keeps the rules of
// a11ytest: title, lang, landmarks and the skip link, a name for every
// field, link and button, one h1 and no skipped level, table headers,
// errors linked to their fields.
func TestAccessibility(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.app("Wiki", "wiki", "", nil)
	e.app("Grafana", "grafana", "Monitoring", func(a *store.Application) { a.MetaIcon = "https://cdn.example.com/g.png"; a.OpenInNewTab = true })
	consent := &store.UserConsent{UserPK: e.alice.PK, ApplicationUUID: e.app("Chat", "chat", "", nil).UUID, Permissions: "openid email"}
	if err := e.st.SaveConsent(ctx, consent); err != nil {
		t.Fatal(err)
	}
	e.notify(e.alice, "Login failed", "/if/user/settings/sessions/", false)
	e.notify(e.alice, "Old news", "", true)
	dev := "/if/user/settings/mfa/totp/" + strconv.FormatInt(e.devices["alice"].PK, 10) + "/"
	pages := []a11yPage{
		{"GET", "/if/user/", nil, 200},
		{"GET", "/if/user/?q=wiki", nil, 200},
		{"GET", "/if/user/?q=nothing-matches", nil, 200},
		{"GET", "/if/user/settings/", nil, 200},
		{"GET", "/if/user/settings/mfa/", nil, 200},
		{"GET", "/if/user/settings/sessions/", nil, 200},
		{"GET", "/if/user/settings/tokens/", nil, 200},
		{"GET", "/if/user/settings/consents/", nil, 200},
		{"GET", "/if/user/notifications/", nil, 200},
		{"GET", "/if/user/notifications/?unseen=1", nil, 200},
		{"GET", dev + "delete/", nil, 200},
		{"GET", "/if/user/settings/sessions/" + e.aliceS2.UUID.String() + "/revoke/", nil, 200},
		{"GET", "/if/user/settings/sessions/revoke-others/", nil, 200},
		{"GET", "/if/user/settings/consents/" + consent.UUID.String() + "/revoke/", nil, 200},
		{"GET", "/if/user/settings/mfa/totp/999999/delete/", nil, 404},
		{"POST", dev + "rename/", url.Values{"name": {""}}, 400},
		{"POST", "/if/user/settings/tokens/", url.Values{"identifier": {"has spaces"}, "intent": {"api"}, "expiry": {"30d"}}, 400},
		{"POST", "/if/user/settings/tokens/", url.Values{"identifier": {"x"}, "intent": {"api"}, "expiry": {"7y"}}, 400},
		{"POST", "/if/user/settings/tokens/", url.Values{"identifier": {"thunderbird"}, "intent": {"app_password"}, "expiry": {""}}, 201},
	}
	for _, p := range pages {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			var w = e.get(e.aliceC, p.path)
			if p.method == http.MethodPost {
				w = e.post(e.aliceC, p.path, csrf, p.form)
			}
			if w.Code != p.status {
				t.Fatalf("%d, want %d: %.300s", w.Code, p.status, w.Body)
			}
			opt := a11ytest.Options{Invalid: p.status == http.StatusBadRequest}
			for _, v := range a11ytest.Check(a11ytest.Parse(t, w.Body.String()), opt) {
				t.Error(v)
			}
			if p.method != http.MethodGet {
				return
			}
			// After an htmx navigation the header, its nav and <main> are
			// the fragment's; the skip link stays in the document.
			frag := e.htmxGet(e.aliceC, p.path)
			if frag.Code != p.status {
				t.Fatalf("htmx: %d", frag.Code)
			}
			for _, v := range a11ytest.Check(a11ytest.Swap(t, w.Body.String(), frag.Body.String()), opt) {
				t.Error("after an htmx swap: " + v)
			}
		})
	}
}

// userPairs are the text and UI colours the user interface puts on its
// backgrounds (user.css), with the ratio WCAG 2.2 AA asks of each.
var userPairs = []a11ytest.Pair{
	{Name: "body text", Fg: a11ytest.Fore("body"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "text on a card", Fg: a11ytest.Fore("body"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "text in the header", Fg: a11ytest.Fore(".brand"), Bg: a11ytest.Back(".top"), Min: a11ytest.NormalText},
	{Name: "muted text on the page", Fg: a11ytest.Fore(".muted"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "muted text on a card", Fg: a11ytest.Fore(".muted"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "help text", Fg: a11ytest.Fore(".help"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "fact labels", Fg: a11ytest.Fore("dl.facts dt"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "links on a card", Fg: a11ytest.Fore("a"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "links on the page", Fg: a11ytest.Fore("a"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "header nav", Fg: a11ytest.Fore(".primary a"), Bg: a11ytest.Back(".top"), Min: a11ytest.NormalText},
	{Name: "header nav hovered", Fg: a11ytest.Fore(".primary a:hover"), Bg: a11ytest.Back(".primary a:hover"), Min: a11ytest.NormalText},
	{Name: "header nav current", Fg: a11ytest.Fore(`.primary a[aria-current="page"]`), Bg: a11ytest.Back(`.primary a[aria-current="page"]`), Min: a11ytest.NormalText},
	{Name: "unread count", Fg: a11ytest.Fore(".primary a .count"), Bg: a11ytest.Back(".primary a .count"), Min: a11ytest.NormalText},
	{Name: "side nav", Fg: a11ytest.Fore(".side a"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "side nav hovered", Fg: a11ytest.Fore(".side a"), Bg: a11ytest.Back(".side a:hover"), Min: a11ytest.NormalText},
	{Name: "side nav current", Fg: a11ytest.Fore(`.side a[aria-current="page"]`), Bg: a11ytest.Back(`.side a[aria-current="page"]`), Min: a11ytest.NormalText},
	{Name: "tabs", Fg: a11ytest.Fore(".tabs a"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "tab current", Fg: a11ytest.Fore(`.tabs a[aria-current="page"]`), Bg: a11ytest.Back(`.tabs a[aria-current="page"]`), Min: a11ytest.NormalText},
	{Name: "skip link", Fg: a11ytest.Fore(".skip"), Bg: a11ytest.Back(".skip"), Min: a11ytest.NormalText},
	{Name: "button", Fg: a11ytest.Fore("button"), Bg: a11ytest.Back("button"), Min: a11ytest.NormalText},
	{Name: "secondary button", Fg: a11ytest.Fore(".secondary"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "ghost button on a card", Fg: a11ytest.Fore(".ghost"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "ghost button in the header", Fg: a11ytest.Fore(".ghost"), Bg: a11ytest.Back(".top"), Min: a11ytest.NormalText},
	{Name: "danger button", Fg: a11ytest.Fore(".danger"), Bg: a11ytest.Back(".danger"), Min: a11ytest.NormalText},
	{Name: "danger ghost button", Fg: a11ytest.Fore(".danger-ghost"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "danger ghost button hovered", Fg: a11ytest.Fore(".danger-ghost"), Bg: a11ytest.Back(".danger-ghost:hover"), Min: a11ytest.NormalText},
	{Name: "notice", Fg: a11ytest.Fore(".notice"), Bg: a11ytest.Back(".notice"), Min: a11ytest.NormalText},
	{Name: "impersonation banner", Fg: a11ytest.Fore(".impersonating"), Bg: a11ytest.Back(".impersonating"), Min: a11ytest.NormalText},
	{Name: "error text", Fg: a11ytest.Fore(".field-error"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "badge", Fg: a11ytest.Fore(".badge"), Bg: a11ytest.Back(".badge"), Min: a11ytest.NormalText},
	{Name: "badge ok", Fg: a11ytest.Fore(".badge.ok"), Bg: a11ytest.Back(".badge.ok"), Min: a11ytest.NormalText},
	{Name: "badge warn", Fg: a11ytest.Fore(".badge.warn"), Bg: a11ytest.Back(".badge.warn"), Min: a11ytest.NormalText},
	{Name: "badge warning", Fg: a11ytest.Fore(".badge.sev-warning"), Bg: a11ytest.Back(".badge.sev-warning"), Min: a11ytest.NormalText},
	{Name: "badge alert", Fg: a11ytest.Fore(".badge.sev-alert"), Bg: a11ytest.Back(".badge.sev-alert"), Min: a11ytest.NormalText},
	{Name: "group name", Fg: a11ytest.Fore(".group-name"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "application card", Fg: a11ytest.Fore(".app"), Bg: a11ytest.Back(".app"), Min: a11ytest.NormalText},
	{Name: "publisher", Fg: a11ytest.Fore(".app-publisher"), Bg: a11ytest.Back(".app"), Min: a11ytest.NormalText},
	{Name: "description", Fg: a11ytest.Fore(".app-desc"), Bg: a11ytest.Back(".app"), Min: a11ytest.NormalText},
	// The letter icons are bold 1.3rem (large text) and aria-hidden
	// beside the application's name; in the consents list 1rem.
	{Name: "letter icon 0", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c0"), Min: a11ytest.NormalText},
	{Name: "letter icon 1", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c1"), Min: a11ytest.NormalText},
	{Name: "letter icon 2", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c2"), Min: a11ytest.NormalText},
	{Name: "letter icon 3", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c3"), Min: a11ytest.NormalText},
	{Name: "letter icon 4", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c4"), Min: a11ytest.NormalText},
	{Name: "letter icon 5", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c5"), Min: a11ytest.NormalText},
	{Name: "letter icon 6", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c6"), Min: a11ytest.NormalText},
	{Name: "letter icon 7", Fg: a11ytest.Fore(".letter"), Bg: a11ytest.Back(".c7"), Min: a11ytest.NormalText},
	// UI components (SC 1.4.11): the boundary of a field, an invalid
	// field, the focus ring on the page and on a card.
	{Name: "field border", Fg: a11ytest.Border("input[type=text]"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "search field border on the page", Fg: a11ytest.Border("input[type=search]"), Bg: a11ytest.Back("body"), Min: a11ytest.NonText},
	{Name: "invalid field border", Fg: a11ytest.Border(`input[aria-invalid="true"]`), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "focus ring on the page", Fg: a11ytest.Outline(":focus-visible"), Bg: a11ytest.Back("body"), Min: a11ytest.NonText},
	{Name: "focus ring on a card", Fg: a11ytest.Outline(":focus-visible"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "focus ring in the header", Fg: a11ytest.Outline(":focus-visible"), Bg: a11ytest.Back(".top"), Min: a11ytest.NonText},
}

// userSheet is user.css.
func userSheet(t *testing.T) *a11ytest.Sheet {
	t.Helper()
	css, err := os.ReadFile("static/user.css")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a11ytest.ParseCSS(string(css))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The colours of user.css meet WCAG 2.2 AA in the light and the dark
// theme, and every transition stops for prefers-reduced-motion.
func TestContrast(t *testing.T) {
	s := userSheet(t)
	a11ytest.CheckContrast(t, s, userPairs)
	if m := s.UnreducedMotion(); len(m) > 0 {
		t.Errorf("motion without a prefers-reduced-motion rule: %s", strings.Join(m, "; "))
	}
}
