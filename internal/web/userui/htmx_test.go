package userui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/htmlpagetest"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// htmxGet is get with the headers of an htmx navigation (a boosted link)
// and extra ones.
func (e *env) htmxGet(cookie, path string, extra ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(cookie).Get(path, htmlpagetest.Boosted("http://example.com/if/user/", extra...)...)
}

// An htmx navigation gets the <title> and the inside of #page (the header
// with its nav, whose aria-current moves, and <main>), nothing of the
// document around it; a plain request and a history restore get the whole
// page. Both say Vary: HX-Request.
func TestHTMXFragment(t *testing.T) {
	e := newEnv(t)
	e.app("Wiki", "wiki", "", nil)
	sections := map[string]string{"/if/user/": "Applications", "/if/user/notifications/": "Notifications"}
	for _, p := range append(pagesToRender, "/if/user/notifications/") {
		t.Run(p, func(t *testing.T) {
			full := e.get(e.aliceC, p)
			w := e.htmxGet(e.aliceC, p)
			if w.Code != http.StatusOK || full.Code != http.StatusOK {
				t.Fatalf("%d, full page %d", w.Code, full.Code)
			}
			frag := w.Body.String()
			htmlpagetest.CheckFragment(t, frag, full.Body.String())
			for _, s := range []string{`<header class="top">`, `<main id="main"`, "</main>", `id="signed-in"`} {
				if !strings.Contains(frag, s) {
					t.Errorf("fragment lacks %q", s)
				}
			}
			want := "Settings"
			if s, ok := sections[p]; ok {
				want = s
			}
			if cur := regexp.MustCompile(`<nav class="primary"[\s\S]*?aria-current="page">([A-Za-z]+)`).FindStringSubmatch(frag); cur == nil || cur[1] != want {
				t.Errorf("current nav entry %q, want %q", cur, want)
			}
			if len(frag) > 20<<10 {
				t.Errorf("fragment of %d bytes, want <= 20 KiB", len(frag))
			}
			for _, r := range []*httptest.ResponseRecorder{w, full} {
				if !htmlpagetest.Varies(r.Result().Header) || r.Result().Header.Get("Content-Security-Policy") == "" {
					t.Errorf("headers %v", r.Result().Header)
				}
			}
			if restore := e.htmxGet(e.aliceC, p, "HX-History-Restore-Request", "true"); !strings.HasPrefix(restore.Body.String(), "<!doctype html>") {
				t.Errorf("history restore: %.100s", restore.Body)
			}
		})
	}
}

// A form answered with its errors (a 400) is a fragment too, with the
// error, and keeps the page headers although its handler wrote the status
// first.
func TestHTMXFormError(t *testing.T) {
	e := newEnv(t)
	d := e.devices["alice"]
	w := e.post(e.aliceC, "/if/user/settings/mfa/totp/"+strconv.FormatInt(d.PK, 10)+"/rename/", csrf, url.Values{"name": {""}},
		"HX-Request", "true")
	res := w.Result()
	body := w.Body.String()
	if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(body, "<title>MFA devices · ") || strings.Contains(body, "<html") ||
		!strings.Contains(body, `class="field-error"`) {
		t.Fatalf("rename to nothing: %d %.400s", res.StatusCode, body)
	}
	if res.Header.Get("Content-Security-Policy") == "" || !htmlpagetest.Varies(res.Header) {
		t.Errorf("headers of the 400: %v", res.Header)
	}
}

// The full page loads the vendored htmx and configures it to stay within
// the CSP (no indicator <style>, no eval, no <script> from answers), to
// swap the pages of 4xx and 5xx answers (a form's errors, a 404 page), and
// to keep no snapshots of pages in sessionStorage.
func TestHTMXSetup(t *testing.T) {
	e := newEnv(t)
	page := e.page(e.aliceC, "/if/user/")
	if !strings.Contains(page, `<body hx-boost="true" hx-target="#page" hx-swap="innerHTML show:window:top">`) ||
		!strings.Contains(page, `<script src="`+userui.HTMXPath+`" defer></script>`) {
		t.Errorf("page does not load and boost with htmx: %.1200s", page)
	}
	checkHTMXConfig(t, page)
	for _, leaves := range []string{`href="/flows/-/default/invalidation/" hx-boost="false"`} {
		if !strings.Contains(page, leaves) {
			t.Errorf("no %q", leaves)
		}
	}

	w := e.get("", userui.HTMXPath)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") ||
		!strings.Contains(w.Body.String(), `version:"`+userui.HTMXVersion+`"`) {
		t.Errorf("htmx: %d %q, version %q not found", w.Code, w.Header().Get("Content-Type"), userui.HTMXVersion)
	}
}

var htmxConfigMeta = regexp.MustCompile(`<meta name="htmx-config" content='([^']*)'>`)

func checkHTMXConfig(t *testing.T, page string) {
	t.Helper()
	m := htmxConfigMeta.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no htmx-config meta tag")
	}
	var c struct {
		IncludeIndicatorStyles, AllowEval, AllowScriptTags, HistoryRestoreAsHxRequest *bool
		HistoryCacheSize                                                              *int
		ResponseHandling                                                              []struct {
			Code  string
			Swap  bool
			Error bool
		}
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &c); err != nil {
		t.Fatalf("htmx-config %s: %v", m[1], err)
	}
	for name, v := range map[string]*bool{"includeIndicatorStyles": c.IncludeIndicatorStyles, "allowEval": c.AllowEval,
		"allowScriptTags": c.AllowScriptTags, "historyRestoreAsHxRequest": c.HistoryRestoreAsHxRequest} {
		if v == nil || *v {
			t.Errorf("htmx-config %s is not false", name)
		}
	}
	if c.HistoryCacheSize == nil || *c.HistoryCacheSize != 0 {
		t.Error("htmx-config historyCacheSize is not 0")
	}
	// htmx takes the first rule whose code (a regular expression) matches.
	swaps := func(status int) bool {
		for _, r := range c.ResponseHandling {
			if regexp.MustCompile(r.Code).MatchString(strconv.Itoa(status)) {
				return r.Swap && !r.Error
			}
		}
		return false
	}
	for _, s := range []int{200, 201, 400, 403, 404, 409, 500, 502} {
		if !swaps(s) {
			t.Errorf("htmx-config does not swap a %d", s)
		}
	}
	if swaps(204) {
		t.Error("htmx-config swaps a 204 (an empty page)")
	}
}
