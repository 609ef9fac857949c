// Package apicall serves /api/v3 requests in process for the server-
// rendered interfaces (/if/user/, /if/admin/): each page reads and writes
// through the API handler with the visitor's own session cookie and CSRF
// header, so permissions, validation and audit events are the API's, and
// there is no second path to the store.
package apicall

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/api"
)

// recorder keeps an in-process API response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// Error is an API answer that is not a success: DRF's shapes, a field
// error map ({"field": ["message"]}) or {"detail": "..."}.
type Error struct {
	Status int
	Fields map[string][]string
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	var parts []string
	for k, v := range e.Fields {
		parts = append(parts, k+": "+strings.Join(v, " "))
	}
	return strings.Join(parts, "; ")
}

// Call serves one API request in process with the visitor's cookies (and
// the CSRF header for unsafe methods): the status and body.
func Call(h http.Handler, r *http.Request, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	contentType := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd, contentType = bytes.NewReader(b), "application/json"
	}
	return CallRaw(h, r, method, path, contentType, rd)
}

// CallRaw is Call with a body of any type (an upload's multipart body).
func CallRaw(h http.Handler, r *http.Request, method, path, contentType string, body io.Reader) (int, []byte, error) {
	rd := body
	// A fresh chi routing context: the API router routes the path itself.
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, (*chi.Context)(nil))
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Host, req.RemoteAddr, req.TLS = r.Host, r.RemoteAddr, r.TLS
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.UserAgent())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range r.Cookies() {
		if c.Name == api.SessionCookie || c.Name == api.CSRFCookie {
			req.AddCookie(c)
		}
	}
	if method != http.MethodGet {
		if c, err := r.Cookie(api.CSRFCookie); err == nil {
			req.Header.Set(api.CSRFHeader, c.Value)
		}
	}
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes(), nil
}

// Do calls the API, decoding a 2xx JSON answer into out. A 4xx answer is
// an *Error with the API's messages; a 5xx an error.
func Do(h http.Handler, r *http.Request, method, path string, body, out any) error {
	status, b, err := Call(h, r, method, path, body)
	if err != nil {
		return err
	}
	return Decode(method, path, status, b, out)
}

// DoRaw is Do with a body of any type (CallRaw).
func DoRaw(h http.Handler, r *http.Request, method, path, contentType string, body io.Reader, out any) error {
	status, b, err := CallRaw(h, r, method, path, contentType, body)
	if err != nil {
		return err
	}
	return Decode(method, path, status, b, out)
}

// Decode turns an answer of the API (method path) into out (2xx) or an
// error: an *Error for a 4xx.
func Decode(method, path string, status int, b []byte, out any) error {
	switch {
	case status/100 == 2:
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("api %s %s: %w", method, path, err)
			}
		}
		return nil
	case status/100 == 4:
		e := &Error{Status: status}
		var generic map[string]json.RawMessage
		if json.Unmarshal(b, &generic) == nil {
			for k, v := range generic {
				var msgs []string
				var one string
				switch {
				case json.Unmarshal(v, &msgs) == nil:
				case json.Unmarshal(v, &one) == nil:
					msgs = []string{one}
				default:
					continue
				}
				if k == "detail" {
					e.Detail = strings.Join(msgs, " ")
					continue
				}
				if e.Fields == nil {
					e.Fields = map[string][]string{}
				}
				e.Fields[k] = msgs
			}
		}
		return e
	default:
		return fmt.Errorf("api %s %s: status %d: %.200s", method, path, status, b)
	}
}

// CSRFToken is the visitor's CSRF cookie value (the API's double-submit
// cookie), set anew when the visitor has none. Pages repeat it in their
// forms; the API takes it in its header.
func CSRFToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(api.CSRFCookie); err == nil && c.Value != "" {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: api.CSRFCookie, Value: v, Path: "/", Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode})
	return v
}

// maxForm bounds a page's form body; maxUpload a multipart one (a file
// upload: an icon, a flow to import), of which at most maxForm is kept in
// memory (the rest goes to temporary files).
const (
	maxForm   = 64 << 10
	maxUpload = 8 << 20
)

// CheckForm reads a POST's form (at most 64 KiB; a multipart one, 8 MiB)
// and checks that its field repeats the CSRF cookie (constant time). It
// answers 400 itself for a form that cannot be read and returns false; for
// a CSRF mismatch it returns false and leaves the answer (a 403 page) to
// the caller, with refused.
func CheckForm(w http.ResponseWriter, r *http.Request, field string) (ok, refused bool) {
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		err = r.ParseMultipartForm(maxForm)
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		err = r.ParseForm()
	}
	if err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return false, false
	}
	c, err := r.Cookie(api.CSRFCookie)
	got := r.PostForm.Get(field)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
		return false, true
	}
	return true, false
}
