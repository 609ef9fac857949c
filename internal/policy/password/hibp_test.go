package password

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const hibpPassword = "P@ssw0rd-for-the-range-test"

// sha1Hex is the upper-case hex SHA-1 of s.
func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// rangeServer is a fake Pwned Passwords range endpoint. It checks every
// request for what the k-anonymity model allows to leave the client, and
// answers with body(prefix).
type rangeServer struct {
	t        *testing.T
	secrets  []string // strings no request may contain
	body     func(w http.ResponseWriter, r *http.Request, prefix string)
	mu       sync.Mutex
	prefixes []string
}

var prefixPath = regexp.MustCompile(`^/range/([0-9A-F]{5})$`)

func (s *rangeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := prefixPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.URL.RawQuery != "" || r.Method != http.MethodGet {
		s.t.Errorf("request %s %q: want GET /range/ and exactly 5 upper-case hex characters", r.Method, r.URL.RequestURI())
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	// Everything the client sent, as one string.
	var sent strings.Builder
	fmt.Fprintf(&sent, "%s %s\n", r.Method, r.URL.RequestURI())
	for k, vs := range r.Header {
		fmt.Fprintf(&sent, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	body, _ := io.ReadAll(r.Body)
	sent.Write(body)
	for _, secret := range s.secrets {
		if strings.Contains(strings.ToUpper(sent.String()), strings.ToUpper(secret)) {
			s.t.Errorf("request contains %q:\n%s", secret, sent.String())
		}
	}
	if got := r.Header.Get("Add-Padding"); got != "true" {
		s.t.Errorf("Add-Padding = %q, want true", got)
	}
	if r.Header.Get("User-Agent") == "" {
		s.t.Error("no User-Agent (the API requires one)")
	}
	s.mu.Lock()
	s.prefixes = append(s.prefixes, m[1])
	s.mu.Unlock()
	s.body(w, r, m[1])
}

// newRange starts a fake range endpoint for hibpPassword and returns a
// client of it.
func newRange(t *testing.T, body func(w http.ResponseWriter, r *http.Request, prefix string)) (*HIBPClient, *rangeServer) {
	t.Helper()
	full := sha1Hex(hibpPassword)
	rs := &rangeServer{
		t:       t,
		secrets: []string{hibpPassword, full, full[prefixLen:], full[prefixLen : prefixLen+10]},
		body:    body,
	}
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)
	return &HIBPClient{BaseURL: srv.URL + "/range/", HTTP: srv.Client()}, rs
}

// rangeBody writes a realistic answer: other suffixes, padding lines with a
// count of 0, and extra (suffix, count) lines, CRLF-separated.
func rangeBody(extra ...string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, prefix string) {
		var lines []string
		for i := range 400 {
			// Suffixes of other hashes of the same range.
			other := sha1Hex(fmt.Sprintf("other-%d", i))[prefixLen:]
			lines = append(lines, fmt.Sprintf("%s:%d", other, i+1))
		}
		for i := range 400 {
			pad := sha1Hex(fmt.Sprintf("pad-%d", i))[prefixLen:]
			lines = append(lines, pad+":0")
		}
		lines = append(lines, extra...)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Join(lines, "\r\n"))
	}
}

func TestHIBPClientCount(t *testing.T) {
	suffix := sha1Hex(hibpPassword)[prefixLen:]
	tests := []struct {
		name  string
		extra []string
		want  int
	}{
		{"listed", []string{suffix + ":12345"}, 12345},
		{"listed with a lower-case suffix", []string{strings.ToLower(suffix) + ":7"}, 7},
		{"listed once", []string{suffix + ":1"}, 1},
		{"not listed", nil, 0},
		{"only as padding", []string{suffix + ":0"}, 0},
		{"trailing CRLF and blank lines", []string{suffix + ":3", "", ""}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rs := newRange(t, rangeBody(tt.extra...))
			got, err := c.Count(t.Context(), hibpPassword)
			if err != nil {
				t.Fatalf("Count() error = %v", err)
			}
			if got != tt.want {
				t.Fatalf("Count() = %d, want %d", got, tt.want)
			}
			if want := sha1Hex(hibpPassword)[:prefixLen]; len(rs.prefixes) != 1 || rs.prefixes[0] != want {
				t.Fatalf("prefixes sent = %q, want [%q]", rs.prefixes, want)
			}
		})
	}
}

func TestHIBPClientCheck(t *testing.T) {
	suffix := sha1Hex(hibpPassword)[prefixLen:]
	c, _ := newRange(t, rangeBody(suffix+":50"))
	for _, tt := range []struct {
		allowed int
		ok      bool
		msgs    []string
	}{
		{49, false, []string{"Password exists on 50 online lists."}},
		{50, true, nil},
		{100, true, nil},
	} {
		cfg := Config{CheckHIBP: true, HIBPAllowedCount: tt.allowed}
		ok, msgs, err := Check(t.Context(), cfg, hibpPassword, nil, c)
		if err != nil || ok != tt.ok || strings.Join(msgs, "|") != strings.Join(tt.msgs, "|") {
			t.Errorf("allowed %d: Check() = %v, %q, %v, want %v, %q, nil", tt.allowed, ok, msgs, err, tt.ok, tt.msgs)
		}
	}
}

