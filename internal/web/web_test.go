package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestServer(t *testing.T, logs io.Writer) (*Server, http.Handler, *prometheus.Registry) {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	reg := prometheus.NewRegistry()
	s := &Server{
		Log:            slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:       reg,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Mount: func(r chi.Router) {
			r.Get("/echo/{x}/", func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, ClientIP(r.Context()).String()+" "+RequestID(r.Context()))
			})
			r.Get("/scheme/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, Scheme(r.Context())) })
			r.Post("/upload/", func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						writeError(w, r, http.StatusRequestEntityTooLarge, "too large")
						return
					}
				}
				w.WriteHeader(http.StatusNoContent)
			})
			r.Get("/panic/", func(http.ResponseWriter, *http.Request) { panic("boom") })
		},
	}
	return s, s.Handler(), reg
}

func do(h http.Handler, method, target, remote string, hdr map[string]string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestClientIPAndRequestID(t *testing.T) {
	s, h, _ := newTestServer(t, nil)
	s.SetStarted(true)
	for _, tc := range []struct {
		name, remote, xff, reqID string
		wantIP                   string
		keepID                   bool
	}{
		{"direct client, XFF ignored", "203.0.113.5:1234", "198.51.100.1", "abc", "203.0.113.5", false},
		{"trusted proxy", "10.1.2.3:1234", "198.51.100.1", "proxy-id-1", "198.51.100.1", true},
		{"spoofed left part ignored", "10.1.2.3:1234", "1.2.3.4, 198.51.100.1, 10.9.9.9", "", "198.51.100.1", false},
		{"all hops trusted", "10.1.2.3:1234", "10.0.0.1", "", "10.0.0.1", false},
		{"garbage hop stops the walk", "10.1.2.3:1234", "198.51.100.1, not-an-ip", "", "10.1.2.3", false},
		{"ipv6 peer", "[2001:db8::1]:443", "", "", "2001:db8::1", false},
		{"bad request id from proxy replaced", "10.1.2.3:1", "", "bad id\n", "10.1.2.3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", "/echo/1/", tc.remote, map[string]string{"X-Forwarded-For": tc.xff, "X-Request-Id": tc.reqID}, nil)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			ip, id, _ := strings.Cut(rec.Body.String(), " ")
			if ip != tc.wantIP {
				t.Errorf("client IP %s, want %s", ip, tc.wantIP)
			}
			if id != rec.Header().Get("X-Request-Id") {
				t.Errorf("context id %q != header %q", id, rec.Header().Get("X-Request-Id"))
			}
			if tc.keepID && id != tc.reqID {
				t.Errorf("request id %q, want the proxy's %q", id, tc.reqID)
			}
			if !tc.keepID && (id == tc.reqID || !validRequestID(id)) {
				t.Errorf("request id %q should be freshly generated", id)
			}
		})
	}
}

// X-Forwarded-Proto counts only from a trusted proxy.
func TestScheme(t *testing.T) {
	s, h, _ := newTestServer(t, nil)
	s.SetStarted(true)
	for _, tc := range []struct{ remote, proto, want string }{
		{"10.1.2.3:1", "https", "https"},
		{"10.1.2.3:1", "gopher", "http"},
		{"203.0.113.5:1", "https", "http"},
		{"203.0.113.5:1", "", "http"},
	} {
		if got := do(h, "GET", "/scheme/", tc.remote, map[string]string{"X-Forwarded-Proto": tc.proto}, nil).Body.String(); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-Proto %q: scheme %q, want %q", tc.remote, tc.proto, got, tc.want)
		}
	}
}

