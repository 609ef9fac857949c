package apicall

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api"
)

// Do passes the visitor's session and CSRF cookies (and the CSRF header on
// writes), decodes a success, and turns DRF's error shapes into an *Error.
func TestDo(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie(api.SessionCookie)
		if c == nil || c.Value != "sess" || (r.Method != http.MethodGet && r.Header.Get(api.CSRFHeader) != "tok") {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"detail": "Authentication credentials were not provided."}`)
			return
		}
		switch r.URL.Path {
		case "/ok/":
			_, _ = io.WriteString(w, `{"name": "x"}`)
		case "/bad/":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"name": ["This field is required."], "non_field_errors": "one"}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	r := httptest.NewRequest(http.MethodPost, "/if/user/", nil)
	r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "sess"})
	r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: "tok"})
	var out struct{ Name string }
	if err := Do(h, r, http.MethodGet, "/ok/", nil, &out); err != nil || out.Name != "x" {
		t.Fatalf("ok: %v %+v", err, out)
	}
	var e *Error
	err := Do(h, r, http.MethodPost, "/bad/", map[string]any{}, nil)
	if !errors.As(err, &e) || e.Status != 400 || e.Fields["name"][0] != "This field is required." || e.Fields["non_field_errors"][0] != "one" {
		t.Errorf("400: %#v", err)
	}
	if err := Do(h, r, http.MethodGet, "/boom/", nil, nil); err == nil || errors.As(err, &e) {
		t.Errorf("500: %v", err)
	}
	anon := httptest.NewRequest(http.MethodGet, "/if/user/", nil)
	if err := Do(h, anon, http.MethodGet, "/ok/", nil, nil); !errors.As(err, &e) || e.Status != 403 || e.Detail == "" {
		t.Errorf("anonymous: %#v", err)
	}
}

// A form must repeat the CSRF cookie; the cookie is made when missing.
func TestCSRF(t *testing.T) {
	w := httptest.NewRecorder()
	tok := CSRFToken(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != api.CSRFCookie || c[0].Value != tok || len(tok) < 40 {
		t.Fatalf("cookie = %v", c)
	}
	post := func(cookie, field string) (bool, bool, int) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{"csrf": {field}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: cookie})
		}
		w := httptest.NewRecorder()
		ok, refused := CheckForm(w, r, "csrf")
		return ok, refused, w.Code
	}
	if ok, refused, _ := post(tok, tok); !ok || refused {
		t.Error("the right token is refused")
	}
	for _, c := range [][2]string{{tok, "other"}, {tok, ""}, {"", tok}, {"", ""}} {
		if ok, refused, _ := post(c[0], c[1]); ok || !refused {
			t.Errorf("cookie %q field %q accepted", c[0], c[1])
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a=b&", 20000)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	if ok, refused := CheckForm(w, r, "csrf"); ok || refused || w.Code != http.StatusBadRequest {
		t.Errorf("an oversized form: %v %v %d", ok, refused, w.Code)
	}
	if CSRFToken(httptest.NewRecorder(), func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: "kept"})
		return r
	}()) != "kept" {
		t.Error("an existing cookie is not kept")
	}
}