func TestHIBPClientErrors(t *testing.T) {
	full := sha1Hex(hibpPassword)
	tests := []struct {
		name    string
		client  func(c *HIBPClient)
		body    func(w http.ResponseWriter, r *http.Request, prefix string)
		ctx     func(t *testing.T) context.Context
		wantErr error
	}{
		{
			name: "server error",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				http.Error(w, "upstream down", http.StatusServiceUnavailable)
			},
			wantErr: ErrHIBPStatus,
		},
		{
			name: "rate limited",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			wantErr: ErrHIBPStatus,
		},
		{
			name: "oversized response",
			body: func(w http.ResponseWriter, r *http.Request, prefix string) {
				// Valid lines, and the password among them at the very end:
				// it must not be found past the bound.
				line := sha1Hex("filler")[prefixLen:] + ":1\r\n"
				for range (DefaultHIBPMaxResponse / len(line)) + 1 {
					io.WriteString(w, line)
				}
				io.WriteString(w, full[prefixLen:]+":99")
			},
			wantErr: ErrHIBPTooLarge,
		},
		{
			name:    "oversized for a custom bound",
			client:  func(c *HIBPClient) { c.MaxResponse = 100 },
			body:    rangeBody(),
			wantErr: ErrHIBPTooLarge,
		},
		{
			name: "malformed line",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				io.WriteString(w, full[prefixLen:]+":12\r\n<html>oops</html>\r\n")
			},
			wantErr: ErrHIBPMalformed,
		},
		{
			name: "short suffix",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				io.WriteString(w, full[prefixLen:prefixLen+30]+":12\r\n")
			},
			wantErr: ErrHIBPMalformed,
		},
		{
			name: "bad count",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				io.WriteString(w, full[prefixLen:]+":many\r\n")
			},
			wantErr: ErrHIBPMalformed,
		},
		{
			name: "negative count",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				io.WriteString(w, full[prefixLen:]+":-1\r\n")
			},
			wantErr: ErrHIBPMalformed,
		},
		{
			name: "overlong line",
			body: func(w http.ResponseWriter, _ *http.Request, _ string) {
				io.WriteString(w, strings.Repeat("A", 5000)+":1\r\n")
			},
			wantErr: ErrHIBPMalformed,
		},
		{
			name:    "slow server, client timeout",
			client:  func(c *HIBPClient) { c.Timeout = 50 * time.Millisecond },
			body:    stall,
			wantErr: context.DeadlineExceeded,
		},
		{
			name:   "slow server, caller's deadline",
			client: func(c *HIBPClient) { c.Timeout = -1 },
			body:   stall,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "caller cancels",
			body: stall,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newRange(t, tt.body)
			if tt.client != nil {
				tt.client(c)
			}
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			start := time.Now()
			n, err := c.Count(ctx, hibpPassword)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Count() = %d, %v, want error %v", n, err, tt.wantErr)
			}
			if n != 0 {
				t.Errorf("Count() = %d with an error, want 0", n)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Count() took %v", d)
			}
			for _, secret := range []string{hibpPassword, full, full[prefixLen:]} {
				if strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(secret)) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
			// Check passes the error on and gives no verdict.
			ok, msgs, cerr := Check(ctx, Config{CheckHIBP: true}, hibpPassword, nil, c)
			if ok || msgs != nil || !errors.Is(cerr, tt.wantErr) {
				t.Errorf("Check() = %v, %q, %v, want false, nil, %v", ok, msgs, cerr, tt.wantErr)
			}
		})
	}
}

// stall answers only when the client has gone.
func stall(w http.ResponseWriter, r *http.Request, _ string) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
		io.WriteString(w, "too late")
	}
}

// roundTripFunc lets a test see the request the zero-value client builds
// without touching the network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHIBPClientDefaults(t *testing.T) {
	full := sha1Hex(hibpPassword)
	var got *http.Request
	c := &HIBPClient{HTTP: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		if _, ok := r.Context().Deadline(); !ok {
			t.Error("request has no deadline; want DefaultHIBPTimeout")
		}
		return &http.Response{
			StatusCode: http.StatusOK,
			Body:       io.NopCloser(strings.NewReader(full[prefixLen:] + ":2\r\n")),
			Request:    r,
		}, nil
	})}}
	n, err := c.Count(t.Context(), hibpPassword)
	if err != nil || n != 2 {
		t.Fatalf("Count() = %d, %v, want 2, nil", n, err)
	}
	if want := DefaultHIBPBaseURL + full[:prefixLen]; got.URL.String() != want {
		t.Errorf("URL = %q, want %q", got.URL, want)
	}
	if got.Header.Get("User-Agent") != "gatehouse" || got.Header.Get("Add-Padding") != "true" {
		t.Errorf("headers = %v", got.Header)
	}
}

func TestMatchRangeConstantWork(t *testing.T) {
	// The suffix is found wherever it is, and a later padding line with the
	// same suffix does not reset it.
	suffix := []byte(sha1Hex(hibpPassword)[prefixLen:])
	body := strings.Join([]string{string(suffix) + ":5", sha1Hex("x")[prefixLen:] + ":1", string(suffix) + ":0"}, "\r\n")
	n, err := matchRange([]byte(body), suffix)
	if err != nil || n != 5 {
		t.Fatalf("matchRange() = %d, %v, want 5, nil", n, err)
	}
}
