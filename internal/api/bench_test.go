package api_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

// BenchmarkMe is the token-authenticated GET /api/v3/core/users/me/ in
// process (HTTP over loopback); bench/api drives the binary with wrk.
func BenchmarkMe(b *testing.B) {
	srv := apitest.New(b)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v3/core/users/me/", nil)
	req.Header.Set("Authorization", "Bearer "+apitest.AdminToken)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.DefaultClient.Do(req.Clone(req.Context()))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode)
			}
		}
	})
}
