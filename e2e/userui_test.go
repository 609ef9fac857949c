package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// shootThemes saves a screenshot of the page in the light and the dark
// theme (prefers-color-scheme), as name-light and name-dark.
func shootThemes(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, theme := range []string{"light", "dark"} {
		if err := colorScheme(ctx, theme); err != nil {
			t.Fatalf("emulating %s: %v", theme, err)
		}
		screenshot(t, ctx, name+"-"+theme)
	}
	if err := colorScheme(ctx, "light"); err != nil {
		t.Fatal(err)
	}
}

func colorScheme(ctx context.Context, theme string) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}}})
	return err
}

// The user interface in headless Chromium, as a new user: signing in from
// /if/user/ lands on their applications (the one a policy lets them in, not
// the one it keeps for someone else); they rename and delete the TOTP device
// they set up over the executor API, sign out the script's session from the
// sessions page, and create an app password whose key is shown once.
func TestUserInterfaceBrowser(t *testing.T) {
	base, s := browserServer(t, nil)
	erin, other := newDevUser(t, s, "erin"), newDevUser(t, s, "oscar")

	wiki := s.must(201, "POST", "/core/applications/", map[string]any{"name": "Team Wiki", "slug": "team-wiki",
		"meta_launch_url": "https://wiki.example.com/", "meta_description": "Where the team writes things down.",
		"meta_publisher": "Docs team", "group": "Knowledge", "open_in_new_tab": true})
	s.must(201, "POST", "/policies/bindings/", map[string]any{"target": wiki["pk"], "user": mustInt(t, erin.pk), "order": 0})
	s.must(201, "POST", "/core/applications/", map[string]any{"name": "Chat", "slug": "chat", "meta_launch_url": "https://chat.example.com/"})
	payroll := s.must(201, "POST", "/core/applications/", map[string]any{"name": "Payroll", "slug": "payroll",
		"meta_launch_url": "https://payroll.example.com/", "group": "Finance"})
	s.must(201, "POST", "/policies/bindings/", map[string]any{"target": payroll["pk"], "user": mustInt(t, other.pk), "order": 0})

	// A second session: the script's, over the executor API (it sets up a
	// TOTP device once the browser is signed in: with one, the login would
	// ask for a code).
	script, ch := erin.login(t, s)
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("script login: %v", ch)
	}
	if code, _ := script.me(); code != 200 {
		t.Fatalf("the script's session: %d", code)
	}

	ctx := browserWith(t, 900, 90*time.Second)
	if err := chromedp.Do(ctx, signIn(base+"/if/user/", "erin", "erin-password", chromedp.CSS(`a.app[data-slug="team-wiki"]`))); err != nil {
		t.Fatalf("sign in from /if/user/: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/if/user/" {
		t.Errorf("after sign-in at %s", loc)
	}
	slugs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("a.app")].map(a => a.dataset.slug)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(slugs, ",") != "chat,team-wiki" {
		t.Errorf("applications on the page: %v, want chat and team-wiki (not payroll)", slugs)
	}
	if target, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a.app[data-slug="team-wiki"]').target`)); target != "_blank" {
		t.Errorf("Team Wiki opens in %q, want a new tab", target)
	}
	shootThemes(t, ctx, "user-1-applications")

	// Search on the server.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("q"), "wiki"),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(chromedp.CSS(`p[role="status"]`)),
	); err != nil {
		t.Fatalf("search: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("a.app").length`)); n != 1 {
		t.Errorf("%d applications match wiki", n)
	}

	// The TOTP device, over the executor API.
	const setup = "default-authenticator-totp-setup"
	if ch := enrollTOTP(t, script, setup, script.exec("GET", setup, nil)); component(ch) != "xak-flow-redirect" {
		t.Fatalf("TOTP setup: %v", ch)
	}

	// Account.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/"),
		chromedp.WaitVisible(chromedp.ID("username")),
	); err != nil {
		t.Fatalf("account page: %v", err)
	}
	shootThemes(t, ctx, "user-2-account")

	// MFA: rename, then delete with confirmation.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/mfa/"),
		chromedp.WaitVisible(chromedp.CSS(`li.device[data-class="totp"]`)),
	); err != nil {
		t.Fatalf("MFA page: %v", err)
	}
	shootThemes(t, ctx, "user-3-mfa")
	input := `li.device[data-class="totp"] input[name="name"]`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('`+input+`').value = "") === ""`)); err != nil {
		t.Fatalf("clear the name: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(input), "Erin's phone"),
		chromedp.Submit(chromedp.CSS(input)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(input))); name != "Erin's phone" {
		t.Errorf("renamed device shows %q", name)
	}
	devs := results(s.must(200, "GET", "/authenticators/admin/totp/?user="+erin.pk, nil))
	if len(devs) != 1 || devs[0]["name"] != "Erin's phone" {
		t.Errorf("device after rename: %v", devs)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`li.device[data-class="totp"] a.danger-ghost`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
	); err != nil {
		t.Fatalf("delete: %v", err)
	}
	shootThemes(t, ctx, "user-4-confirm-delete")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("no-devices")),
	); err != nil {
		t.Fatalf("confirm delete: %v", err)
	}
	if devs := results(s.must(200, "GET", "/authenticators/admin/totp/?user="+erin.pk, nil)); len(devs) != 0 {
		t.Errorf("devices after delete: %v", devs)
	}

	// Sessions: the script's is the other one; sign it out.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/sessions/"),
		chromedp.WaitVisible(chromedp.CSS(`li.session.current`)),
	); err != nil {
		t.Fatalf("sessions page: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.session").length`)); n != 2 {
		t.Errorf("%d sessions listed, want the browser's and the script's", n)
	}
	shootThemes(t, ctx, "user-5-sessions")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`li.session:not(.current) a`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("revoke the other session: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.session").length`)); n != 1 {
		t.Errorf("%d sessions after revoking, want 1", n)
	}
	if code, _ := script.me(); code != 403 {
		t.Errorf("the revoked script session still works: %d", code)
	}

	// An app password, shown once.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/tokens/"),
		chromedp.WaitVisible(chromedp.ID("identifier")),
		chromedp.SendKeys(chromedp.ID("identifier"), "mail-client"),
		chromedp.SendKeys(chromedp.ID("description"), "Thunderbird on the laptop"),
		chromedp.Click(chromedp.ID("create-token")),
		chromedp.WaitVisible(chromedp.ID("created-key")),
	); err != nil {
		t.Fatalf("create an app password: %v", err)
	}
	key, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("created-key")))
	if err != nil || len(key) < 20 {
		t.Fatalf("key on the page: %q %v", key, err)
	}
	shootThemes(t, ctx, "user-6-token-created")
	if got := s.must(200, "GET", "/core/tokens/mail-client/view_key/", nil)["key"]; got != key {
		t.Errorf("shown key %q is not the token's", key)
	}
	if tok := s.must(200, "GET", "/core/tokens/mail-client/", nil); tok["intent"] != "app_password" || int(tok["user"].(float64)) != mustInt(t, erin.pk) {
		t.Errorf("created token: %v", tok)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/tokens/"),
		chromedp.WaitVisible(chromedp.CSS(`li.token[data-identifier="mail-client"]`)),
	); err != nil {
		t.Fatalf("tokens page: %v", err)
	}
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(html, key) {
		t.Error("the key is shown again")
	}
	shootThemes(t, ctx, "user-7-tokens")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/settings/consents/"),
		chromedp.WaitVisible(chromedp.ID("no-consents")),
	); err != nil {
		t.Fatalf("consents page: %v", err)
	}
	shootThemes(t, ctx, "user-8-consents")

	// A phone-sized window.
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 390, Height: 844, DeviceScaleFactor: 1, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/"),
		chromedp.WaitVisible(chromedp.CSS(`a.app`)),
	); err != nil {
		t.Fatalf("narrow window: %v", err)
	}
	shootThemes(t, ctx, "user-9-applications-phone")
}

func mustInt(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
