package flowui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/captcha"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The captcha page loads the provider's script, allowed by its CSP (and
// nothing else's), renders the widget for the site key, and the token the
// widget puts in the form (Turnstile's cf-turnstile-response here) is
// verified with the provider: a good one moves on, a bad one is shown as
// an error.
func TestCaptchaPage(t *testing.T) {
	verify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ok := r.PostForm.Get("secret") == "site-secret" && r.PostForm.Get("response") == "good-token"
		w.Header().Set("Content-Type", "application/json")
		if ok {
			_, _ = io.WriteString(w, `{"success": true}`)
		} else {
			_, _ = io.WriteString(w, `{"success": false}`)
		}
	}))
	defer verify.Close()

	s := stagetest.New(t)
	ctx := context.Background()
	f := &store.Flow{Slug: "captcha", Name: "Captcha", Title: "Captcha", Designation: store.DesignationAuthentication}
	st := &store.Stage{Name: "captcha", Type: "captcha", Settings: store.Attributes{"public_key": "site-key-1",
		"private_key": "site-secret", "js_url": "https://challenges.cloudflare.com/turnstile/v0/api.js",
		"api_url": verify.URL + "/siteverify"}}
	dummy := &store.Stage{Name: "after", Type: "dummy"}
	if err := s.Store.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	for i, x := range []*store.Stage{st, dummy} {
		if err := s.Store.CreateStage(ctx, x); err != nil {
			t.Fatal(err)
		}
		if err := s.Store.CreateFlowStageBinding(ctx, &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: x.UUID, Order: i}); err != nil {
			t.Fatal(err)
		}
	}
	ui := &UI{Executor: s.Executor, Store: func() store.Store { return s.Store },
		Sessions: func() *session.Manager { return s.Executor.Sessions }}
	r := chi.NewRouter()
	ui.Mount(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Security-Policy"), string(b)
	}
	csp, body := page(c.Get(srv.URL + "/if/flow/captcha/"))
	if !strings.Contains(csp, "script-src https://challenges.cloudflare.com;") ||
		!strings.Contains(csp, "frame-src https://challenges.cloudflare.com;") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.Contains(body, `<script src="https://challenges.cloudflare.com/turnstile/v0/api.js"`) ||
		!strings.Contains(body, `data-sitekey="site-key-1"`) {
		t.Fatalf("page:\n%s", body)
	}
	post := func(token string) string {
		_, body := page(c.PostForm(srv.URL+"/if/flow/captcha/", url.Values{"component": {"ak-stage-captcha"},
			"cf-turnstile-response": {token}}))
		return body
	}
	if body := post("bad-token"); !strings.Contains(body, "Invalid captcha response.") {
		t.Errorf("a bad token:\n%s", body)
	}
	if body := post("good-token"); !strings.Contains(body, "ak-stage-dummy") {
		t.Errorf("a good token does not move on:\n%s", body)
	}
}

// Only absolute http(s) script URLs give CSP sources, with the provider's
// other hosts; anything else gives none (and so no script on the page).
func TestCaptchaSources(t *testing.T) {
	for js, want := range map[string]string{
		"https://js.hcaptcha.com/1/api.js":           "https://js.hcaptcha.com https://hcaptcha.com https://*.hcaptcha.com",
		"https://www.recaptcha.net/recaptcha/api.js": "https://www.recaptcha.net https://www.gstatic.com https://www.gstatic.cn",
		"http://127.0.0.1:8080/api.js":               "http://127.0.0.1:8080",
		"javascript:alert(1)":                        "",
		"/relative.js":                               "",
		"https://evil.example;script-src%20*/x.js":   "",
		"": "",
	} {
		got := strings.Join(captchaSources(&captcha.Challenge{JSURL: js}), " ")
		if got != want {
			t.Errorf("captchaSources(%q) = %q, want %q", js, got, want)
		}
	}
	if got := captchaSources(nil); got != nil {
		t.Errorf("no challenge: %v", got)
	}
}
