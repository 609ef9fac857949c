package oauth2

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The endpoint benchmarks serve requests in process (no network), so that
// CPU profiles show the provider's own cost (docs/benchmarks.md has the
// figures over HTTP against the binary, bench/oauth2).

func benchOK(b *testing.B, h *harness, method, target string, form url.Values, hdr ...string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if w := h.do(method, target, form, hdr...); w.Code != http.StatusOK {
			b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
		}
	}
}

func BenchmarkClientCredentials(b *testing.B) {
	h := newHarness(b)
	benchOK(b, h, "POST", "/application/o/token/", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"},
		"client_id": {hClientID}, "client_secret": {hSecret}})
}

func BenchmarkIntrospect(b *testing.B) {
	h := newHarness(b)
	h.grant("openid profile", map[string]string{"bench-access": store.OAuth2Access}, nil)
	benchOK(b, h, "POST", "/application/o/introspect/", url.Values{"token": {"bench-access"}, "client_id": {hClientID},
		"client_secret": {hSecret}})
}

func BenchmarkUserinfo(b *testing.B) {
	h := newHarness(b)
	h.grant("openid profile email", map[string]string{"bench-access": store.OAuth2Access}, nil)
	benchOK(b, h, "GET", "/application/o/userinfo/", nil, "Authorization", "Bearer bench-access")
}

func BenchmarkJWKS(b *testing.B) {
	benchOK(b, newHarness(b), "GET", "/application/o/app/jwks/", nil)
}

func BenchmarkDiscovery(b *testing.B) {
	benchOK(b, newHarness(b), "GET", "/application/o/app/.well-known/openid-configuration", nil)
}

// BenchmarkClientCredentialsParallel is the same with concurrent clients,
// as the store groups their writes.
func BenchmarkClientCredentialsParallel(b *testing.B) {
	h := newHarness(b)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}, "client_id": {hClientID}, "client_secret": {hSecret}}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := h.do("POST", "/application/o/token/", form); w.Code != http.StatusOK {
				b.Errorf("%d %s", w.Code, w.Body)
				return
			}
		}
	})
}
