package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
)

// invalidation says which cache namespaces a successful write under a path
// prefix affects (see internal/cache). Paths not listed are configuration.
type invalidation struct {
	prefix     string
	namespaces []string
	// keyed: the path segment after prefix is the key (a token identifier,
	// a session uuid), so only that entry is dropped.
	keyed bool
}

// invalidations are matched in order, first match wins.
var invalidations = []invalidation{
	{prefix: "/core/tokens/", namespaces: []string{cache.Tokens}, keyed: true},
	{prefix: "/core/authenticated_sessions/", namespaces: []string{cache.Sessions}, keyed: true},
	{prefix: "/oauth2/", namespaces: []string{cache.Tokens}}, // OAuth2 tokens and codes
	{prefix: "/core/users/", namespaces: []string{cache.Users}},
	{prefix: "/core/groups/", namespaces: []string{cache.Users}},
	{prefix: "/rbac/", namespaces: []string{cache.Users}},
	// Read where they are used, never cached.
	{prefix: "/core/user_consent/"},
	{prefix: "/authenticators/"},
	{prefix: "/stages/invitation/invitations/"},
	{prefix: "/events/events/"},
	{prefix: "/events/notifications/"},
	{prefix: "/tasks/"},
}

// invalidated returns the namespaces, and the key, a successful write
// request affects.
func invalidated(method, path string) (namespaces []string, key string) {
	path = strings.TrimPrefix(path, Prefix)
	if method == http.MethodPost && strings.HasSuffix(path, "/test/") {
		return nil, "" // a policy's or transport's test changes nothing
	}
	for _, inv := range invalidations {
		rest, ok := strings.CutPrefix(path, inv.prefix)
		if !ok {
			continue
		}
		namespaces = inv.namespaces
		if inv.keyed {
			key, _, _ = strings.Cut(rest, "/")
		}
		if inv.prefix == "/core/users/" && method == http.MethodDelete {
			// A deleted user's sessions and tokens go with it.
			namespaces = []string{cache.Users, cache.Sessions, cache.Tokens}
		}
		return namespaces, key
	}
	return []string{cache.Config}, ""
}

// invalidateWrites drops what a successful write makes stale, in this
// process and (through the bus) in every other, when the response status
// is decided and before any of it is sent: a client that saw the answer
// never meets the old value on another replica's cache afterwards, bar
// the bus's delivery time.
func (a *API) invalidateWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if a.Caches == nil {
			next.ServeHTTP(w, r)
			return
		}
		iw := &invalidatingWriter{ResponseWriter: w, decided: func(status int) {
			if status >= 400 {
				return
			}
			namespaces, key := invalidated(r.Method, r.URL.Path)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
			defer cancel()
			for _, ns := range namespaces {
				if err := a.Caches.Invalidate(ctx, ns, key); err != nil {
					a.Log.Warn("cache invalidation not sent", "namespace", ns, "path", r.URL.Path, "error", err)
				}
			}
		}}
		next.ServeHTTP(iw, r)
	})
}

// invalidatingWriter calls decided once, with the status, before the
// response is written.
type invalidatingWriter struct {
	http.ResponseWriter
	decided func(status int)
	done    bool
}

func (w *invalidatingWriter) WriteHeader(status int) {
	if !w.done && status >= 200 {
		w.done = true
		w.decided(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *invalidatingWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *invalidatingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
