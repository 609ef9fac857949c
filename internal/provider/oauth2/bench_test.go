package oauth2

import (
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

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

// BenchmarkClientCredentialsParallel is the same with 32 concurrent
// clients, as the store groups their writes; it reports the latency
// percentiles of the requests (in process, sharing the CPU with the
// clients: compare runs, not with bench/oauth2's wrk figures).
func BenchmarkClientCredentialsParallel(b *testing.B) {
	h := newHarness(b)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}, "client_id": {hClientID}, "client_secret": {hSecret}}
	b.ReportAllocs()
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var lat []time.Duration
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if w := h.do("POST", "/application/o/token/", form); w.Code != http.StatusOK {
				b.Errorf("%d %s", w.Code, w.Body)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}
