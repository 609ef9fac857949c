package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/"),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
		chromedp.SendKeys(chromedp.ID("uid_field"), "akadmin"),
		chromedp.Submit(chromedp.ID("uid_field")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), bootstrapPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("login-chart")),
	); err != nil {
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
