package adminui_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/a11ytest"
)

// a11yPage is one answer of the admin interface to check: a GET, or a
// form sent with POST, and the status it must have.
type a11yPage struct {
	method, path string
	form         url.Values
	status       int
}

// gets are the GET pages of paths, all answering 200.
func gets(paths map[string]string) []a11yPage {
	var out []a11yPage
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		out = append(out, a11yPage{http.MethodGet, p, nil, http.StatusOK})
	}
	return out
}

// checkA11y checks each page as akadmin sees it, as the full page and,
// for a GET and a form answered with its errors, as the document an htmx
// navigation or boosted form leaves behind (the header and the skip link
// stay; the sidebar and <main> come from the fragment).
func (e *env) checkA11y(t *testing.T, pages []a11yPage) {
	t.Helper()
	for _, p := range pages {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			w := e.get(e.adminC, p.path)
			if p.method == http.MethodPost {
				w = e.post(e.adminC, p.path, csrf, p.form)
			}
			if w.Code != p.status {
				t.Fatalf("%d, want %d: %.500s", w.Code, p.status, w.Body)
			}
			// The message pages (404, 403) have no sidebar, only the
			// header's links.
			opt := a11ytest.Options{Invalid: p.status == http.StatusBadRequest, NoNav: p.status == http.StatusNotFound}
			for _, v := range a11ytest.Check(a11ytest.Parse(t, w.Body.String()), opt) {
				t.Error(v)
			}
			frag := e.htmxGet(p.path)
			switch {
			case p.method == http.MethodPost && p.status == http.StatusBadRequest:
				frag = e.htmxPost(p.path, p.form)
			case p.method == http.MethodPost:
				return // the form did something: not sent twice
			}
			if frag.Code != p.status {
				t.Fatalf("htmx: %d", frag.Code)
			}
			for _, v := range a11ytest.Check(a11ytest.Swap(t, w.Body.String(), frag.Body.String()), opt) {
				t.Error("after an htmx swap: " + v)
			}
		})
	}
}

