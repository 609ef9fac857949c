// Package htmlpagetest drives the pages of /if/user/ and /if/admin/ in
// process as a browser does (a session cookie, the CSRF cookie, form posts,
// htmx navigations), and checks what package htmlpage promises of them: an
// htmx navigation gets the page's fragment, and every answer varies on
// HX-Request.
package htmlpagetest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api"
)

// Visitor is a browser on the pages served by Handler: it holds the session
// cookie Session ("" for an anonymous visitor) and the CSRF cookie CSRF.
type Visitor struct {
	Handler http.Handler
	Session string
	CSRF    string
}

// Do sends r with the visitor's cookies and the header pairs (name, value,
// name, value, ...).
func (v Visitor) Do(r *http.Request, header ...string) *httptest.ResponseRecorder {
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if v.Session != "" {
		r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: v.Session})
		r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: v.CSRF})
	}
	w := httptest.NewRecorder()
	v.Handler.ServeHTTP(w, r)
	return w
}

// Get fetches path.
func (v Visitor) Get(path string, header ...string) *httptest.ResponseRecorder {
	return v.Do(httptest.NewRequest(http.MethodGet, path, nil), header...)
}

// Post submits form to path from a page of the same origin; token is the
// form's csrf field ("" leaves it out).
func (v Visitor) Post(path, token string, form url.Values, header ...string) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if token != "" {
		form.Set("csrf", token)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return v.Do(r, header...)
}

// Boosted is the header pairs of an htmx navigation (a boosted link or
// form) from the page at currentURL, then extra ones
// (https://htmx.org/reference/#request_headers).
func Boosted(currentURL string, extra ...string) []string {
	return append([]string{"HX-Request", "true", "HX-Boosted", "true", "HX-Current-URL", currentURL}, extra...)
}

// wholeDocument is in every whole page and never in a fragment.
var wholeDocument = []string{"<!doctype html>", "<html", "<head>", "<body", `<link rel="stylesheet"`, "<script",
	`<div id="page">`, "</body>"}

var titleTag = regexp.MustCompile(`<title>[^<]*</title>`)

// CheckFragment checks that frag is the htmx fragment of the whole page:
// the page's <title>, then exactly what is inside the page's #page element,
// and nothing of the document around it. wholeOnly names more markers of
// the layout that stand outside #page.
func CheckFragment(t testing.TB, frag, page string, wholeOnly ...string) {
	t.Helper()
	title := titleTag.FindString(page)
	if title == "" || !strings.HasPrefix(frag, title+"\n") {
		t.Errorf("fragment does not start with the page's title %q: %.200s", title, frag)
	}
	for _, s := range append(wholeDocument, wholeOnly...) {
		if strings.Contains(frag, s) {
			t.Errorf("fragment has %q", s)
		}
		if !strings.Contains(page, s) {
			t.Errorf("full page lacks %q", s)
		}
	}
	start := strings.Index(page, `<div id="page">`) + len(`<div id="page">`)
	end := strings.LastIndex(page, "</div>\n</body>")
	if start < len(`<div id="page">`) || end < start || strings.TrimSpace(page[start:end]) != strings.TrimSpace(strings.TrimPrefix(frag, title)) {
		t.Errorf("fragment is not the inside of the page's #page")
	}
}

// Varies reports whether h says Vary: HX-Request (the answer depends on
// it, so caches must key on it).
func Varies(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) == "HX-Request" {
				return true
			}
		}
	}
	return false
}
