package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web/adminui"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage/htmlpagetest"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// htmxGet fetches path as akadmin with the headers of an htmx navigation
// (a boosted link) and extra ones.
func (e *env) htmxGet(path string, extra ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(e.adminC).Get(path, htmlpagetest.Boosted("http://example.com/if/admin/", extra...)...)
}

// htmxPost submits form to path as akadmin from a boosted form.
func (e *env) htmxPost(path string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.visitor(e.adminC).Post(path, csrf, form, htmlpagetest.Boosted("http://example.com/if/admin/")...)
}

// checkFragment checks that frag is the htmx form of the full page (the
// admin layout's header stands outside #page).
func checkFragment(t *testing.T, frag, page string) {
	t.Helper()
	htmlpagetest.CheckFragment(t, frag, page, `<header class="top">`)
}

var currentNav = regexp.MustCompile(`<nav class="side admin-nav"[\s\S]*?aria-current="page"[^>]*>([^<]+)</a>`)

// Every page answers an htmx navigation with its fragment: the <title>,
// the sidebar with the current entry marked, and <main>; a plain request
// and a history restore get the whole page. Both say Vary: HX-Request.
func TestHTMXNavigation(t *testing.T) {
	e := newEnv(t)
	nav := map[string]string{"/if/admin/": "Dashboard", "/if/admin/users/": "Users", "/if/admin/groups/": "Groups",
		"/if/admin/applications/": "Applications", "/if/admin/flows/": "Flows", "/if/admin/events/": "Events",
		"/if/admin/system/tasks/": "Tasks", "/if/admin/system/certificates/": "Certificates"}
	for path := range e.pages() {
		t.Run(path, func(t *testing.T) {
			full := e.get(e.adminC, path)
			w := e.htmxGet(path)
			if w.Code != http.StatusOK || full.Code != http.StatusOK {
				t.Fatalf("%d, full page %d", w.Code, full.Code)
			}
			frag := w.Body.String()
			checkFragment(t, frag, full.Body.String())
			for _, s := range []string{`<nav class="side admin-nav" aria-label="Administration">`, `<main id="main">`, "</main>"} {
				if !strings.Contains(frag, s) {
					t.Errorf("fragment lacks %q", s)
				}
			}
			if want, ok := nav[path]; ok {
				if m := currentNav.FindStringSubmatch(frag); m == nil || m[1] != want {
					t.Errorf("current sidebar entry %q, want %q", m, want)
				}
			}
			for _, r := range []*httptest.ResponseRecorder{w, full} {
				if h := r.Result().Header; !htmlpagetest.Varies(h) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
					t.Errorf("headers %v", h)
				}
			}
			if restore := e.htmxGet(path, "HX-History-Restore-Request", "true"); !strings.HasPrefix(restore.Body.String(), "<!doctype html>") {
				t.Errorf("history restore: %.100s", restore.Body)
			}
		})
	}

	// The message pages (a 404 here) have no sidebar, and are fragments too.
	full := e.get(e.adminC, "/if/admin/groups/"+uuid.NewString()+"/")
	w := e.htmxGet("/if/admin/groups/" + uuid.NewString() + "/")
	if w.Code != http.StatusNotFound || full.Code != http.StatusNotFound {
		t.Fatalf("missing group: %d, full page %d", w.Code, full.Code)
	}
	checkFragment(t, w.Body.String(), full.Body.String())
	if h := w.Result().Header; !htmlpagetest.Varies(h) || h.Get("Content-Security-Policy") == "" {
		t.Errorf("headers of the 404: %v", h)
	}
}

// A boosted form answered with its errors (a 400) is a fragment with the
// errors at their fields, and has the page headers although the handler
// wrote its status first; one that succeeds redirects (303), and the page
// it leads to is a fragment for htmx, which follows the redirect with the
// same headers and pushes the final URL.
func TestHTMXForms(t *testing.T) {
	e := newEnv(t)
	w := e.htmxPost("/if/admin/users/new/", url.Values{"username": {"akadmin"}, "name": {"Dup"}})
	body := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.HasPrefix(body, "<title>New user · Admin · ") || strings.Contains(body, "<html") ||
		!strings.Contains(body, `class="field-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("duplicate user: %d %.600s", w.Code, body)
	}
	if h := w.Result().Header; !htmlpagetest.Varies(h) || h.Get("Content-Security-Policy") == "" {
		t.Errorf("headers of the 400: %v", h)
	}

	w = e.htmxPost("/if/admin/groups/new/", url.Values{"name": {"Editors"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/if/admin/groups/") {
		t.Fatalf("new group: %d %q", w.Code, loc)
	}
	w = e.htmxGet(loc)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "<title>Editors · Admin · ") || strings.Contains(w.Body.String(), "<html") {
		t.Errorf("after the redirect: %d %.200s", w.Code, w.Body)
	}
}

// The admin layout loads htmx with the user interface's configuration
// (checked in userui's TestHTMXSetup), and links that leave the interface
// or download a file are not boosted.
func TestHTMXSetup(t *testing.T) {
	e := newEnv(t)
	meta := regexp.MustCompile(`<meta name="htmx-config"[^>]*>`)
	page := e.page("/if/admin/")
	if m, u := meta.FindString(page), meta.FindString(e.page("/if/user/")); m == "" || m != u {
		t.Errorf("htmx-config %q, the user interface's %q", m, u)
	}
	if !strings.Contains(page, `<body class="admin" hx-boost="true" hx-target="#page" hx-swap="innerHTML show:window:top">`) ||
		!strings.Contains(page, `<script src="`+userui.HTMXPath+`" defer></script>`) {
		t.Errorf("page does not load and boost with htmx: %.1500s", page)
	}
	if err := e.st.CreateFlow(context.Background(), &store.Flow{UUID: uuid.New(), Slug: "exported", Name: "Exported", Title: "Exported",
		Designation: "authentication", PolicyEngineMode: "any", DeniedAction: "message_continue", Layout: "stacked", Authentication: "none"}); err != nil {
		t.Fatal(err)
	}
	cert := e.apiCall(http.MethodPost, "/crypto/certificatekeypairs/generate/", `{"common_name":"dl.example.com","validity_days":30}`, 200)
	for path, links := range map[string][]string{
		"/if/admin/":                {`href="/if/user/" hx-boost="false"`, `href="/flows/-/default/invalidation/" hx-boost="false"`},
		"/if/admin/flows/exported/": {`/export/" download hx-boost="false"`},
		fmt.Sprintf("/if/admin/system/certificates/%s/", cert["pk"]): {`/certificate.pem" download hx-boost="false"`,
			`/private-key.pem" download hx-boost="false"`},
	} {
		body := e.page(path)
		for _, l := range links {
			if !strings.Contains(body, l) {
				t.Errorf("%s: no %q", path, l)
			}
		}
	}
}