// Every page of the admin interface keeps the rules of a11ytest: title,
// lang, landmarks and the skip link, a name for every field, link, button
// and SVG (the dashboard's chart, the flow diagram), one h1 and no skipped
// level, table headers, and errors linked to their fields on every form
// answered with a 400.
func TestAccessibility(t *testing.T) {
	t.Run("directory and resources", func(t *testing.T) {
		e := newPartA(t)
		v := strconv.FormatInt(e.victim.PK, 10)
		f := "/if/admin/flows/" + e.flow + "/"
		pages := append(gets(e.pages()), gets(e.pagesA())...)
		pages = append(pages,
			a11yPage{"GET", "/if/admin/groups/" + uuid.NewString() + "/", nil, http.StatusNotFound},
			a11yPage{"POST", "/if/admin/users/new/", url.Values{"username": {"carol"}, "name": {"Dup"}}, 400},
			a11yPage{"POST", "/if/admin/users/new/", url.Values{"username": {""}}, 400},
			a11yPage{"POST", "/if/admin/users/" + v + "/password/", url.Values{"password": {"a-long-password-1"}, "password_repeat": {"other"}}, 400},
			a11yPage{"POST", "/if/admin/groups/new/", url.Values{"name": {""}}, 400},
			a11yPage{"POST", "/if/admin/groups/" + e.group.UUID.String() + "/members/", url.Values{"username": {"nobody"}}, 400},
			a11yPage{"POST", "/if/admin/applications/new/", url.Values{"name": {"Wiki"}, "slug": {"wiki"}, "provider_type": {"none"},
				"policy_engine_mode": {"any"}}, 400},
			a11yPage{"POST", "/if/admin/applications/wiki/edit/", url.Values{"name": {"Wiki"}, "slug": {"bad slug!"}, "policy_engine_mode": {"any"}}, 400},
			a11yPage{"POST", "/if/admin/applications/wiki/icon/", url.Values{"icon_url": {"javascript:alert(1)"}}, 400},
			a11yPage{"POST", "/if/admin/applications/wiki/policies/", url.Values{"order": {"5"}, "timeout": {"30"}}, 400},
			a11yPage{"POST", "/if/admin/applications/wiki/policies/", url.Values{"username": {"nobody"}, "order": {"5"}, "timeout": {"30"}}, 400},
			a11yPage{"POST", "/if/admin/providers/oauth2/" + e.provider + "/edit/", url.Values{"provider_name": {"Wiki provider"},
				"client_type": {"public"}, "redirect_mode": {"strict"}, "redirect_url": {"not a url"}, "access_code_validity": {"minutes=1"},
				"access_token_validity": {"hours=1"}, "refresh_token_validity": {"days=30"}, "sub_mode": {"user_email"}, "issuer_mode": {"per_provider"}}, 400},
			a11yPage{"POST", "/if/admin/flows/new/", url.Values{"name": {"X"}, "slug": {"bad slug"}, "designation": {"enrollment"},
				"policy_engine_mode": {"any"}, "authentication": {"none"}, "denied_action": {"message"}, "layout": {"stacked"}}, 400},
			a11yPage{"POST", "/if/admin/flows/import/", nil, 400},
			a11yPage{"POST", f + "bindings/", url.Values{"stage": {""}, "order": {"5"}}, 400},
			a11yPage{"POST", f + "bindings/" + e.binding + "/", url.Values{"order": {"1"}, "policy_engine_mode": {"most"},
				"invalid_response_action": {"restart"}}, 400},
			a11yPage{"POST", "/if/admin/stages/new/?type=authenticator_totp", url.Values{"name": {"TOTP"}, "set-digits": {"7"}}, 400},
			a11yPage{"POST", "/if/admin/stages/" + e.dummy + "/", url.Values{"name": {"Dummy"}, "settings_json": {"[1,"}}, 400},
			a11yPage{"POST", "/if/admin/policies/new/?type=reputation", url.Values{"name": {"Rep"}, "set-threshold": {"-5"}}, 400},
			a11yPage{"POST", "/if/admin/policies/" + e.policy + "/test/", url.Values{"username": {"nobody"}}, 400},
			a11yPage{"POST", "/if/admin/policies/" + e.policy + "/test/", url.Values{"username": {"carol"}}, 200},
		)
		e.checkA11y(t, pages)
		// The images' descriptions say what they draw: role="img" hides
		// the SVG's own text from assistive technology.
		if d := a11ytest.Parse(t, e.page(f)).Find("#flow-diagram desc").Text(); !strings.HasPrefix(d, "Flow xflow (authentication); then Only carol ") ||
			!strings.Contains(d, " (policy), fails: denied; then Only carol ") || !strings.Contains(d, " (policy), fails: skipped; then Deny ") ||
			!strings.HasSuffix(d, " (deny stage · order 10); then End of the flow.") {
			t.Errorf("the flow diagram's description: %q", d)
		}
		if d := a11ytest.Parse(t, e.page("/if/admin/")).Find("#login-chart desc").Text(); !strings.Contains(d, "0 logins and 1 failed logins") {
			t.Errorf("the chart's description: %q", d)
		}
	})
	t.Run("directory and system", func(t *testing.T) {
		e := newPartB(t)
		flow, err := e.st.FlowBySlug(context.Background(), "enroll")
		if err != nil {
			t.Fatal(err)
		}
		v := strconv.FormatInt(e.victim.PK, 10)
		role := "/if/admin/roles/" + e.role + "/"
		pages := append(gets(e.partBPages()),
			a11yPage{"POST", "/if/admin/roles/new/", url.Values{"name": {""}}, 400},
			a11yPage{"POST", role + "permissions/", nil, 400},
			a11yPage{"POST", role + "groups/", url.Values{"group": {"nope"}}, 400},
			a11yPage{"POST", role + "users/", url.Values{"username": {"nobody"}}, 400},
			a11yPage{"POST", "/if/admin/users/" + v + "/impersonate/", url.Values{"reason": {""}}, 400},
			a11yPage{"POST", "/if/admin/tokens/new/", url.Values{"identifier": {"ci"}, "username": {"nobody"}, "intent": {"api"}, "expiry": {"30d"}}, 400},
			a11yPage{"POST", "/if/admin/invitations/new/", url.Values{"name": {"spring"}, "flow": {flow.UUID.String()},
				"fixed_data": {`{"email": `}}, 400},
			a11yPage{"POST", "/if/admin/system/brands/new/", url.Values{"domain": {""}, "branding_title": {"X"}}, 400},
			a11yPage{"POST", "/if/admin/system/settings/", url.Values{"avatars": {"initials"}, "event_retention": {"forever"},
				"default_token_duration": {"minutes=30"}, "default_token_length": {"60"}}, 400},
			a11yPage{"POST", "/if/admin/system/certificates/generate/", url.Values{"common_name": {"a.example.com"}, "validity_days": {"0"}, "alg": {"ecdsa"}}, 400},
			a11yPage{"POST", "/if/admin/system/certificates/import/", url.Values{"name": {"imported"}, "certificate_data": {"not pem"}}, 400},
			a11yPage{"POST", "/if/admin/events/rules/new/", url.Values{"name": {""}, "severity": {"warning"}}, 400},
			a11yPage{"POST", "/if/admin/events/transports/new/", url.Values{"name": {"Hook"}, "mode": {"webhook"}, "webhook_url": {"ftp://x"}}, 400},
			// Forms that show what they made: a token's key once, a
			// service account's password, a transport's test result.
			a11yPage{"POST", "/if/admin/tokens/new/", url.Values{"identifier": {"ci"}, "username": {"carol"}, "intent": {"api"}, "expiry": {"30d"}}, 201},
			a11yPage{"POST", "/if/admin/users/service-account/", url.Values{"name": {"backup-bot"}, "create_group": {"on"}, "expiry": {"never"}}, 201},
			a11yPage{"POST", "/if/admin/events/transports/" + e.transport + "/test/", nil, 200},
		)
		e.checkA11y(t, pages)
	})
	t.Run("recovery", func(t *testing.T) {
		e, _ := recoveryEnv(t)
		ctx := context.Background()
		es, err := e.st.StageByName(ctx, "default-recovery-email")
		if err != nil {
			t.Fatal(err)
		}
		u := "/if/admin/users/" + strconv.FormatInt(e.victim.PK, 10) + "/"
		e.checkA11y(t, []a11yPage{
			{"GET", u, nil, 200},
			{"GET", u + "recovery/email/?email_stage=" + es.UUID.String(), nil, 200},
			{"GET", u + "recovery/email/?email_stage=nope", nil, 400},
			{"POST", u + "recovery/", nil, 200},
		})
	})
}