func TestGateAndHealth(t *testing.T) {
	s, h, _ := newTestServer(t, nil)
	s.Checks = []Check{{Name: "database", Fn: func(context.Context) error { return errors.New("down") }}}
	s.SetStartupStatus("waiting for postgresql: refused")
	if rec := do(h, "GET", "/-/health/live/", "192.0.2.1:1", nil, nil); rec.Code != 200 {
		t.Errorf("live before start: %d", rec.Code)
	}
	rec := do(h, "GET", "/-/health/ready/", "192.0.2.1:1", nil, nil)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "waiting for postgresql") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("ready before start: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/echo/1/", "/not/a/route"} {
		if rec := do(h, "GET", path, "192.0.2.1:1", nil, nil); rec.Code != 503 || !strings.Contains(rec.Body.String(), "gatehouse starting") {
			t.Errorf("%s before start: %d %s", path, rec.Code, rec.Body)
		}
	}
	s.SetStarted(true)
	rec = do(h, "GET", "/-/health/ready/", "192.0.2.1:1", nil, nil)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"database":"down"`) {
		t.Errorf("ready with a failing check: %d %s", rec.Code, rec.Body)
	}
	s.Checks = nil
	if rec := do(h, "GET", "/-/health/ready/", "192.0.2.1:1", nil, nil); rec.Code != 200 {
		t.Errorf("ready: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/not/a/route", "192.0.2.1:1", nil, nil); rec.Code != 404 {
		t.Errorf("unknown route after start: %d", rec.Code)
	}
	if rec := do(h, "DELETE", "/-/health/live/", "192.0.2.1:1", nil, nil); rec.Code != 405 {
		t.Errorf("wrong method: %d", rec.Code)
	}
}

func TestBodyLimit(t *testing.T) {
	s, h, _ := newTestServer(t, nil)
	s.SetStarted(true)
	if rec := do(h, "POST", "/upload/", "192.0.2.1:1", nil, strings.NewReader("small")); rec.Code != 204 {
		t.Errorf("small body: %d", rec.Code)
	}
	// Declared too large: refused before reading.
	req := httptest.NewRequest("POST", "/upload/", strings.NewReader("x"))
	req.ContentLength = MaxBodyBytes + 1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("declared large body: %d", rec.Code)
	}
	// Undeclared (chunked) and too large: cut off while reading.
	big := io.MultiReader(bytes.NewReader(make([]byte, MaxBodyBytes)), strings.NewReader("more"))
	req = httptest.NewRequest("POST", "/upload/", big)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("streamed large body: %d", rec.Code)
	}
}

func TestPanicIsA500AndLogged(t *testing.T) {
	var logs bytes.Buffer
	s, h, reg := newTestServer(t, &logs)
	s.SetStarted(true)
	rec := do(h, "GET", "/panic/", "192.0.2.1:1", nil, nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "internal error") || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Errorf("panic not logged: %s", logs.String())
	}
	want := `gatehouse_http_requests_total{method="GET",route="/panic",status="500"} 1`
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP gatehouse_http_requests_total HTTP requests by method, route pattern and status.\n# TYPE gatehouse_http_requests_total counter\n"+want+"\n"), "gatehouse_http_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestLogsHaveNoQueryString(t *testing.T) {
	var logs bytes.Buffer
	s, h, _ := newTestServer(t, &logs)
	s.SetStarted(true)
	do(h, "GET", "/echo/1/?code=secret-auth-code", "192.0.2.1:1", nil, nil)
	if strings.Contains(logs.String(), "secret-auth-code") {
		t.Errorf("query string reached the log: %s", logs.String())
	}
}

// FuzzRequestMeta: whatever the headers, the request gets a valid id and a
// valid client IP, and nothing panics.
func FuzzRequestMeta(f *testing.F) {
	f.Add("10.0.0.1:5", "198.51.100.1, 10.0.0.2", "req-1")
	f.Add("[::1]:5", "::ffff:1.2.3.4,,", "")
	f.Add("garbage", "\x00,\xff", "a b")
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	h := s.requestMeta(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validRequestID(RequestID(r.Context())) {
			panic("invalid request id " + RequestID(r.Context()))
		}
		_ = ClientIP(r.Context()).String()
	}))
	f.Fuzz(func(t *testing.T, remote, xff, id string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		req.Header["X-Forwarded-For"] = []string{xff}
		req.Header["X-Request-Id"] = []string{id}
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}