// Issue 8's figure: a page transfers <= 150 KB of HTML+CSS+JS uncompressed
// on first load (htmx included) and <= 20 KB on an htmx navigation, for
// the main pages with their lists full (25 rows, the default page size;
// with 100 rows in each list, the sizes at page_size=100 are logged).
func TestPageWeight(t *testing.T) {
	e := newEnv(t)
	seedLists(t, e, 100)
	assets := 0
	for _, p := range []string{userui.StylePath, adminui.StylePath, userui.ScriptPath, userui.HTMXPath} {
		w := e.get("", p)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", p, w.Code)
		}
		assets += w.Body.Len()
	}
	t.Logf("CSS+JS (user.css, admin.css, user.js, htmx.min.js): %d bytes", assets)
	for _, c := range []struct{ path, row string }{
		{"/if/admin/", "weight000"},
		{"/if/admin/users/", "weight020"},
		{"/if/admin/groups/", "Weight group"},
		{"/if/admin/applications/", "Weight app"},
		{"/if/admin/flows/", "Weight flow"},
		{"/if/admin/events/", "weight"},
		{"/if/admin/system/tasks/", "weight task"},
	} {
		full := e.page(c.path)
		w := e.htmxGet(c.path)
		if w.Code != http.StatusOK || !strings.Contains(full, c.row) {
			t.Fatalf("%s: %d, or the page lacks %q", c.path, w.Code, c.row)
		}
		first, nav := len(full)+assets, w.Body.Len()
		big := e.htmxGet(c.path + "?page_size=100").Body.Len()
		t.Logf("%-26s first load %6d bytes (HTML %5d), htmx navigation %5d bytes (page_size=100: %5d)", c.path, first, len(full), nav, big)
		if first > 150<<10 {
			t.Errorf("%s: first load %d bytes, want <= 150 KiB", c.path, first)
		}
		if nav > 20<<10 {
			t.Errorf("%s: htmx navigation %d bytes, want <= 20 KiB", c.path, nav)
		}
	}
}

// seedLists fills the main lists with n rows each (names padded to the
// lengths people use).
func seedLists(t *testing.T, e *env, n int) {
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range n {
		e.user(fmt.Sprintf("weight%03d", i), fmt.Sprintf("Weight Person %03d", i))
		if err := e.st.CreateGroup(ctx, &store.Group{Name: fmt.Sprintf("Weight group %03d", i)}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.CreateApplication(ctx, &store.Application{Name: fmt.Sprintf("Weight app %03d", i), Slug: fmt.Sprintf("weight-app-%03d", i),
			PolicyEngineMode: "any", MetaLaunchURL: "https://app.example.com/", MetaDescription: "An application of the page weight test",
			MetaPublisher: "Example Corp"}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.CreateFlow(ctx, &store.Flow{UUID: uuid.New(), Slug: fmt.Sprintf("weight-flow-%03d", i), Name: fmt.Sprintf("Weight flow %03d", i),
			Title: "Welcome", Designation: "authentication", PolicyEngineMode: "any", DeniedAction: "message_continue", Layout: "stacked",
			Authentication: "none"}); err != nil {
			t.Fatal(err)
		}
		ip := fmt.Sprintf("198.51.100.%d", i)
		if err := e.st.CreateEvent(ctx, &store.Event{UUID: uuid.New(), Action: "login", User: store.Attributes{"username": fmt.Sprintf("weight%03d", i)},
			ClientIP: &ip, Context: store.Attributes{"auth_method": "password", "http_request": map[string]any{"method": "GET", "path": "/if/user/"}},
			Created: now.Add(-time.Duration(i) * time.Minute), Expires: now.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		fin := now.Add(-time.Duration(i) * time.Minute)
		if err := e.st.CreateSystemTask(ctx, &store.SystemTask{UUID: uuid.New(), TaskID: fmt.Sprintf("w%d", i), Name: "clean_expired_models",
			Status: store.TaskSuccessful, Attempt: 1, Started: fin.Add(-time.Second), Finished: &fin, DurationMS: 1000,
			Messages: []store.TaskMessage{{Time: fin, Level: "info", Text: "weight task message"}}}); err != nil {
			t.Fatal(err)
		}
	}
}