// adminPairs are the colours admin.css adds on top of user.css (whose
// own pairs TestContrast in package userui checks): table headers, the
// sidebar, badges, the chart and the flow diagram.
var adminPairs = []a11ytest.Pair{
	{Name: "table header", Fg: a11ytest.Fore("table.grid th"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "hovered table row", Fg: a11ytest.Fore("body"), Bg: a11ytest.Back("table.grid tbody tr:hover"), Min: a11ytest.NormalText},
	{Name: "muted text in a hovered row", Fg: a11ytest.Fore(".muted"), Bg: a11ytest.Back("table.grid tbody tr:hover"), Min: a11ytest.NormalText},
	{Name: "sidebar heading", Fg: a11ytest.Fore(".nav-head"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "sidebar current", Fg: a11ytest.Fore(`.side a[aria-current="page"]`), Bg: a11ytest.Back(`.side a[aria-current="page"]`), Min: a11ytest.NormalText},
	{Name: "breadcrumbs", Fg: a11ytest.Fore(".crumbs"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "breadcrumb links", Fg: a11ytest.Fore(".crumbs a"), Bg: a11ytest.Back("body"), Min: a11ytest.NormalText},
	{Name: "count label", Fg: a11ytest.Fore(".stat-l"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "count hovered", Fg: a11ytest.Fore(".stat a"), Bg: a11ytest.Back(".stat a:hover"), Min: a11ytest.NormalText},
	{Name: "count label hovered", Fg: a11ytest.Fore(".stat-l"), Bg: a11ytest.Back(".stat a:hover"), Min: a11ytest.NormalText},
	{Name: "chart legend", Fg: a11ytest.Fore(".legend"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "chart axis labels", Fg: a11ytest.Fill(".chart .axis"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "chart login bars", Fg: a11ytest.Fill(".chart .bar-login"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "chart failed bars", Fg: a11ytest.Fill(".chart .bar-failed"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "badge danger", Fg: a11ytest.Fore(".badge.danger-badge"), Bg: a11ytest.Back(".badge.danger-badge"), Min: a11ytest.NormalText},
	{Name: "badge successful", Fg: a11ytest.Fore(".badge.status-successful"), Bg: a11ytest.Back(".badge.status-successful"), Min: a11ytest.NormalText},
	{Name: "badge warning status", Fg: a11ytest.Fore(".badge.status-warning"), Bg: a11ytest.Back(".badge.status-warning"), Min: a11ytest.NormalText},
	{Name: "badge error", Fg: a11ytest.Fore(".badge.status-error"), Bg: a11ytest.Back(".badge.status-error"), Min: a11ytest.NormalText},
	{Name: "badge muted", Fg: a11ytest.Fore(".badge.muted-badge"), Bg: a11ytest.Back(".badge.muted-badge"), Min: a11ytest.NormalText},
	{Name: "badge severity warning", Fg: a11ytest.Fore(".badge.sev-warning"), Bg: a11ytest.Back(".badge.sev-warning"), Min: a11ytest.NormalText},
	{Name: "badge severity alert", Fg: a11ytest.Fore(".badge.sev-alert"), Bg: a11ytest.Back(".badge.sev-alert"), Min: a11ytest.NormalText},
	{Name: "warning notice", Fg: a11ytest.Fore(".notice.warn-notice"), Bg: a11ytest.Back(".notice.warn-notice"), Min: a11ytest.NormalText},
	{Name: "error in the form's error box", Fg: a11ytest.Fore(".field-error"), Bg: a11ytest.Back(".form-errors"), Min: a11ytest.NormalText},
	{Name: "task message", Fg: a11ytest.Fore(".msg"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "task warning", Fg: a11ytest.Fore(".msg-error"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "endpoint labels", Fg: a11ytest.Fore("dl.endpoints dt"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "fact labels", Fg: a11ytest.Fore("dl.inline-facts dt"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "wizard step", Fg: a11ytest.Fore(".step"), Bg: a11ytest.Back(".step"), Min: a11ytest.NormalText},
	{Name: "type card", Fg: a11ytest.Fore(".type-card"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "type card hovered", Fg: a11ytest.Fore(".type-card:hover"), Bg: a11ytest.Back(".type-card:hover"), Min: a11ytest.NormalText},
	{Name: "diagram stage label", Fg: a11ytest.Fill(".diagram .node-label"), Bg: a11ytest.Fill(".diagram .node rect"), Min: a11ytest.NormalText},
	{Name: "diagram start label", Fg: a11ytest.Fill(".diagram .node-label"), Bg: a11ytest.Fill(".diagram .node-start rect"), Min: a11ytest.NormalText},
	{Name: "diagram policy label", Fg: a11ytest.Fill(".diagram .node-label"), Bg: a11ytest.Fill(".diagram .node-policy rect"), Min: a11ytest.NormalText},
	{Name: "diagram sub label", Fg: a11ytest.Fill(".diagram .node-sub"), Bg: a11ytest.Fill(".diagram .node rect"), Min: a11ytest.NormalText},
	{Name: "diagram sub label on a policy", Fg: a11ytest.Fill(".diagram .node-sub"), Bg: a11ytest.Fill(".diagram .node-policy rect"), Min: a11ytest.NormalText},
	{Name: "diagram denied label", Fg: a11ytest.Fill(".diagram .denied-label"), Bg: a11ytest.Back(".card"), Min: a11ytest.NormalText},
	{Name: "diagram edges", Fg: a11ytest.Stroke(".diagram .edge"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "diagram denied edges", Fg: a11ytest.Stroke(".diagram .edge.denied"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "password field border", Fg: a11ytest.Border("input[type=password]"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "textarea border", Fg: a11ytest.Border("textarea"), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
	{Name: "invalid textarea border", Fg: a11ytest.Border(`textarea[aria-invalid="true"]`), Bg: a11ytest.Back(".card"), Min: a11ytest.NonText},
}

// The colours of admin.css, over user.css, meet WCAG 2.2 AA in the light
// and the dark theme, and every transition stops for
// prefers-reduced-motion.
func TestContrast(t *testing.T) {
	var css []string
	for _, f := range []string{"../userui/static/user.css", "static/admin.css"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		css = append(css, string(b))
	}
	s, err := a11ytest.ParseCSS(css...)
	if err != nil {
		t.Fatal(err)
	}
	a11ytest.CheckContrast(t, s, adminPairs)
	if m := s.UnreducedMotion(); len(m) > 0 {
		t.Errorf("motion without a prefers-reduced-motion rule: %s", strings.Join(m, "; "))
	}
}
