package htmlpage

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	page := template.Must(template.New("p").Parse(`<p>{{.}}</p>`))
	w := httptest.NewRecorder()
	Write(w, nil, page, "<script>")
	if w.Code != http.StatusOK || w.Body.String() != "<p>&lt;script&gt;</p>" {
		t.Errorf("page = %d %q", w.Code, w.Body)
	}
	if w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("Cache-Control") != "no-store" ||
		w.Header().Get("Referrer-Policy") != "same-origin" {
		t.Errorf("headers = %v", w.Header())
	}

	// A template that fails half-way gives a 500 and none of the page.
	broken := template.Must(template.New("b").Parse(`<p>before</p>{{.Missing}}`))
	w = httptest.NewRecorder()
	Write(w, nil, broken, struct{}{})
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "before") {
		t.Errorf("broken page = %d %q", w.Code, w.Body)
	}
}

func TestFragment(t *testing.T) {
	for _, c := range []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"plain navigation", nil, false},
		{"htmx navigation", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, true},
		{"history restore", map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"}, false},
		{"history restore without HX-Request", map[string]string{"HX-History-Restore-Request": "true"}, false},
		{"not true", map[string]string{"HX-Request": "1"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/if/user/", nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if got := Fragment(r); got != c.want {
				t.Errorf("Fragment = %v, want %v", got, c.want)
			}
		})
	}
}

// A page written after an explicit status (a form's 400) keeps the page
// headers when Headers wraps its handler; Vary names HX-Request once.
func TestHeaders(t *testing.T) {
	page := template.Must(template.New("p").Parse(`<title>t</title><p>x</p>`))
	h := Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		w.WriteHeader(http.StatusBadRequest)
		Write(w, nil, page, nil)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/if/admin/users/new/", nil))
	res := w.Result() // the headers as sent with the status
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Security-Policy") != CSP || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("answer = %d %v", res.StatusCode, res.Header)
	}
	if got := res.Header.Values("Vary"); strings.Join(got, ",") != "HX-Request,Accept-Encoding" {
		t.Errorf("Vary = %q", got)
	}

	// Without the middleware Write sets them itself.
	w = httptest.NewRecorder()
	Write(w, nil, page, nil)
	if got := w.Header().Values("Vary"); len(got) != 1 || got[0] != "HX-Request" {
		t.Errorf("Vary = %q", got)
	}
}
