package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The admin interface in headless Chromium, as akadmin: signing in from
// /if/admin/ lands on the dashboard; they create a user (after a refused
// duplicate whose error shows at the field) and a group, add the user to
// the group, see the membership on the user's page, find their own login
// event, open it, run a schedule now and see its run, and look at the
// applications (with an OAuth2 provider's endpoints), flows and
// certificates. A signed-in user without permissions gets a 403 page.
func TestAdminInterfaceBrowser(t *testing.T) {
	base, s := browserServer(t, nil)

	// An application with an OAuth2 provider, to see its endpoints.
	authz := s.must(200, "GET", "/flows/instances/default-provider-authorization-implicit-consent/", nil)
	inv := s.must(200, "GET", "/flows/instances/default-provider-invalidation-flow/", nil)
	prov := s.must(201, "POST", "/providers/oauth2/", map[string]any{"name": "Wiki OIDC", "authorization_flow": authz["pk"],
		"invalidation_flow": inv["pk"], "client_type": "confidential", "client_id": "wiki-client",
		"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": "https://wiki.example.com/callback"}}})
	s.must(201, "POST", "/core/applications/", map[string]any{"name": "Team Wiki", "slug": "team-wiki", "provider": prov["pk"],
		"meta_launch_url": "https://wiki.example.com/", "meta_description": "Where the team writes things down."})

	// Certificates: one expiring soon (a warning) and one not.
	s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "sso.example.com", "validity_days": 365})
	s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "legacy.example.com", "validity_days": 12})

	ctx := browserWith(t, 1000, 120*time.Second)
	if err := chromedp.Do(ctx, signIn(base+"/if/admin/", "akadmin", bootstrapPassword, chromedp.ID("login-chart"))); err != nil {
		t.Fatalf("sign in from /if/admin/: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/admin/" {
		t.Errorf("after sign-in at %s", loc)
	}
	if bars, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#login-chart rect.bar-login").length`)); bars != 1 {
		t.Errorf("%d login bars on the chart, want 1 (this login)", bars)
	}
	shootThemes(t, ctx, "admin-01-dashboard")

	// A user: the duplicate first.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/users/"),
		chromedp.WaitVisible(chromedp.ID("users")),
	); err != nil {
		t.Fatalf("users page: %v", err)
	}
	shootThemes(t, ctx, "admin-02-users")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("new-user")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "akadmin"),
		chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.CSS(`#username-err .field-error`)),
	); err != nil {
		t.Fatalf("duplicate user: %v", err)
	}
	screenshot(t, ctx, "admin-03-user-form-error-light")
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "erin"),
		chromedp.SendKeys(chromedp.ID("name"), "Erin Example"),
		chromedp.SendKeys(chromedp.ID("email"), "erin@example.com"),
		chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.ID("user-title")),
	); err != nil {
		t.Fatalf("create user: %v", err)
	}
	erin := results(s.must(200, "GET", "/core/users/?username=erin", nil))
	if len(erin) != 1 || erin[0]["email"] != "erin@example.com" || erin[0]["is_active"] != true {
		t.Fatalf("created user: %v", erin)
	}
	erinPK := int(erin[0]["pk"].(float64))
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("set-password")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "erin-password"),
		chromedp.SendKeys(chromedp.ID("password_repeat"), "erin-password"),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("set password: %v", err)
	}

	// A group, and erin in it.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/groups/new/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Engineers"),
		chromedp.Click(chromedp.ID("save-group")),
		chromedp.WaitVisible(chromedp.ID("member-username")),
		chromedp.SendKeys(chromedp.ID("member-username"), "erin"),
		chromedp.Click(chromedp.ID("add-member-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr.member`)),
	); err != nil {
		t.Fatalf("group and member: %v", err)
	}
	shootThemes(t, ctx, "admin-04-group")
	groups := results(s.must(200, "GET", "/core/groups/?search=Engineers", nil))
	if len(groups) != 1 || len(groups[0]["users"].([]any)) != 1 || int(groups[0]["users"].([]any)[0].(float64)) != erinPK {
		t.Fatalf("group after adding erin: %v", groups)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr.member a[href^="/if/admin/users/"]`)),
		chromedp.WaitVisible(chromedp.ID("user-groups")),
	); err != nil {
		t.Fatalf("user page: %v", err)
	}
	if g, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("user-groups"))); !strings.Contains(g, "Engineers") {
		t.Errorf("erin's groups: %q", g)
	}
	shootThemes(t, ctx, "admin-05-user")

	// The login event.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/events/?action=login"),
		chromedp.WaitVisible(chromedp.CSS(`tr.event[data-action="login"]`)),
	); err != nil {
		t.Fatalf("login events: %v", err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.event td:nth-child(2)`))); who != "akadmin" {
		t.Errorf("login event of %q", who)
	}
	screenshot(t, ctx, "admin-06-events-light")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr.event a`)),
		chromedp.WaitVisible(chromedp.ID("event-context")),
	); err != nil {
		t.Fatalf("event detail: %v", err)
	}
	screenshot(t, ctx, "admin-07-event-light")

	// Run a schedule now; the embedded worker runs it.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/system/tasks/"),
		chromedp.WaitVisible(chromedp.ID("schedules")),
		chromedp.Click(chromedp.CSS(`tr.schedule[data-actor="clean_expired_models"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("run now: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.run[data-actor="clean_expired_models"][data-status="successful"]').length`))
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run of clean_expired_models does not appear")
		}
		time.Sleep(500 * time.Millisecond)
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("schedules"))); err != nil {
			t.Fatal(err)
		}
	}
	shootThemes(t, ctx, "admin-08-tasks")

	// Applications and the provider's endpoints; check access.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/applications/"),
		chromedp.WaitVisible(chromedp.CSS(`tr.app-row[data-slug="team-wiki"]`)),
	); err != nil {
		t.Fatalf("applications: %v", err)
	}
	screenshot(t, ctx, "admin-09-applications-light")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr.app-row a`)),
		chromedp.WaitVisible(chromedp.ID("endpoints")),
		chromedp.SendKeys(chromedp.ID("check"), "erin"),
		chromedp.Submit(chromedp.ID("check")),
		chromedp.WaitVisible(chromedp.ID("check-result")),
	); err != nil {
		t.Fatalf("application page: %v", err)
	}
	if issuer, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("ep-issuer"))); issuer != base+"/application/o/team-wiki/" {
		t.Errorf("issuer shown: %q", issuer)
	}
	if res, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("check-result"))); !strings.Contains(res, "Allowed") {
		t.Errorf("check access: %q", res)
	}
	shootThemes(t, ctx, "admin-10-application")

	for _, p := range []struct{ path, wait, name string }{
		{"/if/admin/flows/", "flows", "admin-11-flows-light"},
		{"/if/admin/system/certificates/", "certificates", "admin-12-certificates-light"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.ID(p.wait))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		screenshot(t, ctx, p.name)
	}

	// Erin signs in (a script) and is refused the admin interface.
	c, ch := devUser{pk: "", name: "erin"}.login(t, s)
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("erin's login: %v", ch)
	}
	resp, err := c.http.Get(base + "/if/admin/users/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "akadmin") || !strings.Contains(string(body), "Not allowed") {
		t.Errorf("erin at /if/admin/users/: %d %.300s", resp.StatusCode, body)
	}
}

// htmx navigation in the admin interface, in headless Chromium: the
// sidebar's links and the forms load through htmx (the document stays, the
// content, title, URL and the sidebar's current entry change, focus moves
// to the new content); a form's 400 shows its errors at the fields; a 303
// after a POST lands on its page and URL; the back button restores the
// page before; a form whose redirect leaves the interface (starting an
// impersonation) and the links out (the user interface) load as whole
// pages. No Content-Security-Policy violation or script error on the way,
// and with JavaScript off the same links still work.
func TestAdminUIHTMXNavigation(t *testing.T) {
	base, s := browserServer(t, nil)
	ctx := browserWith(t, 900, 120*time.Second)

	// Script errors and CSP reports, from the console and the log.
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				problems = append(problems, "exception: "+d.Text+" "+d.Exception.Description)
			} else {
				problems = append(problems, "exception: "+d.Text)
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Source == cdplog.EntrySourceSecurity || strings.Contains(ev.Entry.Text, "Content Security Policy") {
				problems = append(problems, fmt.Sprintf("%s %s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var b strings.Builder
				for _, a := range ev.Args {
					fmt.Fprintf(&b, "%s ", a.Value)
				}
				problems = append(problems, "console "+string(ev.Type)+": "+b.String())
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// stuck ends the test at a step that did not finish, with what the
	// console said (a CSP violation stops htmx's request, for one).
	stuck := func(step string, err error) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s: %v; console: %q", step, err, problems)
	}
	// do runs steps, each group of them within 20 seconds.
	do := func(steps ...chromedp.Action[chromedp.Void]) error {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return chromedp.Do(c, steps...)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	// mark tags the document: the mark survives htmx navigations and is
	// gone after a whole page load. It also records CSP violations.
	mark := func() {
		t.Helper()
		if got := eval(`window.htmxDoc = "kept"; window.cspViolations = [];
			document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
			typeof htmx === "object" ? htmx.version : "no htmx"`); got != "2.0.11" {
			t.Fatalf("htmx on the page: %q", got)
		}
	}
	kept := func() bool { return eval(`String(window.htmxDoc)`) == "kept" }
	// at checks the URL, the title and the document.
	at := func(step, path, title string, sameDoc bool) {
		t.Helper()
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+path {
			t.Errorf("%s: at %s, want %s", step, loc, base+path)
		}
		if got, _ := chromedp.Run(ctx, chromedp.Title()); !strings.HasPrefix(got, title+" · ") {
			t.Errorf("%s: title %q, want %q", step, got, title)
		}
		if kept() != sameDoc {
			t.Errorf("%s: document kept %v, want %v (htmx navigation or not)", step, !sameDoc, sameDoc)
		}
		if v := eval(`(window.cspViolations || []).join("; ")`); v != "" {
			t.Errorf("%s: CSP violations: %s", step, v)
		}
	}

	if err := do(signIn(base+"/if/admin/", "akadmin", bootstrapPassword, chromedp.ID("login-chart"))); err != nil {
		stuck("sign in from /if/admin/", err)
	}
	mark()

	// The sidebar: each link swaps in its page.
	for _, n := range []struct{ path, title, wait string }{
		{"/if/admin/users/", "Users", "#users"},
		{"/if/admin/groups/", "Groups", "main h1"},
		{"/if/admin/events/", "Events", "#events"},
		{"/if/admin/system/tasks/", "System tasks", "#schedules"},
		{"/if/admin/applications/", "Applications", "main h1"},
	} {
		current := `nav.admin-nav a[aria-current="page"][href="` + n.path + `"]`
		if err := do(
			chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="`+n.path+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(current)),
			chromedp.WaitVisible(chromedp.CSS(n.wait)),
		); err != nil {
			stuck("sidebar link to "+n.path, err)
		}
		at("sidebar "+n.path, n.path, n.title, true)
		if c := eval(`String(document.querySelectorAll('nav.admin-nav a[aria-current="page"]').length)`); c != "1" {
			t.Errorf("%s: %s entries marked current", n.path, c)
		}
		// Focus moves once htmx has settled the new content.
		if err := do(chromedp.Poll[chromedp.Void](`document.activeElement.id === "main"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Errorf("%s: focus on #%s, want #main", n.path, eval(`document.activeElement.id`))
		}
	}
	// From further down a page (in a short window), the next one starts at
	// the top.
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 1000, Height: 300, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	if y := eval(`window.scrollTo(0, 200); String(window.scrollY)`); y != "200" {
		t.Fatalf("the applications page does not scroll (at %s)", y)
	}
	if err := do(
		// (a click by script: the mouse would find the sticky header over the link)
		chromedp.Evaluate[chromedp.Void](`document.querySelector('nav.admin-nav a[href="/if/admin/flows/"]').click()`),
		chromedp.WaitVisible(chromedp.CSS(`nav.admin-nav a[aria-current="page"][href="/if/admin/flows/"]`)),
	); err != nil {
		stuck("flows from further down", err)
	}
	at("flows", "/if/admin/flows/", "Flows", true)
	if err := do(chromedp.Poll[chromedp.Void](`window.scrollY === 0`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("after a navigation from further down the window is at %s, want the top", eval(`String(window.scrollY)`))
	}
	if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	// A form: a 400 shows the error at the field (which gets focus); the
	// 303 after the POST lands on the new user's page and URL.
	duplicateUser := chromedp.Steps(
		chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/if/admin/users/"]`)),
		chromedp.WaitVisible(chromedp.ID("new-user")),
		chromedp.Click(chromedp.ID("new-user")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "akadmin"),
		chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.CSS(`#username-err .field-error`)),
	)
	if err := do(duplicateUser); err != nil {
		stuck("a duplicate user", err)
	}
	at("400", "/if/admin/users/new/", "New user", true)
	if err := do(chromedp.Poll[chromedp.Void](`document.activeElement.id === "username"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("after the 400 focus on #%s, want the invalid #username", eval(`document.activeElement.id`))
	}
	screenshot(t, ctx, "admin-htmx-form-error")
	if err := do(
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "henry"),
		chromedp.SendKeys(chromedp.ID("name"), "Henry Example"),
		chromedp.Click(chromedp.ID("save-user")),
		chromedp.WaitVisible(chromedp.ID("user-title")),
	); err != nil {
		stuck("create henry", err)
	}
	henry := results(s.must(200, "GET", "/core/users/?username=henry", nil))
	if len(henry) != 1 {
		t.Fatalf("henry: %v", henry)
	}
	henryPath := fmt.Sprintf("/if/admin/users/%d/", int(henry[0]["pk"].(float64)))
	at("303", henryPath+"?done=user-created", "henry", true) // the redirect's URL, notice and all

	// Back: the page before (the form's URL), fetched again.
	if err := do(
		chromedp.Evaluate[chromedp.Void](`history.back()`),
		chromedp.Poll[chromedp.Void](`location.pathname === "/if/admin/users/new/" && document.getElementById("username") !== null`),
	); err != nil {
		stuck("back", err)
	}
	at("back", "/if/admin/users/new/", "New user", true)
	if err := do(
		chromedp.Evaluate[chromedp.Void](`history.forward()`),
		chromedp.Poll[chromedp.Void](`document.getElementById("user-title") !== null`),
	); err != nil {
		stuck("forward", err)
	}
	at("forward", henryPath+"?done=user-created", "henry", true)

	// Impersonating henry: the form's 303 leads to the user interface,
	// which loads as a whole page; ending it (a form out of the user
	// interface) comes back to henry's admin page, whole too.
	if err := do(
		chromedp.Click(chromedp.ID("impersonate")),
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.SendKeys(chromedp.ID("reason"), "htmx test"),
		chromedp.Click(chromedp.ID("impersonate-form-submit")),
		chromedp.WaitVisible(chromedp.ID("impersonation-banner")),
	); err != nil {
		stuck("impersonate", err)
	}
	at("impersonation", "/if/user/", "My applications", false)
	mark()
	if err := do(
		chromedp.Click(chromedp.CSS(`nav.primary a[href="/if/user/settings/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.side a[aria-current="page"][href="/if/user/settings/"]`)),
	); err != nil {
		stuck("user interface settings", err)
	}
	at("user settings", "/if/user/settings/", "Account", true)
	if err := do(
		chromedp.Click(chromedp.ID("end-impersonation")),
		chromedp.WaitVisible(chromedp.ID("user-title")),
	); err != nil {
		stuck("end impersonation", err)
	}
	at("end impersonation", henryPath, "henry", false)

	// A link out: the user interface, as a whole page.
	mark()
	if err := do(
		chromedp.Click(chromedp.CSS(`#signed-in a[href="/if/user/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.primary a[aria-current="page"]`)),
	); err != nil {
		stuck("to the user interface", err)
	}
	at("user interface", "/if/user/", "My applications", false)

	mu.Lock()
	if len(problems) > 0 {
		t.Errorf("console: %q", problems)
	}
	mu.Unlock()

	// Without JavaScript the same links load whole pages.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := do(
		chromedp.Navigate(base+"/if/admin/users/"),
		chromedp.WaitVisible(chromedp.ID("users")),
		chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/if/admin/groups/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.admin-nav a[aria-current="page"][href="/if/admin/groups/"]`)),
		duplicateUser,
	); err != nil {
		stuck("without JavaScript", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/admin/users/new/" {
		t.Errorf("without JavaScript the form's answer is at %s", loc)
	}
}
