package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// fakeCaptchaJS behaves as Turnstile's script does for the page: it finds
// the widget's div and, "solved", puts the token in a hidden
// cf-turnstile-response field of the form. The token names the site key,
// which the fake verification endpoint checks.
const fakeCaptchaJS = `document.querySelectorAll(".cf-turnstile").forEach(function (el) {
  var input = document.createElement("input");
  input.type = "hidden";
  input.name = "cf-turnstile-response";
  input.value = "solved-" + el.getAttribute("data-sitekey");
  el.closest("form").appendChild(input);
  el.textContent = "captcha solved";
  el.id = "captcha-solved";
});`

// The captcha stage in the HTML flow UI, in Chromium, with a local fake
// provider: the page loads the provider's script (its CSP allows that
// origin), the widget's token goes with the form, the server verifies it
// with the provider's siteverify endpoint, and the flow moves on.
func TestBrowserCaptcha(t *testing.T) {
	var verified atomic.Int32
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = io.WriteString(w, fakeCaptchaJS)
		case "/siteverify":
			_ = r.ParseForm()
			ok := r.PostForm.Get("secret") == "e2e-secret" && r.PostForm.Get("response") == "solved-e2e-site-key"
			if ok {
				verified.Add(1)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, map[bool]string{true: `{"success":true}`, false: `{"success":false}`}[ok])
		default:
			http.NotFound(w, r)
		}
	}))
	defer provider.Close()

	base, s := browserServer(t, nil)
	f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Captcha", "slug": "captcha-e2e",
		"title": "Are you human?", "designation": "authentication"})
	st := s.must(201, "POST", "/stages/captcha/", map[string]any{"name": "e2e-captcha", "public_key": "e2e-site-key",
		"private_key": "e2e-secret", "js_url": provider.URL + "/api.js", "api_url": provider.URL + "/siteverify"})
	after := s.must(201, "POST", "/stages/dummy/", map[string]any{"name": "e2e-after-captcha"})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 10})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": after["pk"], "order": 20})

	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/captcha-e2e/"),
		chromedp.WaitVisible(chromedp.ID("captcha-solved")),
	); err != nil {
		t.Fatalf("the provider's script did not run on the captcha page: %v", err)
	}
	screenshot(t, ctx, "captcha")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitReady(chromedp.CSS(`input[name=component][value="ak-stage-dummy"]`)),
	); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("after the captcha: %v\n%s", err, body)
	}
	if verified.Load() != 1 {
		t.Errorf("siteverify calls with the widget's token = %d, want 1", verified.Load())
	}
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main"))); strings.Contains(html, "cf-turnstile") {
		t.Errorf("still on the captcha page:\n%s", html)
	}

	// The same captcha on the login form (identification's captcha_stage).
	ident := s.stageByName("default-authentication-identification")
	s.must(200, "PATCH", "/stages/identification/"+ident+"/", map[string]any{"captcha_stage": st["pk"]})
	// Through the executor API without a token: refused before any lookup.
	fc := newFlowClient(t, s)
	fc.exec("GET", "default-authentication-flow", nil)
	ch := fc.exec("POST", "default-authentication-flow", map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
	if errs, _ := ch["response_errors"].(map[string]any); errs["captcha_token"] == nil {
		t.Errorf("identification without a captcha token = %v", ch)
	}
	if cs, _ := ch["captcha_stage"].(map[string]any); cs["site_key"] != "e2e-site-key" {
		t.Errorf("captcha_stage in the challenge = %v", ch["captcha_stage"])
	}
	// In the browser, the widget solves it and the login goes on.
	ctx = browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authentication-flow/"),
		chromedp.WaitVisible(chromedp.ID("captcha-solved")),
		chromedp.SendKeys(chromedp.ID("uid_field"), "akadmin"),
		chromedp.Submit(chromedp.ID("uid_field")),
		chromedp.WaitVisible(chromedp.ID("password")),
	); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("login with the captcha: %v\n%s", err, body)
	}
	if verified.Load() != 2 {
		t.Errorf("siteverify calls = %d, want 2", verified.Load())
	}
}
