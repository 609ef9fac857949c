package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
)

func TestInvalidated(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         []string
		key          string
	}{
		{"PATCH", "/api/v3/core/brands/abc/", []string{cache.Config}, ""},
		{"POST", "/providers/oauth2/", []string{cache.Config}, ""},
		{"POST", "/flows/instances/import/", []string{cache.Config}, ""},
		{"POST", "/managed/blueprints/x/apply/", []string{cache.Config}, ""},
		{"DELETE", "/core/tokens/my-token/", []string{cache.Tokens}, "my-token"},
		{"POST", "/core/tokens/my-token/set_key/", []string{cache.Tokens}, "my-token"},
		{"DELETE", "/api/v3/core/authenticated_sessions/0b7e/", []string{cache.Sessions}, "0b7e"},
		{"DELETE", "/oauth2/refresh_tokens/5/", []string{cache.Tokens}, ""},
		{"PATCH", "/core/users/5/", []string{cache.Users}, ""},
		{"DELETE", "/core/users/5/", []string{cache.Users, cache.Sessions, cache.Tokens}, ""},
		{"POST", "/rbac/roles/", []string{cache.Users}, ""},
		{"POST", "/policies/all/x/test/", nil, ""},
		{"POST", "/events/transports/x/test/", nil, ""},
		{"POST", "/events/notifications/mark_all_seen/", nil, ""},
		{"POST", "/tasks/schedules/x/send/", nil, ""},
		{"DELETE", "/core/user_consent/x/", nil, ""},
		{"POST", "/events/rules/", []string{cache.Config}, ""},
	} {
		got, key := invalidated(tc.method, tc.path)
		if !slices.Equal(got, tc.want) || key != tc.key {
			t.Errorf("%s %s: %v %q, want %v %q", tc.method, tc.path, got, key, tc.want, tc.key)
		}
	}
}

// Reads never reach the cache group; the status is decided before the
// body is written.
func TestInvalidatingWriter(t *testing.T) {
	var got []int
	w := &invalidatingWriter{ResponseWriter: discard{}, decided: func(s int) { got = append(got, s) }}
	w.WriteHeader(http.StatusContinue) // informational: not the final status
	_, _ = w.Write([]byte("x"))
	w.WriteHeader(http.StatusCreated)
	if !slices.Equal(got, []int{http.StatusOK}) {
		t.Errorf("decided %v, want [200] once", got)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
