// Package apitest runs the /api/v3 handler in process, behind the real
// router, on a fresh migrated and bootstrapped store: for tests that need the
// API without the binary (schema conformance, fuzzing).
package apitest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/media"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// AdminToken is the bootstrap token key of the test server's akadmin.
const AdminToken = "apitest-admin-token-0123456789"

// Server is a running test API.
type Server struct {
	URL   string // base URL, without /api/v3
	Store store.Store
	API   *api.API
	// BlueprintsDir is the API's blueprints dir (empty at start).
	BlueprintsDir string
}

// New starts a server on a new SQLite database in t.TempDir().
func New(t testing.TB) *Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return NewWithStore(t, st)
}

// NewWithStore starts a server on a migrated store (SQLite or PostgreSQL).
func NewWithStore(t testing.TB, st store.Store) *Server {
	t.Helper()
	if _, err := core.Bootstrap(context.Background(), st, core.BootstrapOptions{Token: AdminToken}, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "blueprints")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Deps{Store: st, Log: slog.New(slog.DiscardHandler), Version: "test",
		SecretKey: "apitest-secret-key-0123456789abcdef", Blueprints: &blueprint.Instances{Dir: dir},
		Media: &media.Store{Dir: filepath.Join(t.TempDir(), "media")}})
	if err != nil {
		t.Fatal(err)
	}
	if sq, ok := st.(*sqlstore.Store); ok { // /tasks/schedules/{id}/send/ enqueues
		q := sqlqueue.New(sq, sqlqueue.Options{})
		t.Cleanup(func() { _ = q.Close() })
		a.Queue = q
	}
	ws := &web.Server{
		Log:            slog.New(slog.DiscardHandler),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Mount: func(r chi.Router) {
			r.Mount(api.Prefix, a.Handler())
			r.Handle(media.Prefix+"*", a.Media.Handler())
		},
	}
	h := ws.Handler()
	ws.SetStarted(true)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Store: st, API: a, BlueprintsDir: dir}
}
