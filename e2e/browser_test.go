package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// browser starts headless Debian Chromium for one test.
func browser(t *testing.T) context.Context { return browserWith(t, 800, 60*time.Second) }

// browserWith is browser with a window height and a time limit.
func browserWith(t *testing.T, height int, limit time.Duration) context.Context {
	t.Helper()
	path := testenv.Tool(t, "chromium")
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, height))
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, limit)
	t.Cleanup(cancel3)
	return ctx
}

// browserServer starts the binary on a fresh SQLite data dir with the
// bootstrap password and token and extra settings, and returns its base URL
// and an API client for setting things up.
func browserServer(t *testing.T, extra map[string]string) (string, *apiServer) {
	t.Helper()
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	for k, v := range extra {
		env[k] = v
	}
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	base := p.url("http")
	return base, &apiServer{t: t, base: base + "/api/v3", token: bootstrapToken}
}

// signIn is the sign-in a person does in the HTML flow UI: open start (a
// page that sends a visitor to the authentication flow, or the flow itself),
// then answer the identification and password stages (typeCredentials).
func signIn[S chromedp.Selectable](start, username, password string, done S) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(start),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
		typeCredentials(username, password, done),
	)
}

// typeCredentials answers the identification stage on the page shown, then
// the password stage, and waits for done, an element of the page the flow
// goes on to (the page signed into, or a further stage).
func typeCredentials[S chromedp.Selectable](username, password string, done S) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.ID("uid_field"), username),
		chromedp.Submit(chromedp.ID("uid_field")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(done),
	)
}

// screenshot saves a PNG for people to look at (GATEHOUSE_SCREENSHOTS=dir).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// A person logs in through the HTML flow UI: opening a protected page sends
// them to the authentication flow, they type their username and password,
// and land back on the page, signed in; signing out ends the session.
func TestBrowserLogin(t *testing.T) {
	base, _ := browserServer(t, nil)
	ctx := browser(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
	)
	if err != nil {
		t.Fatalf("open the login page: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/if/flow/default-authentication-flow/") || !strings.Contains(loc, "next=%2F") {
		t.Errorf("login page at %s", loc)
	}
	screenshot(t, ctx, "1-identification")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("uid_field"), "akadmin"),
		chromedp.Submit(chromedp.ID("uid_field")),
		chromedp.WaitVisible(chromedp.ID("password")),
	); err != nil {
		t.Fatalf("identification: %v", err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user strong"))); who != "akadmin" {
		t.Errorf("password page shows %q", who)
	}
	// A wrong password first: an error on the same page.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("p.error")), // only on the page after the post
	); err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	screenshot(t, ctx, "2-password-error")
	if msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.error"))); msg != "Failed to authenticate." {
		t.Errorf("error message %q", msg)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), bootstrapPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("password: %v", err)
	}
	screenshot(t, ctx, "3-signed-in")
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if loc != base+"/if/user/" { // "/" sends a signed-in visitor to the user interface
		t.Errorf("after login at %s, want %s/if/user/", loc, base)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user strong"))); who != "akadmin" {
		t.Errorf("home page shows %q", who)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/flows/-/default/invalidation/"]`)),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
	); err != nil {
		t.Fatalf("sign out: %v", err)
	}
}

// "Stay signed in?" in the HTML flow UI: with a remember_me_offset on the
// login stage the page asks, and Yes gives a persistent session cookie. Then
// an authorization flow's consent page.
func TestBrowserRememberMeAndConsent(t *testing.T) {
	base, s := browserServer(t, nil)
	login := s.stageByName("default-authentication-login")
	s.must(200, "PATCH", "/stages/user_login/"+login+"/", map[string]any{
		"settings": map[string]any{"session_duration": "seconds=0", "remember_me_offset": "days=30"}})

	ctx := browser(t)
	if err := chromedp.Do(ctx, signIn(base+"/", "akadmin", bootstrapPassword, chromedp.ID("remember-yes"))); err != nil {
		t.Fatalf("to the remember-me question: %v", err)
	}
	screenshot(t, ctx, "4-remember-me")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("remember-yes")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("yes: %v", err)
	}
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := got.Cookies
	found := false
	for _, c := range cookies {
		if c.Name != "authentik_session" {
			continue
		}
		found = true
		left := time.Until(time.Unix(int64(c.Expires), 0))
		if c.Session || left < 29*24*time.Hour || left > 31*24*time.Hour {
			t.Errorf("session cookie: session=%v, expires in %v; want 30 days", c.Session, left)
		}
	}
	if !found {
		t.Errorf("no session cookie among %d", len(cookies))
	}

	// The consent page of an authorization flow, then back home.
	s.must(201, "POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": "wiki"})
	setApp := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "app-wiki", "settings": map[string]any{
		"expression": "context[\"flow_plan\"].context[\"application\"] = \"wiki\"\nreturn True"}})
	f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Authorize", "slug": "authorize-wiki", "title": "Sign in to Wiki", "designation": "authorization"})
	s.must(201, "POST", "/policies/bindings/", map[string]any{"target": f["pk"], "policy": setApp["pk"], "order": 0})
	st := s.must(201, "POST", "/stages/consent/", map[string]any{"name": "wiki-consent", "settings": map[string]any{"mode": "permanent"}})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/authorize-wiki/?next=%2F"),
		chromedp.WaitVisible(chromedp.ID("consent-continue")),
	); err != nil {
		t.Fatalf("consent page: %v", err)
	}
	screenshot(t, ctx, "7-consent")
	if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user"))); text != "You're about to sign into Wiki." {
		t.Errorf("consent text %q", text)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("consent-continue")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("consent: %v", err)
	}
}

