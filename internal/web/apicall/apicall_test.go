package apicall

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
