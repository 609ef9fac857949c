package e2e

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 8's journey, every step in headless Chromium through the admin and
// user interfaces' pages: akadmin signs in at /if/admin/, creates a user
// (and sets its password), a group with the user in it, an application with
// an OAuth2 provider in the wizard, binds the group to the application, and
// finds the model_created events; the new user then signs in at /if/user/,
// sees the application (which a user outside the group does not), changes
// their password in the brand's password-change flow, signs in again with
// it, adds a TOTP device in the setup flow, and signs out a second session
// from the sessions page. Screenshots of each main page as journey-*.
func TestAdminUserJourneyBrowser(t *testing.T) {
	base, s := browserServer(t, nil)
	// Someone outside the group, to show the binding decides.
	oscar := newDevUser(t, s, "oscar")

	ctx := browserWith(t, 1000, 90*time.Second)
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", step, err, loc)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	// choose picks the option of a select by its label, as a person does.
	choose := func(selectID, label string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.getElementById(` + strconv.Quote(selectID) + `);
			const o = s && [...s.options].find(o => o.text.includes(` + strconv.Quote(label) + `));
			if (!o) throw new Error("no option " + ` + strconv.Quote(label) + `);
			s.value = o.value;
			s.dispatchEvent(new Event("change", {bubbles: true}));
		})()`)
	}
	nav := func(path, wait string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="`+path+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`nav.admin-nav a[aria-current="page"][href="`+path+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(wait)),
		)
	}

	// 1. akadmin signs in at /if/admin/.
	do("sign in at /if/admin/", signIn(base+"/if/admin/", "akadmin", bootstrapPassword, chromedp.ID("login-chart")))
	screenshot(t, ctx, "journey-01-admin-dashboard")

	// 2. Directory > Users > New user, then Set password on its page.
	do("users list", nav("/if/admin/users/", "#users"))
	screenshot(t, ctx, "journey-02-users")
	do("create the user",
		chromedp.Click(chromedp.ID("new-user")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "dana"),
		chromedp.SendKeys(chromedp.ID("name"), "Dana Journey"),
		chromedp.SendKeys(chromedp.ID("email"), "dana@example.com"),
		chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.ID("user-title")),
	)
	do("set the password",
		chromedp.Click(chromedp.ID("set-password")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "dana-first-password"),
		chromedp.SendKeys(chromedp.ID("password_repeat"), "dana-first-password"),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	screenshot(t, ctx, "journey-03-user")
	dana := results(s.must(200, "GET", "/core/users/?username=dana", nil))
	if len(dana) != 1 || dana[0]["name"] != "Dana Journey" || dana[0]["email"] != "dana@example.com" {
		t.Fatalf("dana: %v", dana)
	}
	danaPK := int(dana[0]["pk"].(float64))

	// 3. A group, with dana added on its page.
	do("create the group",
		nav("/if/admin/groups/", "#new-group"),
		chromedp.Click(chromedp.ID("new-group")),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Journeyers"),
		chromedp.Click(chromedp.ID("save-group")),
		chromedp.WaitVisible(chromedp.ID("member-username")),
		chromedp.SendKeys(chromedp.ID("member-username"), "dana"),
		chromedp.Click(chromedp.ID("add-member-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr.member`)),
	)
	if m := text(`tr.member`); !strings.Contains(m, "dana") {
		t.Errorf("member row %q", m)
	}
	screenshot(t, ctx, "journey-04-group")

	// 4. The application wizard, with an OAuth2 provider.
	do("open the wizard",
		nav("/if/admin/applications/", "#new-app"),
		chromedp.Click(chromedp.ID("new-app")),
		chromedp.WaitVisible(chromedp.ID("app-wizard")),
	)
	do("fill the wizard",
		chromedp.SendKeys(chromedp.ID("name"), "Journey Notes"),
		chromedp.SendKeys(chromedp.ID("slug"), "journey-notes"),
		chromedp.SendKeys(chromedp.ID("meta_launch_url"), "https://notes.example.com/"),
		chromedp.SendKeys(chromedp.ID("meta_description"), "Notes of the journey."),
		choose("authorization_flow", "(default-provider-authorization-implicit-consent)"),
		choose("invalidation_flow", "(default-provider-invalidation-flow)"),
		chromedp.SendKeys(chromedp.ID("redirect_url-0"), "https://notes.example.com/oauth/callback"),
	)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0), true`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "journey-05-wizard")
	do("create the application",
		chromedp.Click(chromedp.ID("create-app")),
		chromedp.WaitVisible(chromedp.ID("endpoints")),
	)
	if issuer, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("ep-issuer"))); issuer != base+"/application/o/journey-notes/" {
		t.Errorf("issuer shown: %q", issuer)
	}
	app := s.must(200, "GET", "/core/applications/journey-notes/", nil)
	if app["provider"] == nil {
		t.Fatalf("application without a provider: %v", app)
	}

	// 5. The group bound to the application, on its policy bindings page:
	// dana passes through the group, oscar (not in it) no longer does.
	do("bind the group",
		chromedp.Click(chromedp.ID("app-policies")),
		chromedp.WaitVisible(chromedp.ID("bind-group")),
		choose("bind-group", "Journeyers"),
		chromedp.Click(chromedp.ID("add-binding-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr.policy-binding`)),
	)
	if b := text(`tr.policy-binding`); !strings.Contains(b, "Journeyers") {
		t.Errorf("binding row %q", b)
	}
	screenshot(t, ctx, "journey-06-bindings")
	for _, c := range []struct{ user, want string }{{"dana", "Allowed"}, {"oscar", "Denied"}} {
		do("check access of "+c.user,
			chromedp.Navigate(base+"/if/admin/applications/journey-notes/"),
			chromedp.WaitVisible(chromedp.ID("check")),
			chromedp.SendKeys(chromedp.ID("check"), c.user),
			chromedp.Submit(chromedp.ID("check")),
			chromedp.WaitVisible(chromedp.ID("check-result")),
		)
		if res := text("#check-result"); !strings.Contains(res, c.want) {
			t.Errorf("check access of %s: %q, want %s", c.user, res, c.want)
		}
	}
	screenshot(t, ctx, "journey-07-application")
	if code, list := s.call(oscar.token, "GET", "/core/applications/", nil); code != 200 || len(results(list)) != 0 {
		t.Errorf("oscar's applications: %d %v", code, list)
	}

	// 6. The events: model_created of each object, and one event's page.
	do("filter the events",
		nav("/if/admin/events/", "#event-filters"),
		choose("action", "model_created"),
		chromedp.Submit(chromedp.ID("action")),
		chromedp.WaitVisible(chromedp.CSS(`tr.event[data-action="model_created"]`)),
	)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tr.event")].map(r => r.dataset.action + " " + r.cells[2].textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user dana", "group Journeyers", "application Journey Notes", "oauth2provider Provider for Journey Notes", "policybinding"} {
		found := false
		for _, r := range rows {
			found = found || strings.Contains(r, "model_created "+want)
		}
		if !found {
			t.Errorf("no model_created event for %q among %q", want, rows)
		}
	}
	screenshot(t, ctx, "journey-08-events")
	do("dana's event page",
		chromedp.Click(chromedp.Search(`//tr[@class="event"][td[3][normalize-space()="user dana"]]//a[starts-with(@href, "/if/admin/events/")]`)),
		chromedp.WaitVisible(chromedp.ID("event-context")),
	)
	if ctxJSON := text("#event-context"); !strings.Contains(ctxJSON, `"model_name": "user"`) || !strings.Contains(ctxJSON, `"name": "dana"`) {
		t.Errorf("event context: %s", ctxJSON)
	}
	screenshot(t, ctx, "journey-09-event")

	// 7. Sign out; dana signs in at /if/user/ and sees the application.
	do("sign out akadmin",
		chromedp.Click(chromedp.CSS(`#signed-in a[href="/flows/-/default/invalidation/"]`)),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
	)
	tile := chromedp.CSS(`a.app[data-slug="journey-notes"]`)
	do("dana signs in", signIn(base+"/if/user/", "dana", "dana-first-password", tile))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/user/" {
		t.Errorf("dana signed in at %s", loc)
	}
	if name := text(`a.app[data-slug="journey-notes"]`); !strings.Contains(name, "Journey Notes") {
		t.Errorf("tile: %q", name)
	}
	screenshot(t, ctx, "journey-10-library")

	// 8. Change the password from the settings, in the password-change
	// flow; the new one signs in, the old one no longer.
	do("account settings",
		chromedp.Click(chromedp.CSS(`nav.primary a[href="/if/user/settings/"]`)),
		chromedp.WaitVisible(chromedp.ID("change-password")),
	)
	screenshot(t, ctx, "journey-11-settings")
	const newPassword = "Tall-Lantern-Orbit-42"
	do("change the password",
		chromedp.Click(chromedp.ID("change-password")),
		chromedp.WaitVisible(chromedp.ID("f-password")),
		chromedp.SendKeys(chromedp.ID("f-password"), newPassword),
		chromedp.SendKeys(chromedp.ID("f-password_repeat"), newPassword),
		chromedp.Submit(chromedp.ID("f-password")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/user/settings/" {
		t.Errorf("after the password change at %s, want back on the settings", loc)
	}
	do("sign out dana",
		chromedp.Click(chromedp.CSS(`#signed-in a[href="/flows/-/default/invalidation/"]`)),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
	)
	do("the old password", signIn(base+"/if/user/", "dana", "dana-first-password", chromedp.CSS("p.error")))
	do("the new password",
		chromedp.SendKeys(chromedp.ID("password"), newPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(tile),
	)

	// 10 (set up). A second session, a script's through the executor API,
	// before the TOTP device (with one its login would ask for a code).
	script := newFlowClient(t, s)
	if ch := script.passwordLogin("dana", newPassword); component(ch) != "xak-flow-redirect" {
		t.Fatalf("the script's login: %v", ch)
	}
	if code, _ := script.me(); code != 200 {
		t.Fatalf("the script's session: %d", code)
	}

	// 9. A TOTP device through the MFA page's link to the setup flow: the
	// key read from the page, the code computed by oathtool.
	do("MFA page",
		chromedp.Navigate(base+"/if/user/settings/"),
		chromedp.WaitVisible(chromedp.ID("change-password")),
		chromedp.Click(chromedp.CSS(`nav.side a[href="/if/user/settings/mfa/"]`)),
		chromedp.WaitVisible(chromedp.ID("no-devices")),
	)
	do("TOTP setup page",
		chromedp.Click(chromedp.CSS(`a[href^="/if/flow/default-authenticator-totp-setup/"]`)),
		chromedp.WaitVisible(chromedp.ID("totp-qr")),
	)
	screenshot(t, ctx, "journey-12-totp-setup")
	configURL, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("totp-url")))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(configURL)
	if err != nil || u.Query().Get("secret") == "" {
		t.Fatalf("config URL on the page: %q", configURL)
	}
	do("TOTP code",
		chromedp.SendKeys(chromedp.ID("code"), totpCode(t, u.Query().Get("secret"), time.Now().Unix()/30)),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS(`li.device[data-class="totp"]`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/user/settings/mfa/" {
		t.Errorf("after the TOTP setup at %s", loc)
	}
	screenshot(t, ctx, "journey-13-mfa")
	if devs := results(s.must(200, "GET", "/authenticators/admin/totp/?user="+strconv.Itoa(danaPK), nil)); len(devs) != 1 {
		t.Errorf("dana's TOTP devices: %v", devs)
	}

	// 10. The sessions page: sign out the script's session.
	do("sessions page",
		chromedp.Click(chromedp.CSS(`nav.side a[href="/if/user/settings/sessions/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`li.session.current`)),
	)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.session").length`)); n != 2 {
		t.Errorf("%d sessions listed, want the browser's and the script's", n)
	}
	screenshot(t, ctx, "journey-14-sessions")
	do("revoke the script's session",
		chromedp.Click(chromedp.CSS(`li.session:not(.current) a`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.session").length`)); n != 1 {
		t.Errorf("%d sessions after revoking, want 1", n)
	}
	if code, _ := script.me(); code != 403 {
		t.Errorf("the revoked session still works: %d", code)
	}
	do("the browser's session still works",
		chromedp.Click(chromedp.CSS(`nav.primary a[href="/if/user/"]`)),
		chromedp.WaitVisible(tile),
	)
}