// Password recovery in the browser: ask on the recovery page, open the
// emailed link (delivered to a real SMTP server), set a new password, land
// signed in.
func TestBrowserRecovery(t *testing.T) {
	smtpd := mailtest.Start(t)
	base, s := browserServer(t, map[string]string{"GATEHOUSE_EMAIL__HOST": "127.0.0.1", "GATEHOUSE_EMAIL__PORT": smtpd.Port(),
		"GATEHOUSE_EMAIL__FROM": "id@example.com"})
	s.setDefaultBrandDomain("127.0.0.1")
	u := s.must(201, "POST", "/core/users/", map[string]any{"username": "heidi", "name": "Heidi", "email": "heidi@example.com"})
	s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "old-password-1"})

	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-recovery-flow/"),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
		chromedp.SendKeys(chromedp.ID("uid_field"), "heidi@example.com"),
		chromedp.Submit(chromedp.ID("uid_field")),
		chromedp.WaitVisible(chromedp.ID("check-email")),
	); err != nil {
		t.Fatalf("ask for the link: %v", err)
	}
	screenshot(t, ctx, "5-check-email")
	m := smtpd.Wait(t, 0, 10*time.Second)
	var link string
	for _, f := range strings.Fields(m.Body) {
		if strings.HasPrefix(f, base+"/if/flow/default-recovery-flow/?flow_token=") {
			link = f
		}
	}
	if link == "" {
		t.Fatalf("no link to %s in %q", base, m.Body)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("f-password")),
	); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	screenshot(t, ctx, "6-new-password")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("f-password"), "new-password-2"),
		chromedp.SendKeys(chromedp.ID("f-password_repeat"), "new-password-2"),
		chromedp.Submit(chromedp.ID("f-password")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("set the password: %v", err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user strong"))); who != "heidi" {
		t.Errorf("signed in as %q", who)
	}
}

// The prompt's dropdown, radio buttons and date inputs in the browser.
func TestBrowserPromptFieldTypes(t *testing.T) {
	base, s := browserServer(t, nil)
	f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Sign up", "slug": "signup", "title": "Create your account", "designation": "enrollment"})
	prompt := s.must(201, "POST", "/stages/prompt/", map[string]any{"name": "typed", "settings": map[string]any{"fields": []any{
		map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true, "order": 0},
		map[string]any{"field_key": "attributes.team", "label": "Team", "type": "dropdown", "required": true, "order": 1, "choices": []any{"red", "blue"}},
		map[string]any{"field_key": "attributes.plan", "label": "Plan", "type": "radio-button-group", "required": true, "order": 2, "choices": []any{"free", "pro"}},
		map[string]any{"field_key": "attributes.birthday", "label": "Birthday", "type": "date", "order": 3},
		map[string]any{"field_key": "attributes.avatar", "label": "Avatar", "type": "file", "order": 4},
	}}})
	avatar := filepath.Join(t.TempDir(), "avatar.txt")
	if err := os.WriteFile(avatar, []byte("hello avatar"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := s.must(201, "POST", "/stages/user_write/", map[string]any{"name": "typed-write", "settings": map[string]any{"user_creation_mode": "always_create"}})
	for i, st := range []map[string]any{prompt, write} {
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": i})
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/signup/"),
		chromedp.WaitVisible(chromedp.CSS(`[id="f-attributes.team"]`)),
		chromedp.SendKeys(chromedp.ID("f-username"), "judy"),
		chromedp.SetValue(chromedp.CSS(`[id="f-attributes.team"]`), "blue"),
		chromedp.Click(chromedp.CSS(`input[name="attributes.plan"][value="pro"]`)),
		chromedp.SetValue(chromedp.CSS(`[id="f-attributes.birthday"]`), "1991-03-04"),
		chromedp.SetUploadFiles(chromedp.CSS(`[id="f-attributes.avatar"]`), []string{avatar}),
	); err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	screenshot(t, ctx, "8-prompt-types")
	if err := chromedp.Do(ctx, chromedp.Submit(chromedp.ID("f-username"))); err != nil {
		t.Fatalf("submit: %v", err)
	}
	var attrs map[string]any
	for range 50 {
		if users := results(s.must(200, "GET", "/core/users/?username=judy", nil)); len(users) == 1 {
			attrs = users[0]["attributes"].(map[string]any)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The upload lands as a data URI, as authentik's UI sends it.
	if attrs["team"] != "blue" || attrs["plan"] != "pro" || attrs["birthday"] != "1991-03-04" ||
		attrs["avatar"] != "data:text/plain;base64,aGVsbG8gYXZhdGFy" {
		t.Errorf("judy's attributes: %v", attrs)
	}
}
