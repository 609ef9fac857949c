package oauth2

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

const (
	hClientID = "harness-client"
	hSecret   = "harness-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	hRedirect = "https://rp.example/cb"
)

// harness is a Server on a fresh SQLite store with one application "app",
// its confidential provider (ES256 key, every default scope mapping) and a
// user "alice".
type harness struct {
	t      testing.TB
	s      *Server
	st     store.Store
	p      *store.OAuth2Provider
	app    *store.Application
	user   *store.User
	router chi.Router
}

func newHarness(t testing.TB) *harness {
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
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{Password: "admin-password"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.EnsureDefaultFlows(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureScopeMappings(ctx, st); err != nil {
		t.Fatal(err)
	}
	sealer, err := crypto.NewSealer("harness-secret-key", "certificate-private-key")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := crypto.Generate(crypto.GenerateOptions{CommonName: "harness", Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealer.Seal(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	kp := &store.CertificateKeyPair{Name: "harness", CertificateData: string(certPEM), KeySealed: sealed, KID: "harness-kid",
		FingerprintSHA256: "fp"}
	if err := st.CreateKeyPair(ctx, kp); err != nil {
		t.Fatal(err)
	}
	ms, _, err := st.ListPropertyMappings(ctx, "scope", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mappings []uuid.UUID
	for _, m := range ms {
		mappings = append(mappings, m.UUID)
	}
	implicit := &store.Flow{Slug: "implicit", Name: "implicit", Title: "implicit", Designation: store.DesignationAuthorization}
	if err := st.CreateFlow(ctx, implicit); err != nil {
		t.Fatal(err)
	}
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "harness", AuthorizationFlow: &implicit.UUID}, ClientID: hClientID,
		ClientSecret: hSecret, SigningKey: &kp.UUID, PropertyMappings: mappings, IncludeClaimsInIDToken: true,
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: hRedirect, Type: "authorization"},
			{MatchingMode: "regex", URL: `https://[a-z]+\.rp\.example/cb`, Type: "authorization"}}}
	if err := st.CreateOAuth2Provider(ctx, p); err != nil {
		t.Fatal(err)
	}
	app := &store.Application{Name: "App", Slug: "app", ProviderPK: &p.ProviderPK, PolicyEngineMode: "any"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := &store.User{Username: "alice", Name: "Alice", Email: "alice@example.com", IsActive: true, Type: store.UserInternal,
		Path: "users", Attributes: store.Attributes{"email_verified": true}, DateJoined: now, LastUpdated: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	s := &Server{Store: st, Sessions: &session.Manager{Store: st}, Events: events, KeySealer: sealer, SecretKey: "harness-secret-key",
		Log: log, Policies: policyall.Engine(st, log, events)}
	s.Executor = &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Sessions: s.Sessions, Events: events,
		Policies: s.Policies, Builtins: map[string]flow.Stage{FulfillmentStage: s.Fulfillment()}}
	r := chi.NewRouter()
	s.Routes(r)
	r.Handle("/api/v3/flows/executor/{slug}/", s.Executor)
	return &harness{t: t, s: s, st: st, p: p, app: app, user: u, router: r}
}

// do serves one request in process.
func (h *harness) do(method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil && method == http.MethodPost {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, req)
	return w
}

// grant stores a grant for alice with the given tokens (values, not
// hashes), as the endpoints would.
func (h *harness) grant(scope string, kinds map[string]string, data store.Attributes) *store.OAuth2Grant {
	h.t.Helper()
	now := time.Now().UTC()
	g := &store.OAuth2Grant{ProviderPK: h.p.ProviderPK, UserPK: h.user.PK, Scope: scope, AuthTime: now, Created: now,
		AMR: []string{"pwd"}}
	var toks []*store.OAuth2Token
	for value, kind := range kinds {
		toks = append(toks, &store.OAuth2Token{Hash: hashToken(value), Kind: kind, Expires: now.Add(time.Minute), Created: now, Data: data})
	}
	if err := h.st.CreateOAuth2Grant(context.Background(), g, toks...); err != nil {
		h.t.Fatal(err)
	}
	return g
}
