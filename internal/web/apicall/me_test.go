package apicall

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api"
)

// Me decodes a signed-in visitor; sends an anonymous GET to the
// authentication flow with next, refuses an anonymous POST, and hands any
// other API failure to the caller.
func TestMe(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie(api.SessionCookie)
		switch {
		case r.URL.Path != "/core/users/me/":
			w.WriteHeader(http.StatusNotFound)
		case c == nil:
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"detail": "Authentication credentials were not provided."}`)
		case c.Value == "broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			_, _ = io.WriteString(w, `{"user": {"username": "ada"}}`)
		}
	})
	for _, c := range []struct {
		name, method, session string
		ok, err               bool
		status                int
		location              string
	}{
		{"signed in", http.MethodGet, "sess", true, false, http.StatusOK, ""},
		{"anonymous GET", http.MethodGet, "", false, false, http.StatusFound, "/flows/-/default/authentication/?next=%2Fif%2Fuser%2F%3Fx%3D1"},
		{"anonymous POST", http.MethodPost, "", false, false, http.StatusForbidden, ""},
		{"API failure", http.MethodGet, "broken", false, true, http.StatusOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/if/user/?x=1", nil)
			if c.session != "" {
				r.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: c.session})
				r.AddCookie(&http.Cookie{Name: api.CSRFCookie, Value: "tok"})
			}
			w := httptest.NewRecorder()
			var m struct {
				User struct{ Username string } `json:"user"`
			}
			ok, err := Me(h, w, r, r.URL.RequestURI(), &m)
			if ok != c.ok || (err != nil) != c.err || w.Code != c.status || w.Header().Get("Location") != c.location {
				t.Fatalf("Me = %v, %v; answered %d %q", ok, err, w.Code, w.Header().Get("Location"))
			}
			if ok && m.User.Username != "ada" {
				t.Errorf("visitor %+v", m)
			}
		})
	}
}
