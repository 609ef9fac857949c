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
